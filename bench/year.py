"""A year of data (issue #17): the §8.6 indicators for a year and for a month, and the dashboard page's
computation, over a simulated year of N events — the aim is under 1 s each at 200,000 events, growing less
than 2× from 20,000 to 200,000.

    python -m bench.year [--events 20000,200000] [--database-url URL] [--exports]  # default: a new SQLite file

Also the circular (§9.1) of the year and of a month over HTTP, as its page and its API (city1 signed in),
and with `--exports` its Excel and PDF files (one round each).

The events are written straight into the tables (executemany), shaped like what a real closed event writes
(a walk through engine/ writes them so: tests/engine/steps.py): the event row, its instance, its deadlines
(签收受理 `accept` and 处置 `close` of the lead department for a whistled event, `community_handle` for one the
community's cadres handled), its audit trail (reported … 核查 with a rating … source_notified; some returned,
some failing a check and reworked, some reopened), its 回访 after closure (reached or not, the rating: the citizen's
satisfaction, issue #18) and a 督办 record for each missed limit. Spread over
2026 (Asia/Shanghai), deterministic (seeded). Printed: each size's timings (best of `--rounds`) and the ratio.
"""
from __future__ import annotations

import argparse
import random
import re
import resource
import tempfile
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, insert, select

from bench.setup import analyze, deployed, move_sequences
from engine.accounts.users import Principal
from engine.core.clock import SHANGHAI
from engine.oversight import assessment, indicators
from engine.store.models import Audit, Deadline, Event, Instance, Revisit, Supervision, User

CITY = Principal(11, "city1", "市社会治理中心", frozenset({"city_authority"}), None, "shezhi")
YEAR = (datetime(2026, 1, 1, tzinfo=SHANGHAI), datetime(2027, 1, 1, tzinfo=SHANGHAI))
MONTH = (datetime(2026, 6, 1, tzinfo=SHANGHAI), datetime(2026, 7, 1, tzinfo=SHANGHAI))
#: the dashboard as of the year's last day: December so far, and the trend of July … December
DASHBOARD = (datetime(2026, 12, 1, tzinfo=SHANGHAI), datetime(2027, 1, 1, tzinfo=SHANGHAI))
BATCH = 10_000
#: sensitive types (Table A.1 rows 1-3): the circular shows their entries to the city without number or text
SENSITIVE, SENSITIVE_SHARE = ("A01", "A02", "A03"), 0.03


