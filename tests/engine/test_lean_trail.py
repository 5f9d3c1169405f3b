"""A leaner trail (issue #17, compact history; migration 0037), on SQLite and on PostgreSQL:
- 时限开始: a limit's start is read from its deadline record, and the trail keeps a `deadline_set` row only
  where the escalation ladder told someone as it started (the 派单 rung, §4.1, issue #18). The event's
  timeline (engine/pool/reading.py) still shows one 时限开始 per limit, with what the row used to say, after the
  step that started it;
- the lookups the smaller indexes serve still use them: a completed task by its id's first characters
  (`completion_of`), the yellow lights due among pending limits, the month's misses; an ended instance's
  limits no longer name its timers;
- the clock gives whole seconds, and SQLite keeps them as 19 characters (migration 0039); the rows of the
  diagram's own steps (派单) keep their name and no task id."""
from __future__ import annotations

from datetime import datetime, timedelta

import uuid

import pytest
from sqlalchemy import select, text
from psycopg import sql as psycopg_sql
from sqlalchemy.dialects import postgresql

from engine.core.clock import SHANGHAI, SystemClock, local
from engine.casework import lifecycle
from engine.limits import deadlines
from engine.pool import reading
from engine.store import uow
from engine.store.models import Audit, Deadline, completion_of
from tests.engine.steps import complete, reported_and_started, whistled


def _walk(run, clock):
    """核实 → 研判 → 吹哨 to zhifa, a minute between steps: each starts the next step's limit."""
    event_id = reported_and_started(run)
    for name, data, user in (("verify", {"verdict": "accept"}, "staff1"),
                             ("analyse", {"disposal": "whistle"}, "staff1"),
                             ("issue_whistle", {"lead_department": "zhifa", "on_site": False,
                                                "whistle_reason": "社区无法自行处置"}, "whistle1")):
        clock.set(clock.now() + timedelta(minutes=1))
        run(complete, event_id, name, data, user=user)
    return event_id


def test_a_limit_that_told_no_one_has_no_trail_row_of_its_own(run, read, clock):
    event_id = _walk(run, clock)
    rows = read(lambda cmd: list(cmd.session.execute(select(Audit.data).where(
        Audit.event_id == event_id, Audit.action == deadlines.STARTED)).scalars()))
    limits = read(lambda cmd: [(d.kind, d.unit) for d in cmd.session.scalars(
        select(Deadline).where(Deadline.event_id == event_id).order_by(Deadline.id))])
    assert [kind for kind, _ in limits] == ["verify", "analyse", "whistle", "accept"]
    # the accept limit's start told zhifa (派单): its row, with the rung and clause
    assert [(r["kind"], r["unit"], r["rungs"]) for r in rows] == [
        ("accept", "zhifa", [{"rung": "dispatch", "clause": "§4.1"}])]


def test_the_timeline_shows_each_limits_start_after_the_step_that_started_it(run, read, clock):
    event_id = _walk(run, clock)
    timeline = read(lambda cmd: reading.event_detail(cmd, event_id)["timeline"], user="staff1")
    starts = [entry for entry in timeline if entry["action"] == deadlines.STARTED]
    assert [entry["data"]["kind"] for entry in starts] == ["verify", "analyse", "whistle", "accept"]
    records = read(lambda cmd: {d.kind: d for d in cmd.session.scalars(
        select(Deadline).where(Deadline.event_id == event_id))})
    for entry in starts:
        record = records[entry["data"]["kind"]]
        assert entry["data"]["rule"] == record.rule
        assert entry["data"]["due_at"] == local(record.original_due_at)
        assert entry["at"] == local(record.started_at)
    assert starts[-1]["data"]["rungs"] == [{"rung": "dispatch", "clause": "§4.1"}]    # the kept row itself
    # in order: each start right after the completion that armed it (or the start of the process)
    said = [(entry["action"], entry["task_name"] or (entry["data"] or {}).get("kind")) for entry in timeline]
    assert said.index(("deadline_set", "verify")) > said.index(("process_started", None))
    assert said.index(("task_completed", "核实")) < said.index(("deadline_set", "analyse")) \
        < said.index(("task_completed", "研判")) < said.index(("deadline_set", "whistle")) \
        < said.index(("task_completed", "吹哨"))
    assert [entry["at"] for entry in timeline] == sorted(entry["at"] for entry in timeline)


