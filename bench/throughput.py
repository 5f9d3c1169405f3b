"""Task completions per second of Figure 1's main path over HTTP under the production server (issue #17):
`eventflow serve` (gunicorn, `eventflow worker` beside it) on PostgreSQL, with 1 and with 2 gunicorn
workers, measured in turn (A B A B …) in one run; prints each and the ratio (aims: ≥ 250 completions/s,
1 → 2 workers ≥ 1.8x).

    make bench            # or: python -m bench.throughput [--clients 8] [--seconds 15] [--rounds 2]

Each client is a process of its own with one keep-alive connection, signed in as the four people of the
main path (bearer tokens). It walks one event after another: 报告 (grid1, POST /api/events: the answer
lists the open 核实 task), then 核实 and 研判 (staff1), 吹哨 (whistle1), 签收受理 and 处置反馈 (zhifa1),
结案接收 (whistle1), 核查 (staff1), each POST /api/tasks/{id}/complete. A completion answers the next task the
same person may do on the event (`next_task`); where the next task is someone else's (the path changes hands
four times) that person reads the event first (GET /api/events/{id}), as a client must. Counted: completions
answered within the measured window (after a warm-up), per second of it; the reports and reads the path
needs run meanwhile. The box has 2 cores: the clients, the server's processes and PostgreSQL share them,
so the CPU each used in the window is printed too (per completion).
"""
from __future__ import annotations

import argparse
import collections
import http.client
import json
import multiprocessing
import os
import random
import statistics
import time

from sqlalchemy import event as sqlalchemy_event

from bench.serving import PASSWORD, Served, box_busy, pg_database, postgres_cpu, prepare

REPORT = {"source": "grid_worker", "type_code": "A05", "description": "bench 占道经营", "community": "lg-xincheng",
          "location": {"lat": 27.52, "lng": 120.6, "address": "bench"}}
#: each report of a type of Table A.1 that is not sensitive, somewhere in 新城社区 (as a city's reports are:
#: a repeat of an open event — same type within 200 m — is rare, so few are flagged as possible duplicates)
TYPES = [f"A{i:02d}" for i in range(4, 13)]


def report_body(rng: random.Random) -> dict:
    return {**REPORT, "type_code": rng.choice(TYPES),
            "location": {"lat": round(rng.uniform(27.505, 27.545), 6), "lng": round(rng.uniform(120.57, 120.615), 6),
                         "address": "bench"}}
#: Figure 1's main path: (who, task, form data)
STEPS = [("staff1", "verify", {"verdict": "accept"}),
         ("staff1", "analyse", {"disposal": "whistle"}),
         ("whistle1", "issue_whistle", {"lead_department": "zhifa", "on_site": False, "whistle_reason": "bench"}),
         ("zhifa1", "accept_whistle", {"decision": "accept"}),
         ("zhifa1", "dispose_feedback", {"result_summary": "已处置"}),
         ("whistle1", "receive_closure", {"passed": True}),   # 结案接收 (§7.3.3)
         ("staff1", "check", {"passed": True, "rating": "满意"}),
         ("staff1", "revisit", {"revisit_reached": True, "revisit_rating": "满意"})]   # 回访 after closure (issue #18)
USERS = ("grid1", "staff1", "whistle1", "zhifa1")


