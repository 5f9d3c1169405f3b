"""bytes per closed event (issue #17: at most 6 KB, bench/storage.py), a step further:
- 时限开始 is read from the deadline record: the trail keeps a `deadline_set` row only where the escalation
  ladder told someone as the limit started (its rungs and clauses, issue #18); the others only repeated their
  record's columns (engine/limits/deadlines.py `starts`, engine/pool/reading.py);
- an ended instance's deadlines no longer name its timers (gone with its state since 0019);
- a completed task is found by its id's first 8 characters (`ix_audit_task_key`, engine/store/models.py
  `completion_of`): a quarter of the bytes of the whole id's index;
- the deadline indexes hold the rows they find: the yellow lights due among the pending limits, the misses
  among the missed ones; an instance's records are found by its event (`ix_deadline_event_id`), not by an
  index of their own.

Revision ID: 0037
Revises: 0035
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0037'
down_revision = '0035'
branch_labels = None
depends_on = None

ENDED = "('completed', 'terminated')"
COMPLETED = "action = 'task_completed'"


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    told = "(data -> 'rungs') IS NOT NULL" if postgresql else "json_extract(data, '$.rungs') IS NOT NULL"
    op.execute(f"DELETE FROM audit WHERE action = 'deadline_set' AND NOT ({told})")
    op.execute("UPDATE deadline SET timer_task_id = NULL WHERE timer_task_id IS NOT NULL AND instance_id IN "
               f"(SELECT id FROM process_instance WHERE status IN {ENDED})")
    op.drop_index('ix_audit_task_id', table_name='audit')
    op.execute(f"CREATE INDEX ix_audit_task_key ON audit (substr(task_id, 1, 8)) WHERE {COMPLETED}")
    op.drop_index('ix_deadline_instance_kind', table_name='deadline')
    op.drop_index('ix_deadline_status_warn', table_name='deadline')
    op.create_index('ix_deadline_warn', 'deadline', ['warn_at'], sqlite_where=sa.text("status = 'pending'"),
                    postgresql_where=sa.text("status = 'pending'"))
    op.drop_index('ix_deadline_missed_at', table_name='deadline')
    op.create_index('ix_deadline_missed_at', 'deadline', ['missed_at'], sqlite_where=sa.text("missed_at IS NOT NULL"),
                    postgresql_where=sa.text("missed_at IS NOT NULL"))


def downgrade() -> None:
    # the starts read from their records are not written back: `starts` reads them either way
    op.drop_index('ix_deadline_missed_at', table_name='deadline')
    op.create_index('ix_deadline_missed_at', 'deadline', ['missed_at'])
    op.drop_index('ix_deadline_warn', table_name='deadline')
    op.create_index('ix_deadline_status_warn', 'deadline', ['status', 'warn_at'])
    op.create_index('ix_deadline_instance_kind', 'deadline', ['instance_id', 'kind'])
    op.drop_index('ix_audit_task_key', table_name='audit')
    op.execute(f"CREATE INDEX ix_audit_task_id ON audit (task_id) WHERE {COMPLETED}")
