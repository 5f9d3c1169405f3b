"""who met a deadline (issue #8, §8.6): the user who completed the watched task, for a person's indicators;
and what a spot check was drawn from (§9.3), so its sample can be drawn again from it

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('deadline', sa.Column('met_by', sa.String(100), nullable=True))
    op.create_index('ix_deadline_met_by', 'deadline', ['met_by'])
    op.add_column('spot_check', sa.Column('population', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('spot_check') as batch:
        batch.drop_column('population')
    op.drop_index('ix_deadline_met_by', table_name='deadline')
    with op.batch_alter_table('deadline') as batch:
        batch.drop_column('met_by')