def _plan(sessions, database_url, query) -> str:
    def plan(session):
        compiled = query.compile(session.get_bind())
        connection = session.connection()
        if database_url.startswith("postgresql"):
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = connection.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
        else:
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled),
                                              tuple(compiled.params[name] for name in compiled.positiontup))
        return " ".join(str(r) for r in rows)
    return uow.read(sessions, plan)


def test_a_completed_task_is_found_by_its_key_index(sessions, database_url, run, read):
    """Many completions (SQLite's planner without statistics would as soon take the (action, at) index): the
    one asked for is found through ix_audit_task_key, and only the whole id matches."""
    event_id = whistled(run)
    if database_url.startswith("postgresql"):          # a city's month of completions, its statistics fresh
        uow.run(sessions, lambda s: s.execute(text(
            "INSERT INTO audit (at, actor, action, task_id, data) SELECT timestamptz '2026-10-05 10:00+08' + i * "
            "interval '1 minute', 'staff1', 'task_completed', md5(i::text)::uuid::text, '{}' "
            "FROM generate_series(1, 20000) AS i")))
        uow.run(sessions, lambda s: s.execute(text("ANALYZE audit")))
    done = read(lambda cmd: cmd.session.scalar(select(Audit.task_id).where(
        Audit.event_id == event_id, Audit.action == "task_completed", Audit.task_name == "核实")))
    twin = done[:8] + str(uuid.uuid4())[8:]                   # the same first 8 characters, another task
    assert read(lambda cmd: cmd.session.scalar(completion_of(select(Audit.task_name), done))) == "核实"
    assert read(lambda cmd: cmd.session.scalar(completion_of(select(Audit.id), twin))) is None
    assert read(lambda cmd: cmd.session.scalar(completion_of(select(Audit.id), "x"))) is None
    assert "ix_audit_task_key" in _plan(sessions, database_url, completion_of(select(Audit.id), done))


def _generic_plan(session, query) -> str:
    """PostgreSQL's generic plan of `query`: the plan that knows none of its bound values, as one a
    prepared statement may keep after its fifth run (engine/store/db.py `PLANNED_EACH_TIME`)."""
    compiled = query.compile(dialect=postgresql.psycopg.dialect(paramstyle="numeric_dollar"),
                             compile_kwargs={"render_postcompile": True})
    connection = session.connection()
    raw = connection.connection.driver_connection
    values = ", ".join(psycopg_sql.Literal(compiled.params[name]).as_string(raw) for name in compiled.positiontup)
    connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    assert connection.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_generic_plan"
    connection.exec_driver_sql(f"PREPARE period_rows AS {compiled}")
    try:
        with connection.begin_nested():       # a failed EXPLAIN leaves the transaction able to DEALLOCATE
            rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE period_rows({values})" if values
                                              else "EXPLAIN EXECUTE period_rows")
            return " ".join(str(r) for r in rows)
    finally:
        connection.exec_driver_sql("DEALLOCATE period_rows")