def _rows(rng: random.Random, ids: range, version_id: int, communities, departments, audit_id: list) -> dict:
    """The rows of the events `ids`: {model: [row dicts]}."""
    year_seconds = (YEAR[1] - YEAR[0]).total_seconds()
    out = {Event: [], Instance: [], Deadline: [], Audit: [], Supervision: [], Revisit: []}
    offsets = sorted(rng.random() * year_seconds for _ in ids)
    # a share of sensitive events (Table A.1 rows 1-3), drawn from a stream of their own so the rest is as before
    kinds = random.Random(ids.start * 31 + 7)
    types = [kinds.choice(SENSITIVE) if kinds.random() < SENSITIVE_SHARE else "A05" for _ in ids]

    def audit(at, actor, action, event_id, data, task_name=None):
        audit_id[0] += 1
        out[Audit].append(dict(id=audit_id[0], at=at, actor=actor, action=action, event_id=event_id,
                               instance_id=event_id, task_id=None, task_name=task_name, data=data))

    def deadline(event_id, kind, task_spec, unit, community, started, limit, met_at, met_by, extended=False,
                 status=None):
        due = started + limit + (timedelta(days=2) if extended else timedelta())
        missed = due if (met_at is None or met_at > due) and due < YEAR[1] else None
        out[Deadline].append(dict(event_id=event_id, instance_id=event_id, kind=kind, task_spec=task_spec,
                                  timer_task_id=None, unit=unit, person=None, community=community,
                                  basis="natural", rule=f"PT{int(limit.total_seconds() // 60)}M", started_at=started,
                                  original_due_at=started + limit, due_at=due, warn_at=due - limit / 3,
                                  status=status or ("met" if met_at else "missed" if missed else "pending"),
                                  extended=extended, extensions=int(extended), warned_at=None, met_at=met_at,
                                  met_by=met_by, missed_at=missed, calendar_warning=None))
        if missed:
            out[Supervision].append(dict(event_id=event_id, kind=kind, unit=unit, person=None,
                                         community=community if not unit else None,
                                         reason=f"{kind} 超期", status="closed" if met_at else "open",
                                         opened_at=missed, closed_at=met_at))

    for event_id, offset, type_code in zip(ids, offsets, types, strict=True):
        t = created = YEAR[0].astimezone(timezone.utc) + timedelta(seconds=offset)
        community = rng.choice(communities)
        whistled = rng.random() < 0.6
        closed = rng.random() < 0.9
        returned = whistled and rng.random() < 0.05
        failed = closed and rng.random() < 0.05
        reopened = closed and rng.random() < 0.02
        lead = rng.choice(departments) if whistled else None
        hours = rng.choice((1, 2, 3, 5, 8, 20, 30))
        done = t + timedelta(hours=hours)
        closed_at = done + timedelta(minutes=30) if closed else None
        audit(t, "grid1", "reported", event_id, {"source": "grid_worker", "type_code": type_code, "community": community})
        audit(t, "staff1", "task_completed", event_id, {"verdict": "accept"}, "核实")
        audit(t, "staff1", "task_completed", event_id, {"disposal": "whistle" if whistled else "cadre"}, "研判")
        if whistled:
            audit(t, "whistle1", "task_completed", event_id, {"lead_department": lead, "on_site": False}, "吹哨")
            if returned:
                first = rng.choice([d for d in departments if d != lead])
                audit(t, "whistle1", "whistle_dispatched", event_id, {"lead_unit": first, "community": community})
                back = t + timedelta(minutes=10)
                deadline(event_id, "accept", "accept_whistle", first, community, t, timedelta(minutes=30), back,
                         f"{first}-1")
                audit(back, f"{first}-1", "whistle_returned", event_id, {"unit": first, "reason": "非本单位职责",
                                                                         "count": 1})
                t = back
            audit(t, "whistle1", "whistle_dispatched", event_id, {"lead_unit": lead, "community": community})
            audit(t, "whistle1", "deadline_set", event_id, {"kind": "accept", "unit": lead, "rule": "PT30M"})
            accepted = t + timedelta(minutes=rng.choice((5, 10, 20, 40)))
            person = f"{lead}-{rng.randint(1, 5)}"
            deadline(event_id, "accept", "accept_whistle", lead, community, t, timedelta(minutes=30), accepted, person)
            audit(accepted, person, "task_completed", event_id, {"decision": "accept"}, "签收受理")
            audit(accepted, person, "deadline_set", event_id, {"kind": "close", "unit": lead, "rule": "PT24H"})
            deadline(event_id, "close", "dispose_feedback", lead, community, t, timedelta(hours=24),
                     done if closed else None, person if closed else None, extended=rng.random() < 0.03)
            if closed:
                audit(done, person, "task_completed", event_id, {"result_summary": "已处置"}, "处置反馈")
        else:
            person = f"{community}-staff{rng.randint(1, 3)}"
            audit(t, "staff1", "deadline_set", event_id, {"kind": "community_handle", "rule": "PT24H"})
            deadline(event_id, "community_handle", "handle_by_cadre", None, community, t, timedelta(hours=24),
                     done if closed else None, person if closed else None)
            if closed:
                audit(done, person, "task_completed", event_id, {"result_summary": "已劝导整改"}, "社区处置")
        if closed:
            if failed:
                audit(done, "staff1", "task_completed", event_id, {"passed": False, "check_note": "未清理干净",
                                                                   "rating": "不满意"}, "核查")
                audit(done, person, "task_completed", event_id, {"result_summary": "已全部清理"}, "重办反馈")
            audit(closed_at, "staff1", "task_completed", event_id,
                  {"passed": True, "rating": rng.choice(("满意", "满意", "满意", "基本满意", "不满意"))}, "核查")
            audit(closed_at, "staff1", "source_notified", event_id, {"outcome": "closed", "reporter": "grid1"})
            if reopened:
                audit(closed_at + timedelta(hours=1), "staff1", "reopened", event_id, {"reason": "重复投诉"})
                closed_at = closed_at + timedelta(hours=5)
            asked = closed_at + timedelta(hours=rng.choice((2, 5, 20, 50)))     # 回访, most within 3 working days
            reached = rng.random() < 0.9
            rating = rng.choice(("满意", "满意", "满意", "基本满意", "不满意")) if reached else None
            out[Revisit].append(dict(event_id=event_id, instance_id=event_id, round=int(reopened), community=community,
                                     lead_unit=lead, closed_at=closed_at, opened_at=closed_at, status="done",
                                     recorded_at=asked, recorded_by="staff1", via="task", reached=reached,
                                     contact_result="已接通" if reached else "无人接听", rating=rating, words=None,
                                     cause=None, reopened=False))
            audit(asked, "staff1", "task_completed", event_id,
                  {"revisit_reached": reached, **({"revisit_rating": rating} if rating else {})}, "回访")
        out[Event].append(dict(id=event_id, number=f"Y-{event_id}", source="grid_worker", type_code=type_code,
                               description="bench", lat=27.5, lng=120.6, address="bench", photos=[],
                               community=community, reporter="grid1", status="closed" if closed else "open",
                               stage="" if closed else "处置反馈", lead_unit=lead, created_at=created,
                               closed_at=closed_at,
                               reopen_count=int(reopened)))
        out[Instance].append(dict(id=event_id, event_id=event_id, version_id=version_id, state="{}",
                                  serializer_version="1.4", status="complete" if closed else "running", row_version=1,
                                  updated_at=closed_at or t))
    return out


