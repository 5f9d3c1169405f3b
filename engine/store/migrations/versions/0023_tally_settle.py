"""a day counted while other writers were open stays listed until a later refresh counts it again
(engine/oversight/rollups.py `_settled`): the snapshot position after which it settles

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('tally_dirty', sa.Column('settle_after', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column('tally_dirty', 'settle_after')
