"""pending starts (issue #5: a crash after acceptance loses nothing): stored submissions waiting for
their process, so one the app stopped before starting is started by the sweep

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pending_start',
                    sa.Column('event_id', sa.Integer(), sa.ForeignKey('event.id'), primary_key=True),
                    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False))
    op.create_index('ix_pending_start_stored_at', 'pending_start', ['stored_at'])


def downgrade() -> None:
    op.drop_index('ix_pending_start_stored_at', table_name='pending_start')
    op.drop_table('pending_start')
