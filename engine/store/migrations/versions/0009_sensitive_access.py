"""sensitive access (issue #6 privacy): the community's designated cadres for Table A.1 rows 1–3

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('app_user', sa.Column('sensitive_access', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('app_user') as batch:
        batch.drop_column('sensitive_access')