class Client:
    """One keep-alive HTTP/1.1 connection to the server."""

    def __init__(self, port: int, tokens: dict | None = None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.tokens = tokens or {}

    def call(self, method: str, path: str, user: str | None = None, body=None, expect=(200, 201)):
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        answer = self.conn.getresponse()
        raw = answer.read()
        if answer.status not in expect:
            raise RuntimeError(f"{method} {path} as {user}: HTTP {answer.status} {raw[:500]!r}")
        return json.loads(raw) if raw else None


def sign_in(port: int) -> dict:
    client = Client(port)
    return {u: client.call("POST", "/api/auth/token", body={"username": u, "password": PASSWORD})["token"]
            for u in USERS}


def walk(client: Client, counts: dict, window, rng: random.Random) -> None:
    """One event along the main path; `counts` gets what was answered inside the window (`window()`)."""
    event = client.call("POST", "/api/events", "grid1", report_body(rng))
    counts["reports"] += window()
    task = next(t for t in event["open_tasks"] if t["name"] == "verify")
    for user, name, data in STEPS:
        if task is None:                      # someone else's turn: they look at the event first
            detail = client.call("GET", f"/api/events/{event['id']}", user)
            counts["reads"] += window()
            task = next(t for t in detail["open_tasks"] if t["name"] == name)
        assert task["name"] == name, (task, name)
        done = client.call("POST", f"/api/tasks/{task['id']}/complete", user, data)
        counts["completions"] += window()
        task = done.get("next_task")
    assert done["event_status"] == "closed", done


def round_trips(url: str, events: int = 20) -> dict[str, dict[str, float]]:
    """Database round trips per request of each kind (report, completion, read) along the same path, in
    an app of this process on the same database (Flask's test client: the server's processes cannot be
    counted from here): BEGIN, each statement, COMMIT, ROLLBACK (bench/latency.py)."""
    from engine.core.config import Settings
    from web import create_app
    from web.services import Services
    services = Services.build(Settings.from_env(env={}, database_url=url, scrypt_n=1024, secret_key="bench-" + "0" * 58))
    app, kind = create_app(services=services), ["sign-in"]
    trips = {}

    def count(what):
        trips.setdefault(kind[0], collections.Counter())[what] += 1
    for name in ("begin", "commit", "rollback"):
        sqlalchemy_event.listen(services.db, name, lambda *a, n=name: count(n))
    sqlalchemy_event.listen(services.db, "before_cursor_execute", lambda *a: count("statement"))

    class Local(Client):
        def __init__(self):
            self.test, self.tokens, self.calls = app.test_client(), {}, collections.Counter()

        def call(self, method, path, user=None, body=None, expect=(200, 201)):
            kind[0] = "report" if path == "/api/events" else "completion" if method == "POST" else "read"
            self.calls[kind[0]] += 1
            headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
            answer = self.test.open(path, method=method, json=body, headers=headers)
            assert answer.status_code in expect, answer.json
            return answer.json

    local = Local()
    local.tokens = {u: local.test.post("/api/auth/token", json={"username": u, "password": PASSWORD}).json["token"]
                    for u in USERS}
    rng, counts = random.Random(0), collections.Counter()
    for _ in range(3):
        walk(local, counts, lambda: 1, rng)                         # warm
    trips.clear()
    local.calls.clear()
    for _ in range(events):
        walk(local, counts, lambda: 1, rng)
    services.db.dispose()
    return {k: {what: n / local.calls[k] for what, n in trips[k].items()} for k in ("report", "completion", "read")}


def client_process(port, tokens, start_at, warm_until, end_at, results):
    """Walk events from `start_at` until `end_at` (wall clock, time.time()); count what is answered after
    `warm_until`; put (counts, CPU seconds used in the window) on `results`."""
    client, rng = Client(port, tokens), random.Random(os.getpid())
    counts = {"reports": 0, "completions": 0, "reads": 0, "events": 0}
    cpu = {}

    def window() -> int:
        now = time.time()
        if now >= warm_until and "start" not in cpu:
            cpu["start"] = sum(os.times()[:2])
        if now >= end_at and "end" not in cpu:
            cpu["end"] = sum(os.times()[:2])
        return 1 if warm_until <= now < end_at else 0

    time.sleep(max(0.0, start_at - time.time()))
    try:
        while time.time() < end_at:
            walk(client, counts, window, rng)
            counts["events"] += 1
        window()
        results.put((counts, cpu.get("end", 0) - cpu.get("start", 0), None))
    except Exception as err:  # noqa: BLE001 - reported by the parent
        results.put((counts, 0.0, f"{type(err).__name__}: {err}"))


def measure(server: Served, tokens: dict, clients: int, seconds: float, warm: float, database: str) -> dict:
    """One round against `server`: completions/s and the CPU used per completion, by whom."""
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    start_at = time.time() + 0.5
    warm_until, end_at = start_at + warm, start_at + warm + seconds
    procs = [ctx.Process(target=client_process, args=(server.port, tokens, start_at, warm_until, end_at, results))
             for _ in range(clients)]
    for p in procs:
        p.start()
    time.sleep(max(0.0, warm_until - time.time()))
    cpu0, pg0, box0, t0 = server.cpu(), postgres_cpu(database), box_busy(), time.time()
    time.sleep(max(0.0, end_at - time.time()))
    cpu1, pg1, box1, t1 = server.cpu(), postgres_cpu(database), box_busy(), time.time()
    got = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join()
    errors = [e for _, _, e in got if e]
    if errors:
        raise RuntimeError(f"{len(errors)} clients failed: {errors[0]}\n{server.output()}")
    total = {k: sum(c[k] for c, _, _ in got) for k in got[0][0]}
    done = max(1, total["completions"])
    ours = {"web": cpu1["web"] - cpu0["web"], "worker": cpu1["worker"] - cpu0["worker"], "postgres": pg1 - pg0,
            "clients": sum(c for _, c, _ in got)}
    return {"rate": total["completions"] / seconds, "reports": total["reports"] / seconds,
            "reads": total["reads"] / seconds, "window": t1 - t0,
            "cpu_ms": {k: v * 1000 / done for k, v in ours.items()},
            # cores busy in the window: the whole box, and what other processes (not this benchmark's) took
            "busy": (box1 - box0) / (t1 - t0), "others": max(0.0, box1 - box0 - sum(ours.values())) / (t1 - t0)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="client processes, each one connection")
    parser.add_argument("--seconds", type=float, default=15, help="measured seconds per round")
    parser.add_argument("--warm", type=float, default=3, help="seconds of load before each round's window")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each server (A B A B …)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--workers", default="1,2", help="the two servers' gunicorn workers")
    parser.add_argument("--database", default=f"eventflow_bench_throughput_{os.getpid()}")
    args = parser.parse_args()
    sizes = [int(w) for w in args.workers.split(",")]

    with pg_database(args.database) as url:
        prepare(url)
        trips = round_trips(url)
        servers = {}
        try:
            for workers in sizes:          # both up at once; each round loads one, the other idles
                servers[workers] = Served(url, workers, args.threads)
            tokens = sign_in(servers[sizes[0]].port)
            for workers in sizes:          # warm: specs compiled, statements cached in every gunicorn worker
                measure(servers[workers], tokens, args.clients, 2, 1, args.database)
            rounds = {w: [] for w in sizes}
            for r in range(args.rounds):
                for workers in sizes:
                    result = measure(servers[workers], tokens, args.clients, args.seconds, args.warm, args.database)
                    rounds[workers].append(result)
                    cpu = result["cpu_ms"]
                    print(f"  round {r + 1}  {workers} worker{'s' if workers > 1 else ' '}  "
                          f"{result['rate']:6.1f} completions/s  ({result['reports']:.1f} reports/s, "
                          f"{result['reads']:.1f} reads/s)  CPU per completion: gunicorn {cpu['web']:.2f} ms, "
                          f"postgres {cpu['postgres']:.2f} ms, clients {cpu['clients']:.2f} ms, "
                          f"eventflow worker {cpu['worker']:.2f} ms; box {result['busy']:.2f} cores busy, "
                          f"{result['others']:.2f} by other processes", flush=True)
        finally:
            for server in servers.values():
                server.stop()

    print("database            postgresql (this box: 2 cores shared by the clients, the server and PostgreSQL)")
    print(f"load                {args.clients} client processes x 1 connection; {args.seconds:g} s per round "
          f"after {args.warm:g} s warm-up; gunicorn gthread x {args.threads} threads; A B A B ({args.rounds} rounds)")
    print("round trips         " + "; ".join(
        f"{kind} {sum(t.values()):.1f} (" + ", ".join(f"{n:.1f} {what}" for what, n in sorted(t.items())) + ")"
        for kind, t in trips.items()) + " per request")
    medians = {w: statistics.median(r["rate"] for r in rounds[w]) for w in sizes}
    for workers in sizes:
        cpu = {k: statistics.median(r["cpu_ms"][k] for r in rounds[workers]) for k in rounds[workers][0]["cpu_ms"]}
        print(f"{workers} gunicorn worker{'s' if workers > 1 else ' '}   {medians[workers]:7.1f} completions/s (median)"
              f"   CPU ms per completion: gunicorn {cpu['web']:.2f}, postgres {cpu['postgres']:.2f}, "
              f"clients {cpu['clients']:.2f}, eventflow worker {cpu['worker']:.2f}, "
              f"total {sum(cpu.values()):.2f}")
    cores = os.cpu_count() or 1
    spent = {w: sum(statistics.median(r["cpu_ms"][k] for r in rounds[w]) for k in rounds[w][0]["cpu_ms"]) for w in sizes}
    others = statistics.median(r["others"] for w in sizes for r in rounds[w])
    print(f"other processes     {others:.2f} of {cores} cores busy meanwhile (median; this box is shared)")
    print(f"ceiling             {cores * 1000 / spent[sizes[-1]]:7.1f} completions/s if the {cores} cores did nothing "
          f"else ({cores} x 1000 ms / {spent[sizes[-1]]:.2f} ms of CPU per completion, all parties)")
    quiet = min(range(args.rounds), key=lambda r: max(rounds[w][r]["others"] for w in sizes))
    pair = {w: rounds[w][quiet]["rate"] for w in sizes}
    print(f"quietest round      round {quiet + 1} (other processes <= "
          f"{max(rounds[w][quiet]['others'] for w in sizes):.2f} cores): "
          + ", ".join(f"{w} worker{'s' if w > 1 else ''} {pair[w]:.1f}/s" for w in sizes)
          + f", ratio {pair[sizes[-1]] / pair[sizes[0]]:.2f}x")
    best, ratio = max(medians.values()), medians[sizes[-1]] / medians[sizes[0]]
    print(f"aim >= 250/s        {'met' if best >= 250 else 'NOT met'} ({best:.1f}/s)")
    print(f"ratio {sizes[0]} -> {sizes[-1]}        {ratio:7.2f}x   (aim >= 1.8x: {'met' if ratio >= 1.8 else 'NOT met'})")


if __name__ == "__main__":
    main()
