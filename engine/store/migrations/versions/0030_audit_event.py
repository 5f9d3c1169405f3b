"""bytes per closed event (issue #17: at most 6 KB, bench/storage.py): an event's trail is read by its
event_id alone. With the action in the key PostgreSQL's B-tree holds a key per action of each event (about
nine of an event's sixteen rows); with the event alone it holds one key and the rows' pointers (418 → 147
bytes per closed event, measured). A reader of one action of one event filters the event's few rows.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06
"""
from alembic import op

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_audit_event_action', table_name='audit')
    op.create_index('ix_audit_event_id', 'audit', ['event_id'])


def downgrade() -> None:
    op.drop_index('ix_audit_event_id', table_name='audit')
    op.create_index('ix_audit_event_action', 'audit', ['event_id', 'action'])
