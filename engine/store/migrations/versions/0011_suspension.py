"""instance administration (issue #7; issue #4: a suspended instance's timers wait): since when, by whom
and why a process instance is suspended (挂起)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('process_instance', sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('process_instance', sa.Column('suspended_by', sa.String(100), nullable=True))
    op.add_column('process_instance', sa.Column('suspend_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('process_instance') as batch:
        batch.drop_column('suspend_reason')
        batch.drop_column('suspended_by')
        batch.drop_column('suspended_at')
