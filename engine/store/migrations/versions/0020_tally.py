"""a year in a second (issue #17): the §8.6 counts kept per Asia/Shanghai day and month and party (`tally`),
and the days whose counts changed (`tally_dirty`), listed by triggers on deadline, event, audit and supervision in the
writer's own transaction, so no write, however made, is missed; every day with data starts dirty, and the
next refresh (engine/oversight/rollups.py, `eventflow rollups rebuild`) counts it; a partial index of the
failed checks (the circular's 处置不到位); the monthly report's indexes

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

#: the deadline columns the counts read (a warning's `warned_at` changes nothing counted)
DEADLINE_COLUMNS = "event_id, kind, unit, person, community, started_at, due_at, status, extended, met_at, met_by"
EVENT_COLUMNS = "status, closed_at, reopen_count, community, lead_unit, created_at"
#: the supervision columns the circular's counts read (§9.1)
SUPERVISION_COLUMNS = "kind, unit, person, community, opened_at"
#: the audit rows the counts read: orders and returns (派单数, 退回数), and a closed event's first-time and rating
COUNTED = "('whistle_dispatched', 'whistle_returned')"
EVENT_FACTS = "('task_completed', 'whistle_returned', 'reopened')"


def upgrade() -> None:
    op.create_table(
        'tally',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('grain', sa.String(5), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('level', sa.String(10), nullable=False),
        sa.Column('party', sa.String(100), nullable=False),
        sa.Column('late_day', sa.Date()),
        sa.Column('early_day', sa.Date()),
        *[sa.Column(name, sa.BigInteger() if name == 'handling_us' else sa.Integer(), nullable=False)
          for name in ('due', 'handled', 'on_time', 'extended', 'handling_us', 'accept_due', 'accepted_on_time',
                       'closed', 'first_time', 'rated', 'satisfied', 'dispatched', 'returned', 'received',
                       'late_response', 'late_feedback')])
    op.create_index('ix_tally_level_grain_day', 'tally', ['level', 'grain', 'day'])
    op.create_table(
        'tally_dirty',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('xid', sa.BigInteger()))
    op.create_index('ix_tally_dirty_day_xid', 'tally_dirty', ['day', 'xid'])
    # the failed checks (§8.5 重办: the circular's 处置不到位, the first-time rate), written as
    # engine/oversight/counting.py `failed_check` writes its condition, so the planner can use it
    if op.get_bind().dialect.name == 'postgresql':
        failed = ("action = 'task_completed' AND json_typeof(data -> 'passed') = 'boolean' "
                  "AND (data ->> 'passed') = 'false'")
    else:
        failed = "action = 'task_completed' AND json_type(data, '$.passed') = 'false'"
    # (action, at), not (at) alone: SQLite then prefers it to ix_audit_action_at
    op.execute(f"CREATE INDEX ix_audit_failed_check ON audit (action, at) WHERE {failed}")
    # the monthly report (§9.2) of a busy community: limits missed in the month, each person's days with work
    op.create_index('ix_deadline_missed_at', 'deadline', ['missed_at'])
    op.create_index('ix_audit_actor_action_at', 'audit', ['actor', 'action', 'at'])
    if op.get_bind().dialect.name == 'postgresql':
        _postgresql_triggers()
    else:
        _sqlite_triggers()
    _every_day_dirty()


def _postgresql_triggers() -> None:
    day = "(({}) AT TIME ZONE 'Asia/Shanghai')::date"
    op.execute("""
CREATE FUNCTION tally_mark(d date) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF d IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tally_dirty WHERE day = d AND xid = txid_current()) THEN
    INSERT INTO tally_dirty (day, xid) VALUES (d, txid_current());
  END IF;
END $$""")
    op.execute(f"""
CREATE FUNCTION tally_closed_day(e integer) RETURNS date LANGUAGE sql STABLE AS $$
  SELECT {day.format('closed_at')} FROM event WHERE id = e AND status = 'closed' $$""")
    op.execute(f"""
CREATE FUNCTION tally_deadline() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM tally_mark({day.format('OLD.due_at')});
    PERFORM tally_mark(tally_closed_day(OLD.event_id));
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM tally_mark({day.format('NEW.due_at')});
    PERFORM tally_mark(tally_closed_day(NEW.event_id));
  END IF;
  RETURN NULL;
END $$""")
    op.execute(f"""
CREATE FUNCTION tally_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    PERFORM tally_mark({day.format('OLD.closed_at')});
    PERFORM tally_mark({day.format('OLD.created_at')});
  END IF;
  PERFORM tally_mark({day.format('NEW.closed_at')});
  PERFORM tally_mark({day.format('NEW.created_at')});
  RETURN NULL;
END $$""")
    op.execute(f"""
CREATE FUNCTION tally_supervision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM tally_mark({day.format('OLD.opened_at')});
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM tally_mark({day.format('NEW.opened_at')});
  END IF;
  RETURN NULL;
END $$""")
    op.execute(f"""
CREATE FUNCTION tally_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.action IN {COUNTED} THEN
    PERFORM tally_mark({day.format('NEW.at')});
  END IF;
  IF NEW.action IN {EVENT_FACTS} AND NEW.event_id IS NOT NULL THEN
    PERFORM tally_mark(tally_closed_day(NEW.event_id));
  END IF;
  RETURN NULL;