def test_a_periods_rows_of_an_action_are_read_by_index_among_a_months_completions(sessions, database_url):
    """PostgreSQL's ix_audit_action_at leaves out the completions and limits' starts (migration 0045): each
    query of a period's rows of an action — the whistles dispatched, returned and unlisted (§9.1), Open311's
    updates — names its actions in the SQL, so even a generic plan reads them through that index, and the
    updates' completions through ix_audit_completed_at, among 20,000 completions of a month."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite keeps ix_audit_action_at whole, every action's rows in it (migration 0045)")
    from engine.channels import open311_updates
    from engine.oversight import counting, returns, unlisted_whistles
    uow.run(sessions, lambda s: s.execute(text(
        "INSERT INTO audit (at, actor, action, task_id, task_name, data) SELECT timestamptz '2026-10-01 08:00+08'"
        " + i * interval '2 minute', 'staff1', CASE WHEN i % 100 = 1 THEN 'whistle_dispatched' WHEN i % 100 = 2 "
        "THEN 'whistle_returned' WHEN i % 100 = 3 THEN 'whistle_unlisted' WHEN i % 100 = 4 THEN 'reported' "
        "ELSE 'task_completed' END, md5(i::text)::uuid::text, '核实', '{}' FROM generate_series(1, 21000) AS i")))
    uow.run(sessions, lambda s: s.execute(text("ANALYZE audit")))
    start, end = datetime(2026, 10, 10, tzinfo=SHANGHAI), datetime(2026, 10, 17, tzinfo=SHANGHAI)
    def queries(session):
        return {"dispatched": counting.dispatched_query(session, start, end),
                "returned": counting.returned_query(session, start, end),
                "returns": select(Audit.id).where(*returns._returns(start, end)),
                "unlisted": select(Audit.id).where(*unlisted_whistles._whistles(start, end, None)),
                # the updates' rows of the window, before each is matched to its public request
                "updates": select(Audit.id).where(open311_updates._stage_rows(), Audit.at >= start,
                                                  Audit.at <= end)}
    plans = uow.read(sessions, lambda s: {name: _generic_plan(s, q) for name, q in queries(s).items()})
    for name, plan in plans.items():
        assert "ix_audit_action_at" in plan and "Seq Scan on audit" not in plan, (name, plan)
    assert "ix_audit_completed_at" in plans["updates"], plans["updates"]
    kept = uow.read(sessions, lambda s: s.scalar(text(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_audit_action_at'")))
    assert "WHERE" in kept and "task_completed" in kept and "deadline_set" in kept, kept


@pytest.mark.parametrize("lookup", ["warnings", "misses"])
def test_the_deadline_lookups_use_their_partial_indexes(sessions, database_url, clock, lookup):
    """The warnings job's query (pending limits only), and the monthly report's misses of a month (§9.2)."""
    now = clock.now()
    query, index = {"warnings": (deadlines.warnings_due(now), "ix_deadline_warn"),
                    "misses": (select(Deadline.id).where(Deadline.missed_at >= now - timedelta(days=30),
                                                         Deadline.missed_at < now), "ix_deadline_missed_at")}[lookup]
    assert index in _plan(sessions, database_url, query)


def test_an_ended_instances_limits_name_no_timer(run, read, clock):
    event_id = _walk(run, clock)
    timers = lambda: read(lambda cmd: list(cmd.session.scalars(select(Deadline.timer_task_id).where(   # noqa: E731
        Deadline.event_id == event_id).order_by(Deadline.id))))
    assert timers()[-1] is not None                          # the accept limit's timer, waiting
    run(lifecycle.withdraw, event_id, "群众撤回", user="grid1")  # 撤单: the instance ends
    assert timers() == [None] * 4


def test_whole_seconds_kept_short_and_the_diagrams_own_steps_unnumbered(run, read, clock, database_url):
    assert SystemClock().now().microsecond == 0
    event_id = _walk(run, clock)
    rows = read(lambda cmd: cmd.session.execute(select(Audit.action, Audit.task_id, Audit.task_name).where(
        Audit.event_id == event_id).order_by(Audit.id)).all())
    assert ("whistle_dispatched", None, "派单") in rows
    assert all(task_id for action, task_id, _ in rows if action == "task_completed")
    if database_url.startswith("sqlite"):
        lengths = read(lambda cmd: set(cmd.session.execute(text(
            "SELECT length(at) FROM audit UNION SELECT length(started_at) FROM deadline")).scalars()))
        assert lengths == {19}