def fill(db, version_id: int, have: int, want: int, catalogs) -> None:
    """Grow the year from `have` to `want` events (a fresh random stream per batch, seeded by its start)."""
    communities = [f["properties"]["code"] for f in catalogs.get("communities")["features"]]
    departments = [u["code"] for u in catalogs.get("units") if u["kind"] == "department"]
    with db.begin() as conn:
        audit_id = [conn.scalar(select(func.max(Audit.id))) or 0]
        first = (conn.scalar(select(func.max(Event.id))) or 0) + 1
    for start in range(first, first + want - have, BATCH):
        ids = range(start, min(start + BATCH, first + want - have))
        rows = _rows(random.Random(start), ids, version_id, communities, departments, audit_id)
        with db.begin() as conn:
            for model in (Event, Instance, Deadline, Audit, Supervision, Revisit):
                if rows[model]:
                    conn.execute(insert(model), rows[model])
    with db.begin() as conn:
        move_sequences(conn, ("event", "process_instance", "audit"))
    analyze(db)


def refresh(db) -> tuple[int, float]:
    """What `eventflow worker` does every EVENTFLOW_ROLLUP_INTERVAL_S: count the days the writes listed into the
    counts kept per day (engine/oversight/rollups.py); (days, seconds)."""
    from engine.oversight import rollups
    from engine.store.db import make_session_factory
    t0 = time.perf_counter()
    with make_session_factory(db)() as session, session.begin():
        days = rollups.refresh(session)
    analyze(db)
    return len(days), time.perf_counter() - t0


def dashboard(cmd, weights, deduction):
    """What web/ui/dashboard.py `dashboard` computes for the unit level."""
    start, end = DASHBOARD
    found = indicators.compute(cmd.session, "unit", start, end) if _SHARED else None
    return (indicators.report(cmd, "unit", start, end, *([found] if _SHARED else [])),
            indicators.trend(cmd, "unit", end), indicators.events_by_community(cmd, start, end),
            assessment.scores(cmd.session, cmd.catalogs, "unit", start, end, weights, deduction,
                              *([found] if _SHARED else [])))


#: whether this tree's dashboard counts the period once (issue #17) — the bench runs on the tree before too
_SHARED = "found" in indicators.report.__code__.co_varnames


class Web:
    """The web app on the bench's database with the city's user signed in (demo user city1, made once): the
    circular's page (a browser session) and its API (a bearer token), asked for as a person and a client ask."""

    PASSWORD = "bench-password-1"

    def __init__(self, url: str):
        from engine.accounts import demo
        from engine.core.config import Settings
        from web import create_app
        from web.services import Services
        self.app = create_app(services=Services.build(Settings.from_env(env={}, database_url=url, scrypt_n=1024)))
        svc = self.app.extensions["eventflow"]
        if svc.read(lambda s: s.scalar(select(User.id).where(User.username == CITY.username))) is None:
            entry = next(e for e in demo.DEMO_USERS if e[0] == CITY.username)
            svc.run(lambda s: demo.create(svc.command(s), entry, self.PASSWORD, 1024))
        self.api = self.app.test_client()
        r = self.api.post("/api/auth/token", json={"username": CITY.username, "password": self.PASSWORD})
        self.headers = {"Authorization": f"Bearer {r.json['token']}"}
        self.page = self.app.test_client()
        form = self.page.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        r = self.page.post("/login", data={"username": CITY.username, "password": self.PASSWORD, "csrf_token": token})
        assert r.status_code == 302, r.status_code

    def get_page(self, path: str) -> int:
        r = self.page.get(path)
        assert r.status_code == 200, (path, r.status_code)
        return len(r.get_data())

    def get_api(self, path: str) -> int:
        r = self.api.get(path, headers=self.headers)
        assert r.status_code == 200, (path, r.status_code)
        return len(r.get_data())

    def close(self):
        self.app.extensions["eventflow"].db.dispose()


def _days(period) -> str:
    """`from=…&to=…` of the pages: the first and the last day."""
    first, end = period
    return f"from={first.date()}&to={(end - timedelta(days=1)).date()}"


def _instants(period) -> str:
    """`from=…&to=…` of the API: the instants, [from, to)."""
    return "&".join(f"{name}={t.isoformat().replace('+', '%2B')}" for name, t in zip(("from", "to"), period, strict=True))