END $$""")
    op.execute(f"CREATE TRIGGER tally_deadline AFTER INSERT OR DELETE OR UPDATE OF {DEADLINE_COLUMNS} ON deadline "
               "FOR EACH ROW EXECUTE FUNCTION tally_deadline()")
    op.execute(f"CREATE TRIGGER tally_event AFTER INSERT OR UPDATE OF {EVENT_COLUMNS} ON event "
               "FOR EACH ROW EXECUTE FUNCTION tally_event()")
    op.execute("CREATE TRIGGER tally_audit AFTER INSERT OR UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION tally_audit()")
    op.execute(f"CREATE TRIGGER tally_supervision AFTER INSERT OR DELETE OR UPDATE OF {SUPERVISION_COLUMNS} "
               "ON supervision FOR EACH ROW EXECUTE FUNCTION tally_supervision()")


def _mark(select: str) -> str:
    """SQLite: list the day `select` gives (a one-column SELECT), unless it is NULL or listed already (one
    writer at a time: the refresh cannot be between a listing and its write)."""
    return (f"INSERT INTO tally_dirty (day) SELECT v.d FROM ({select}) AS v WHERE v.d IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM tally_dirty t WHERE t.day = v.d);")


def _sqlite_triggers() -> None:
    def day(column):
        return f"SELECT date({column}, '+8 hours') AS d"

    def closed(row):
        return _mark(f"SELECT date(closed_at, '+8 hours') AS d FROM event WHERE id = {row}.event_id "
                     "AND status = 'closed'")
    old = f"{_mark(day('OLD.due_at'))} {closed('OLD')}"
    new = f"{_mark(day('NEW.due_at'))} {closed('NEW')}"
    op.execute(f"CREATE TRIGGER tally_deadline_insert AFTER INSERT ON deadline BEGIN {new} END")
    op.execute(f"CREATE TRIGGER tally_deadline_update AFTER UPDATE OF {DEADLINE_COLUMNS} ON deadline "
               f"BEGIN {old} {new} END")
    op.execute(f"CREATE TRIGGER tally_deadline_delete AFTER DELETE ON deadline BEGIN {old} END")
    op.execute("CREATE TRIGGER tally_event_insert AFTER INSERT ON event "
               f"BEGIN {_mark(day('NEW.closed_at'))} {_mark(day('NEW.created_at'))} END")
    op.execute(f"CREATE TRIGGER tally_event_update AFTER UPDATE OF {EVENT_COLUMNS} ON event "
               f"BEGIN {_mark(day('OLD.closed_at'))} {_mark(day('NEW.closed_at'))} "
               f"{_mark(day('OLD.created_at'))} {_mark(day('NEW.created_at'))} END")
    op.execute(f"CREATE TRIGGER tally_supervision_insert AFTER INSERT ON supervision BEGIN {_mark(day('NEW.opened_at'))} END")
    op.execute(f"CREATE TRIGGER tally_supervision_update AFTER UPDATE OF {SUPERVISION_COLUMNS} ON supervision "
               f"BEGIN {_mark(day('OLD.opened_at'))} {_mark(day('NEW.opened_at'))} END")
    op.execute(f"CREATE TRIGGER tally_supervision_delete AFTER DELETE ON supervision BEGIN {_mark(day('OLD.opened_at'))} END")
    counted = _mark(f"{day('NEW.at')} WHERE NEW.action IN {COUNTED}")
    facts = _mark("SELECT date(closed_at, '+8 hours') AS d FROM event WHERE id = NEW.event_id "
                  f"AND status = 'closed' AND NEW.action IN {EVENT_FACTS}")
    for when in ("INSERT", "UPDATE"):
        op.execute(f"CREATE TRIGGER tally_audit_{when.lower()} AFTER {when} ON audit BEGIN {counted} {facts} END")


def _every_day_dirty() -> None:
    """Every day from the first with data to the last is counted by the next refresh."""
    bind = op.get_bind()
    found = [bind.execute(sa.text(f"SELECT min({c}), max({c}) FROM {t}")).one()
             for t, c in (("deadline", "due_at"), ("event", "closed_at"), ("event", "created_at"), ("audit", "at"),
                          ("supervision", "opened_at"))]
    edges = [_shanghai_day(v) for pair in found for v in pair if v is not None]
    if not edges:
        return
    first, last = min(edges) - timedelta(days=1), max(edges) + timedelta(days=1)
    days = [{"day": first + timedelta(days=i)} for i in range((last - first).days + 1)]
    op.bulk_insert(sa.table('tally_dirty', sa.column('day', sa.Date())), days)


def _shanghai_day(value) -> date:
    """SQLite gives naive UTC text, PostgreSQL an aware datetime: the Asia/Shanghai day (UTC+8, no DST)."""
    from datetime import datetime, timezone
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return (value.astimezone(timezone.utc) + timedelta(hours=8)).date()


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in ('deadline', 'event', 'audit', 'supervision'):
            op.execute(f"DROP TRIGGER tally_{table} ON {table}")
            op.execute(f"DROP FUNCTION tally_{table}()")
        op.execute("DROP FUNCTION tally_closed_day(integer)")
        op.execute("DROP FUNCTION tally_mark(date)")
    else:
        for name in ('deadline_insert', 'deadline_update', 'deadline_delete', 'event_insert', 'event_update',
                     'audit_insert', 'audit_update', 'supervision_insert', 'supervision_update', 'supervision_delete'):
            op.execute(f"DROP TRIGGER tally_{name}")
    op.drop_index('ix_audit_actor_action_at', table_name='audit')
    op.drop_index('ix_deadline_missed_at', table_name='deadline')
    op.drop_index('ix_audit_failed_check', table_name='audit')
    op.drop_table('tally_dirty')
    op.drop_table('tally')
