"""导出任务 (issue #17, engine/exports/jobs.py) in the engine alone: a queued export is claimed by one worker at a time —
two claimers on PostgreSQL (FOR UPDATE SKIP LOCKED) take it once between them — and one whose requester is gone
is failed with the reason in Chinese. On SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from catalogs import load_catalogs
from engine.core.clock import SimulatedClock, parse_instant
from engine.exports import jobs as exports
from engine.store import uow
from engine.store.db import make_engine, make_session_factory
from engine.store.models import ExportJob, Notification
from engine.wiring import Environment
from handlers.registry import default_registry
from tests.conftest import SIM_START


@pytest.fixture
def parts(database_url, tmp_path):
    db = make_engine(database_url)
    env = Environment(load_catalogs(), default_registry(), SimulatedClock(parse_instant(SIM_START)))
    env.photos.media_dir = tmp_path / "media"
    yield db, make_session_factory(db), env
    db.dispose()


def queue(factory, env, username="nobody", **params) -> int:
    def add(session):
        row = ExportJob(username=username, kind="circular", format="xlsx", status="queued", attempts=0,
                        params=params or {"from": "2026-10-01", "to": "2026-10-31"}, created_at=env.clock.now())
        session.add(row)
        session.flush()
        return row.id
    return uow.run(factory, add)


def test_two_claimers_build_a_job_once(parts):
    db, factory, env = parts
    job_id = queue(factory, env)
    first, second = factory(), factory()
    try:
        taken = exports.claim(env.command(first))
        assert taken["id"] == job_id
        if db.dialect.name == "postgresql":       # the first holds its row: the second skips it, not waits
            assert exports.claim(env.command(second)) is None
            second.rollback()
        first.commit()
        assert exports.claim(env.command(second)) is None       # now 生成中: not queued any more
        second.commit()
    finally:
        first.close()
        second.close()
    assert uow.read(factory, lambda s: s.get(ExportJob, job_id).status) == "working"


def test_a_job_whose_requester_is_gone_fails_in_chinese(parts):
    _db, factory, env = parts
    job_id = queue(factory, env, username="left-long-ago")
    assert exports.run_due(factory, env) == [job_id]
    row = uow.read(factory, lambda s: s.get(ExportJob, job_id))
    assert row.status == "failed" and "账号已停用" in row.error and row.file_name is None
    assert not list((env.photos.media_dir / "exports").glob("*"))         # nothing half-written left
    told = uow.read(factory, lambda s: list(s.scalars(select(Notification.message).where(
        Notification.recipient == "left-long-ago", Notification.kind == exports.FAILED))))
    assert len(told) == 1 and "导出失败" in told[0]


def test_one_asker_has_one_pending_job_per_export_at_the_database(parts):
    """`uq_export_job_pending` (migration 0042): two asks that raced past each other's look-up meet here, and the
    loser's unit runs again and finds the winner's job (web/units.py `run_unique`); a built or failed job keeps
    no key, and another asker's is their own."""
    from sqlalchemy.exc import IntegrityError
    _db, factory, env = parts
    key = exports.pending_key("circular", "xlsx", {"from": "2026-10-01", "to": "2026-10-31"})

    def add(username, pending):
        def made(session):
            session.add(ExportJob(username=username, kind="circular", format="xlsx", status="queued", attempts=0,
                                  params={"from": "2026-10-01", "to": "2026-10-31"}, pending_key=pending,
                                  created_at=env.clock.now()))
        return made
    uow.run(factory, add("city1", key))
    with pytest.raises(IntegrityError):
        uow.run(factory, add("city1", key))
    uow.run(factory, add("city2", key))
    uow.run(factory, add("city1", None))
    uow.run(factory, add("city1", None))
    assert uow.read(factory, lambda s: len(list(s.scalars(select(ExportJob))))) == 4
