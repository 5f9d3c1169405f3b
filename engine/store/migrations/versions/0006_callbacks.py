"""callbacks (issue #5, §4.3, §7.1 反馈来源): channels' callback endpoints and the outbox of signed callbacks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('callback_endpoint',
                    sa.Column('channel', sa.String(40), primary_key=True),
                    sa.Column('url', sa.String(500), nullable=False),
                    sa.Column('secret', sa.String(100), nullable=False),
                    sa.Column('created_at', TZ, nullable=False),
                    sa.Column('removed_at', TZ, nullable=True))
    op.create_table('callback',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('event_id', sa.Integer(), sa.ForeignKey('event.id'), nullable=False),
                    sa.Column('channel', sa.String(40), nullable=False),
                    sa.Column('url', sa.String(500), nullable=False),
                    sa.Column('body', sa.JSON(), nullable=False),
                    sa.Column('status', sa.String(10), nullable=False),
                    sa.Column('attempts', sa.Integer(), nullable=False),
                    sa.Column('next_attempt_at', TZ, nullable=False),
                    sa.Column('last_status', sa.Integer(), nullable=True),
                    sa.Column('last_error', sa.String(500), nullable=True),
                    sa.Column('created_at', TZ, nullable=False),
                    sa.Column('delivered_at', TZ, nullable=True))
    op.create_index('ix_callback_event_id', 'callback', ['event_id'])
    op.create_index('ix_callback_status_next', 'callback', ['status', 'next_attempt_at'])


def downgrade() -> None:
    op.drop_table('callback')
    op.drop_table('callback_endpoint')
