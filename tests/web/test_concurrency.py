"""Two people complete the same task at once: exactly one 200 and one clear 409 (real threads, real DB)."""
from __future__ import annotations

import threading

from tests.web.client import Api


def test_two_concurrent_completions_give_one_200_and_one_409(app, api):
    event = api.report()
    task = api.task("staff1", event["id"], "verify")
    headers = api.headers("staff1")
    barrier = threading.Barrier(2)
    statuses = []

    def complete():
        client = app.test_client()
        barrier.wait()
        r = client.post(f"/api/tasks/{task['id']}/complete", headers=headers,
                        json={"verdict": "accept"})
        statuses.append((r.status_code, r.json))

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for s, _ in statuses) == [200, 409], statuses
    conflict = next(body for s, body in statuses if s == 409)
    assert conflict["error"] == "conflict" and conflict["task_id"] == task["id"]
    detail = Api(app).event(event["id"])
    assert [a["task_name"] for a in detail["timeline"] if a["action"] == "task_completed"] == ["核实"]
    assert [t["name"] for t in detail["open_tasks"]] == ["analyse"]
