"""a year of data (issue #17): the indexes the period aggregates of the indicators (§8.6), the circular (§9.1)
and the monthly report (§9.2) read by — deadlines by due time, events by closing time, audit rows by action
and time and each event's trail by action, supervision records by when they opened

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-20
"""
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_deadline_due_at', 'deadline', ['due_at'])
    op.create_index('ix_event_closed_at', 'event', ['closed_at'])
    op.create_index('ix_audit_action_at', 'audit', ['action', 'at'])
    op.create_index('ix_audit_event_action', 'audit', ['event_id', 'action', 'id'])
    op.create_index('ix_supervision_opened_at', 'supervision', ['opened_at'])


def downgrade() -> None:
    op.drop_index('ix_supervision_opened_at', table_name='supervision')
    op.drop_index('ix_audit_event_action', table_name='audit')
    op.drop_index('ix_audit_action_at', table_name='audit')
    op.drop_index('ix_event_closed_at', table_name='event')
    op.drop_index('ix_deadline_due_at', table_name='deadline')
