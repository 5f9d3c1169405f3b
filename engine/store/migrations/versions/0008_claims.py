"""claims (issue #6 认领, issue #4: claiming does not stop the clock): who took a ready task on

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('work_item', sa.Column('claimed_by', sa.String(100), nullable=True))
    op.add_column('work_item', sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('work_item') as batch:
        batch.drop_column('claimed_at')
        batch.drop_column('claimed_by')