#: the circular (§9.1) over HTTP: the page and the API, of the year and of a month
CIRCULAR = {
    "circular year page": lambda web: web.get_page(f"/circular?{_days(YEAR)}"),
    "circular year API": lambda web: web.get_api(f"/api/circular?{_instants(YEAR)}"),
    "circular month page": lambda web: web.get_page(f"/circular?{_days(MONTH)}"),
    "circular month API": lambda web: web.get_api(f"/api/circular?{_instants(MONTH)}"),
}
#: its exports (`--exports`), one round each: everything the period names, so the year's is long
EXPORTS = {
    "circular month xlsx": lambda web: web.get_page(f"/circular.xlsx?{_days(MONTH)}"),
    "circular month pdf": lambda web: web.get_page(f"/circular.pdf?{_days(MONTH)}"),
    "circular year xlsx": lambda web: web.get_page(f"/circular.xlsx?{_days(YEAR)}"),
    "circular year pdf": lambda web: web.get_page(f"/circular.pdf?{_days(YEAR)}"),
}


def best_web(web, fn, rounds=3) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn(web)
        times.append(time.perf_counter() - t0)
    return min(times)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best(factory, env, fn, rounds=3) -> float:
    times = []
    for _ in range(rounds):
        with factory() as session:
            cmd = env.command(session, CITY)
            t0 = time.perf_counter()
            fn(cmd)
            times.append(time.perf_counter() - t0)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="20000,200000", help="sizes, comma-separated, growing")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file (a PostgreSQL "
                        "database is emptied: init_db drops nothing, so give a new one)")
    parser.add_argument("--rounds", type=int, default=3, help="timings per measure (the best is printed)")
    parser.add_argument("--exports", action="store_true", help="also the circular's Excel and PDF files of a "
                        "month and of the year (one round each; the year's may take long)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.events.split(",")]
    weights = assessment.parse_weights("on_time_rate:40,first_time_rate:30,satisfaction_rate:30")
    measures = {
        "year (unit)": lambda cmd: indicators.report(cmd, "unit", *YEAR),
        "year (person)": lambda cmd: indicators.report(cmd, "person", *YEAR),
        "year (community)": lambda cmd: indicators.report(cmd, "community", *YEAR),
        "month (unit)": lambda cmd: indicators.report(cmd, "unit", *MONTH),
        "dashboard": lambda cmd: dashboard(cmd, weights, 2.0),
    }
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/year.sqlite3"
        db, factory, env, version = deployed(url)
        have, results = 0, []
        for size in sizes:
            t0 = time.perf_counter()
            fill(db, version.id, have, size, env.catalogs)
            have = size
            print(f"  {size:>9,} events written ({time.perf_counter() - t0:5.1f} s)", flush=True)
            if hasattr(indicators, "rollups"):      # the tree before issue #17's counts kept per day has none
                days, took = refresh(db)
                print(f"  {days} days counted into the kept counts ({took:5.1f} s, the worker's refresh)", flush=True)
            results.append({name: best(factory, env, fn, args.rounds) for name, fn in measures.items()})
            print("  " + ", ".join(f"{name} {t * 1000:.0f} ms" for name, t in results[-1].items()), flush=True)
            web = Web(url)
            for name, fn in CIRCULAR.items():
                results[-1][name] = best_web(web, fn, args.rounds)
                print(f"  {name} {results[-1][name] * 1000:.0f} ms ({fn(web):,} bytes)", flush=True)
            for name, fn in (EXPORTS.items() if args.exports else ()):
                t0 = time.perf_counter()
                size = fn(web)
                results[-1][name] = time.perf_counter() - t0
                print(f"  {name} {results[-1][name] * 1000:.0f} ms ({size:,} bytes, the bench's peak RSS so far "
                      f"{peak_rss_mb():.0f} MB)", flush=True)
            web.close()
        db.dispose()
    print(f"database   {url.split('://')[0]}")
    print(f"{'measure':<18}" + "".join(f"{f'{s:,} events':>16}" for s in sizes) + f"{'growth':>9}")
    for name in [*measures, *CIRCULAR, *(EXPORTS if args.exports else ())]:
        times = [r[name] for r in results]
        print(f"{name:<20}" + "".join(f"{t * 1000:>13.0f} ms" for t in times) + f"{times[-1] / times[0]:>8.1f}x")
    worst = max(results[-1][n] for n in measures)
    growth = max(results[-1][n] / results[0][n] for n in measures)
    print(f"aim: each under 1 s at the largest size ({'met' if worst < 1 else 'NOT met'}: {worst:.2f} s), "
          f"growth under 2x ({'met' if growth < 2 else 'NOT met'}: {growth:.1f}x)")
    worst = max(results[-1][n] for n in CIRCULAR)
    print(f"aim: the circular's page and API about 1 s at the largest size ({'met' if worst < 1.2 else 'NOT met'}: "
          f"{worst:.2f} s)")


if __name__ == "__main__":
    main()
