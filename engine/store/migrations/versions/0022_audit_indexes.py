"""bytes per closed event (issue #17: at most 6 KB): the audit trail is most of an event's bytes, and its
indexes most of those. 已办 and the monthly report (§9.2) read only task completions by person: their index
holds just those rows (partial, (actor, at, id) where the action is a completion); an event's trail is read
by (event_id, action) — without the id, PostgreSQL's B-tree stores an event's six completions as one key and
their row pointers — so (event_id, id) goes; a completed task is looked up by its id (a second completion is a
409, not a 404): that index holds the completions only; and event's (type_code) goes, (type_code, status,
created_at) begins with it

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

#: written as engine/casework/tasks.py `done` and engine/oversight/monthly_report.py ask, so the planner uses it
COMPLETED = "action = 'task_completed'"


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_audit_completed_by ON audit (actor, at, id) WHERE {COMPLETED}")
    op.drop_index('ix_audit_actor_action_at_id', table_name='audit')
    op.drop_index('ix_audit_event_at', table_name='audit')
    op.drop_index('ix_audit_task_id', table_name='audit')
    op.execute(f"CREATE INDEX ix_audit_task_id ON audit (task_id) WHERE {COMPLETED}")
    op.drop_index('ix_audit_event_action', table_name='audit')
    op.create_index('ix_audit_event_action', 'audit', ['event_id', 'action'])
    op.drop_index('ix_event_type_code', table_name='event')


def downgrade() -> None:
    op.create_index('ix_event_type_code', 'event', ['type_code'])
    op.drop_index('ix_audit_event_action', table_name='audit')
    op.create_index('ix_audit_event_action', 'audit', ['event_id', 'action', 'id'])
    op.drop_index('ix_audit_task_id', table_name='audit')
    op.create_index('ix_audit_task_id', 'audit', ['task_id'])
    op.create_index('ix_audit_event_at', 'audit', ['event_id', 'id'])
    op.create_index('ix_audit_actor_action_at_id', 'audit', ['actor', 'action', 'at', 'id'])
    op.drop_index('ix_audit_completed_by', table_name='audit')
