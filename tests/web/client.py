"""A small test client that signs in as the demo roles and walks tasks (no mocks: the real app)."""
from __future__ import annotations

import io

from tests.conftest import PASSWORD
from tests.samples import REPORT, image  # noqa: F401 - re-exported: tests import them from here


class Api:
    def __init__(self, app, client=None):
        """The app's Flask test client, or `client` with its get/post (tests/web/test_serve.py: over HTTP)."""
        self.app = app
        self.client = client or app.test_client()
        self._tokens = {}
        self._photos = 0

    def headers(self, username):
        if username not in self._tokens:
            r = self.client.post("/api/auth/token", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.json
            self._tokens[username] = r.json["token"]
        return {"Authorization": f"Bearer {self._tokens[username]}"}

    def get(self, path, user, **kw):
        return self.client.get(path, headers=self.headers(user), **kw)

    def post(self, path, user, **kw):
        return self.client.post(path, headers=self.headers(user), **kw)

    def report(self, user="grid1", **changes):
        r = self.post("/api/events", user, json={**REPORT, **changes})
        assert r.status_code == 201, r.json
        return r.json

    def photo(self, user, event_id, data=None, name="photo.jpg", expect=201):
        """Upload one photo to the event (a fresh real JPEG unless `data` is given); its key."""
        if data is None:
            self._photos += 1
            data = image(color=(self._photos * 37 % 256, 120, 200))
        r = self.post(f"/api/events/{event_id}/photos", user, data={"file": (io.BytesIO(data), name)})
        assert r.status_code == expect, r.json
        return r.json[0]["key"] if expect == 201 else r.json

    def tasks(self, user, event_id=None):
        """The user's ready tasks (of one event), every page of them."""
        found, cursor = [], None
        while True:
            r = self.get(f"/api/tasks?cursor={cursor}" if cursor else "/api/tasks", user)   # base64url: as is
            assert r.status_code == 200, r.json
            found += [t for t in r.json["items"] if event_id is None or t["event_id"] == event_id]
            if not (cursor := r.json["next_cursor"]):
                return found

    def task(self, user, event_id, name):
        found = [t for t in self.tasks(user, event_id) if t["name"] == name]
        assert found, f"{user} has no task {name} on event {event_id}: {self.tasks(user, event_id)}"
        return found[0]

    def complete(self, user, event_id, name, data, expect=200):
        task = self.task(user, event_id, name)
        r = self.post(f"/api/tasks/{task['id']}/complete", user, json=data)
        assert r.status_code == expect, r.json
        return r.json

    def event(self, event_id, user="staff1"):
        r = self.get(f"/api/events/{event_id}", user)
        assert r.status_code == 200, r.json
        return r.json

    def advance(self, by):
        r = self.post("/api/sim/advance", "admin1", json={"by": by})
        assert r.status_code == 200, r.json
        return r.json

    def withdraw(self, user, event_id, reason="问题已自行解决", expect=200):
        r = self.post(f"/api/events/{event_id}/withdraw", user, json={"reason": reason})
        assert r.status_code == expect, r.json
        return r.json

    def reopen(self, user, event_id, reason="同一问题再次投诉", expect=200):
        r = self.post(f"/api/events/{event_id}/reopen", user, json={"reason": reason})
        assert r.status_code == expect, r.json
        return r.json

    def whistle_to(self, event_id, department="zhifa", on_site=False, co_departments=None):
        """Walk 核实 → 研判 → 吹哨 (§7.1–§7.3) for a fresh event."""
        self.complete("staff1", event_id, "verify", {"verdict": "accept"})
        self.complete("staff1", event_id, "analyse", {"disposal": "whistle"})
        data = {"lead_department": department, "on_site": on_site, "whistle_reason": "社区无法自行处置"}
        if co_departments is not None:
            data["co_departments"] = co_departments
        self.complete("whistle1", event_id, "issue_whistle", data)

    def receive_closure(self, event_id, passed=True, note=None, user="whistle1"):
        """结案接收 (§7.3.3): the community's whistle officer takes the department's closure (or sends it back)."""
        data = {"passed": passed} if passed else {"passed": False, "receipt_note": note or "反馈不完整，请重办"}
        return self.complete(user, event_id, "receive_closure", data)

    def close_whistle(self, event_id, unit_user="zhifa1"):
        """签收受理 → 处置反馈 → 结案接收 → 核查通过 for a non-on-site whistle without co-departments."""
        self.complete(unit_user, event_id, "accept_whistle", {"decision": "accept"})
        self.complete(unit_user, event_id, "dispose_feedback", {"result_summary": "已处置完毕"})
        self.receive_closure(event_id)
        return self.complete("staff1", event_id, "check", {"passed": True, "rating": "满意"})
