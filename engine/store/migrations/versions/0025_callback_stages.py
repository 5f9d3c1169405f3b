"""a callback endpoint hears every stage or the outcome only (issue #18: every source follows each stage;
engine/channels/callbacks.py): existing endpoints keep hearing the outcome only

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('callback_endpoint', sa.Column('stages', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('callback_endpoint') as batch:
        batch.drop_column('stages')
