"""Every open task's unit or person is a party of its event (issue #17): a completion whose next task stays with
the completed task's own assignee writes no event_party row again (engine/casework/tasks.py `assignee_party`),
so every such row must be there. The runtime has written it with each task since event_party came (0002); the
ready tasks of a database older than that get theirs here (none is written twice).

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-07
"""
from alembic import op

revision = '0046'
down_revision = '0045'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for kind in ('unit', 'person'):
        op.execute(f"INSERT INTO event_party (event_id, kind, value) "
                   f"SELECT DISTINCT event_id, '{kind}', {kind} FROM work_item "
                   f"WHERE assignee_kind = '{kind}' AND {kind} IS NOT NULL "
                   f"ON CONFLICT DO NOTHING")


def downgrade() -> None:
    pass    # the rows are true of their events either way
