"""待办 by time left (issue #19): each ready task carries its first open limit — `time_rank` (0 missed, 1
running, 2 paused, 3 no limit), `time_key` (its due time; without a limit, when the task was made) and `warn_at`
(黄灯 from then) — kept in step with the deadline records by engine/limits/task_order.py, and 待办 is read a
page at a time from (time_rank, time_key, id): red first, then by time left, the tasks without a limit after,
oldest first. The old order's index (created_at, id), which nothing else reads, is dropped. The tasks already
ready get their keys here, from their deadline records.

`time_key` is added with a placeholder default (SQLite adds a NOT NULL column only with one; every row is then
given its key, and the app always writes it); PostgreSQL drops the default again. SQLite keeps it: taking it
off would copy the table, and the copy would lose the live feed's triggers on it (0029).

Revision ID: 0033
Revises: 0032
Create Date: 2027-01-05
"""
import sqlalchemy as sa
from alembic import op

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
#: the task's first open deadline record, earliest due first (as engine/limits/task_order.py `_first`)
FIRST = ("(SELECT {column} FROM deadline d WHERE d.event_id = work_item.event_id AND d.task_spec = work_item.spec_name"
         " AND d.status IN ('pending', 'missed', 'paused') AND d.met_at IS NULL ORDER BY d.due_at, d.id LIMIT 1)")
RANK = "CASE d.status WHEN 'missed' THEN 0 WHEN 'paused' THEN 2 ELSE 1 END"


def upgrade() -> None:
    op.add_column('work_item', sa.Column('time_rank', sa.Integer(), nullable=False, server_default='3'))
    op.add_column('work_item', sa.Column('time_key', TZ, nullable=False, server_default='1970-01-01 00:00:00'))
    op.add_column('work_item', sa.Column('warn_at', TZ, nullable=True))
    op.execute(f"UPDATE work_item SET time_rank = COALESCE({FIRST.format(column=RANK)}, 3), "
               f"time_key = COALESCE({FIRST.format(column='d.due_at')}, created_at), "
               f"warn_at = {FIRST.format(column='d.warn_at')}")
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('work_item', 'time_key', server_default=None)
    op.create_index('ix_work_item_time_left', 'work_item', ['time_rank', 'time_key', 'id'])
    op.drop_index('ix_work_item_created_id', table_name='work_item')


def downgrade() -> None:
    op.create_index('ix_work_item_created_id', 'work_item', ['created_at', 'id'])
    op.drop_index('ix_work_item_time_left', table_name='work_item')
    for name in ('warn_at', 'time_key', 'time_rank'):
        op.drop_column('work_item', name)
