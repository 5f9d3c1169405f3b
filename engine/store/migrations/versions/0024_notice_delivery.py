"""notices leave the app (issue #18): channels per unit, person or community (apprise URLs) and one delivery
row per notice and channel, written with the notice and sent by the worker (engine/notices/delivery.py)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notice_channel',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('owner_kind', sa.String(20), nullable=False),
        sa.Column('owner', sa.String(100), nullable=False),
        sa.Column('label', sa.String(100), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('categories', sa.JSON(), nullable=False),
        sa.Column('quiet_from', sa.String(5), nullable=True),
        sa.Column('quiet_until', sa.String(5), nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(100), nullable=False),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_notice_channel_owner', 'notice_channel', ['owner_kind', 'owner'])
    op.create_table(
        'notice_delivery',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('notification_id', sa.Integer(), sa.ForeignKey('notification.id'), nullable=False),
        sa.Column('channel_id', sa.Integer(), sa.ForeignKey('notice_channel.id'), nullable=False),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.String(500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint('notification_id', 'channel_id', name='uq_notice_delivery_once'),
    )
    op.create_index('ix_notice_delivery_status_next', 'notice_delivery', ['status', 'next_attempt_at'])
    op.create_index('ix_notice_delivery_channel', 'notice_delivery', ['channel_id', 'id'])


def downgrade() -> None:
    op.drop_table('notice_delivery')
    op.drop_table('notice_channel')
