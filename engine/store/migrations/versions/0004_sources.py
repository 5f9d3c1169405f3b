"""six sources (issue #5): channel, idempotency key, reporter contact and received coordinate system on
the event; duplicates and merges; Open311 API keys per channel; registered devices and their receipts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('event') as batch:
        batch.add_column(sa.Column('channel', sa.String(40), nullable=True))
        batch.add_column(sa.Column('intake_key', sa.String(240), nullable=True))
        batch.add_column(sa.Column('reporter_contact', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('received_crs', sa.String(10), nullable=True))
        batch.add_column(sa.Column('public_token', sa.String(40), nullable=True))
        batch.add_column(sa.Column('alert_count', sa.Integer(), nullable=False, server_default='1'))
        batch.add_column(sa.Column('duplicate_of_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_event_duplicate_of_id', 'event', ['duplicate_of_id'], ['id'])
        batch.create_foreign_key('fk_event_merged_into_id', 'event', ['merged_into_id'], ['id'])
        batch.create_unique_constraint('uq_event_intake_key', ['intake_key'])
        batch.create_unique_constraint('uq_event_public_token', ['public_token'])
    op.create_index('ix_event_channel', 'event', ['channel'])
    op.create_table('api_key',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('channel', sa.String(40), nullable=False),
                    sa.Column('key_hash', sa.String(64), nullable=False, unique=True),
                    sa.Column('prefix', sa.String(16), nullable=False),
                    sa.Column('created_at', TZ, nullable=False),
                    sa.Column('created_by', sa.String(100), nullable=False),
                    sa.Column('revoked_at', TZ, nullable=True))
    op.create_index('ix_api_key_channel', 'api_key', ['channel'])
    op.create_table('device',
                    sa.Column('id', sa.String(60), primary_key=True),
                    sa.Column('community', sa.String(60), nullable=False),
                    sa.Column('kind', sa.String(20), nullable=False),
                    sa.Column('secret', sa.String(100), nullable=False),
                    sa.Column('created_at', TZ, nullable=False),
                    sa.Column('revoked_at', TZ, nullable=True))
    op.create_table('alert_receipt',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('device_id', sa.String(60), sa.ForeignKey('device.id'), nullable=False),
                    sa.Column('signature', sa.String(64), nullable=False),
                    sa.Column('alert_id', sa.String(200), nullable=False),
                    sa.Column('received_at', TZ, nullable=False),
                    sa.Column('event_id', sa.Integer(), sa.ForeignKey('event.id'), nullable=True),
                    sa.UniqueConstraint('device_id', 'signature', name='uq_alert_receipt_signature'))
    op.create_index('ix_alert_receipt_device_alert', 'alert_receipt', ['device_id', 'alert_id'])
    op.create_index('ix_alert_receipt_received_at', 'alert_receipt', ['received_at'])


def downgrade() -> None:
    op.drop_table('alert_receipt')
    op.drop_table('device')
    op.drop_table('api_key')
    op.drop_index('ix_event_channel', 'event')
    with op.batch_alter_table('event') as batch:
        batch.drop_constraint('uq_event_public_token', type_='unique')
        batch.drop_constraint('uq_event_intake_key', type_='unique')
        batch.drop_constraint('fk_event_merged_into_id', type_='foreignkey')
        batch.drop_constraint('fk_event_duplicate_of_id', type_='foreignkey')
        for column in ('merged_into_id', 'duplicate_of_id', 'alert_count', 'public_token', 'received_crs',
                       'reporter_contact', 'intake_key', 'channel'):
            batch.drop_column(column)
