"""placement (issue #5, §7.1 分拨): a report that gives only an address is registered without coordinates
(and a citizen's without a community) until it is placed

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('event') as batch:
        batch.alter_column('lat', existing_type=sa.Float(), nullable=True)
        batch.alter_column('lng', existing_type=sa.Float(), nullable=True)
        batch.alter_column('community', existing_type=sa.String(60), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('event') as batch:
        batch.alter_column('community', existing_type=sa.String(60), nullable=False)
        batch.alter_column('lng', existing_type=sa.Float(), nullable=False)
        batch.alter_column('lat', existing_type=sa.Float(), nullable=False)
