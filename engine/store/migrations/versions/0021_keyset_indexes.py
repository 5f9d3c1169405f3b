"""keyset pages (issue #17): every list is read a page at a time after the last row shown
(engine/store/paging.py), so each list's order gets an index that ends in its unique tiebreaker — 待办 by
(created_at, id), the pool newest first of a community or a status, Open311 by (created_at, id), 已办 by
(actor, action, at, id), 消息 by (recipient, id), 督办 by (status, opened_at, id), 延期申请 and 流程异常 by
(status, id). An index that a new one begins with is dropped: the new one answers its look-ups (0020's
(actor, action, at) for the monthly report among them).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-21
"""
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

#: (table, new index, its columns, the index it replaces and that one's columns, or None)
INDEXES = (('work_item', 'ix_work_item_created_id', ['created_at', 'id'], None),
           ('event', 'ix_event_community_id', ['community', 'id'], ('ix_event_community', ['community'])),
           ('event', 'ix_event_status_id', ['status', 'id'], ('ix_event_status', ['status'])),
           ('event', 'ix_event_created_id', ['created_at', 'id'], ('ix_event_created_at', ['created_at'])),
           ('audit', 'ix_audit_actor_action_at_id', ['actor', 'action', 'at', 'id'],
            ('ix_audit_actor_action_at', ['actor', 'action', 'at'])),
           ('notification', 'ix_notification_recipient_id', ['recipient', 'id'],
            ('ix_notification_recipient', ['recipient'])),
           ('supervision', 'ix_supervision_status_opened', ['status', 'opened_at', 'id'],
            ('ix_supervision_status', ['status'])),
           ('supervision', 'ix_supervision_opened_id', ['opened_at', 'id'], ('ix_supervision_opened_at', ['opened_at'])),
           ('extension_request', 'ix_extension_request_status_id', ['status', 'id'],
            ('ix_extension_request_status', ['status'])),
           ('incident', 'ix_incident_status_id', ['status', 'id'], ('ix_incident_status', ['status'])))


def upgrade() -> None:
    for table, name, columns, replaced in INDEXES:
        op.create_index(name, table, columns)
        if replaced:
            op.drop_index(replaced[0], table_name=table)


def downgrade() -> None:
    for table, name, _columns, replaced in reversed(INDEXES):
        if replaced:
            op.create_index(replaced[0], table, replaced[1])
        op.drop_index(name, table_name=table)
