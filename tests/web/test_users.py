"""Accounts managed by a system administrator (issue #6) through the HTTP API: create one, change its
roles and scope, reset its password, disable it — each audited, each change of what the account may do
ending its tokens; bad input named field by field and nothing changed. Both databases."""
from __future__ import annotations

from sqlalchemy import select

from engine.store.models import Audit
from tests.conftest import PASSWORD

NEW = {"username": "staff9", "password": "init-pass-99", "display_name": "新城社区 王芳", "roles": ["community_staff"],
       "community": "lg-xincheng"}


def account(api, username):
    [found] = [u for u in api.get("/api/users", "admin1").json["items"] if u["username"] == username]
    return found


def sign_in(api, username, password):
    return api.client.post("/api/auth/token", json={"username": username, "password": password})


def audits(app, action):
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: [a.data for a in s.scalars(select(Audit).where(Audit.action == action).order_by(Audit.id))])


def test_an_administrator_creates_an_account_that_works_at_once(app, api):
    r = api.post("/api/users", "admin1", json=NEW)
    assert r.status_code == 201, r.json
    assert r.json["username"] == "staff9" and r.json["roles"] == ["community_staff"] and r.json["active"] is True
    token = sign_in(api, "staff9", "init-pass-99")
    assert token.status_code == 200
    tasks = api.client.get("/api/tasks", headers={"Authorization": f"Bearer {token.json['token']}"})
    assert tasks.status_code == 200
    assert audits(app, "user_created") == [{"user": "staff9", "roles": ["community_staff"],
                                            "community": "lg-xincheng", "unit": None}]
    again = api.post("/api/users", "admin1", json=NEW)
    assert again.status_code == 422 and again.json["errors"][0]["field"] == "username"


def test_a_bad_account_names_each_field_and_nothing_is_created(api):
    r = api.post("/api/users", "admin1", json={"username": "x y", "password": "short", "roles": ["mayor"],
                                               "community": "nowhere"})
    assert r.status_code == 422, r.json
    assert {e["field"] for e in r.json["errors"]} == {"username", "password", "role", "community"}
    r = api.post("/api/users", "admin1", json={**NEW, "username": "clerk9", "roles": ["department_staff"],
                                               "community": None})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "unit"
    r = api.post("/api/users", "admin1", json={**NEW, "is_admin": True})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "is_admin"
    assert "staff9" not in {u["username"] for u in api.get("/api/users", "admin1").json["items"]}


def test_moving_an_account_to_another_community_ends_its_sessions_and_changes_what_it_sees(app, api):
    created = api.post("/api/users", "admin1", json=NEW).json
    old = sign_in(api, "staff9", "init-pass-99").json["token"]
    event = api.report()                                   # a task in lg-xincheng
    headers = {"Authorization": f"Bearer {old}"}
    assert any(t["event_id"] == event["id"] for t in api.client.get("/api/tasks", headers=headers).json["items"])
    r = api.client.patch(f"/api/users/{created['id']}", headers=api.headers("admin1"),
                         json={"community": "lg-longgang", "display_name": "龙港社区 王芳"})
    assert r.status_code == 200 and r.json["community"] == "lg-longgang", r.json
    assert api.client.get("/api/tasks", headers=headers).status_code == 401        # signed out
    new = sign_in(api, "staff9", "init-pass-99").json["token"]
    items = api.client.get("/api/tasks", headers={"Authorization": f"Bearer {new}"}).json["items"]
    assert all(t["event_id"] != event["id"] for t in items)                         # not their community now
    [entry] = audits(app, "user_updated")
    assert entry["user"] == "staff9" and entry["changes"]["community"] == {"from": "lg-xincheng", "to": "lg-longgang"}


def test_reset_password_and_disable(app, api):
    created = api.post("/api/users", "admin1", json=NEW).json
    r = api.client.patch(f"/api/users/{created['id']}", headers=api.headers("admin1"), json={"password": "new-pass-77"})
    assert r.status_code == 200
    assert sign_in(api, "staff9", "init-pass-99").status_code == 401
    assert sign_in(api, "staff9", "new-pass-77").status_code == 200
    assert audits(app, "user_updated")[-1]["changes"] == {"password": "reset"}      # never the password itself
    r = api.client.patch(f"/api/users/{created['id']}", headers=api.headers("admin1"), json={"active": False})
    assert r.status_code == 200 and r.json["active"] is False
    assert sign_in(api, "staff9", "new-pass-77").status_code == 401
    assert account(api, "staff9")["active"] is False
    r = api.client.patch(f"/api/users/{created['id']}", headers=api.headers("admin1"), json={"active": True})
    assert sign_in(api, "staff9", "new-pass-77").status_code == 200


def test_what_an_administrator_cannot_do(app, api):
    admin = account(api, "admin1")
    r = api.client.patch(f"/api/users/{admin['id']}", headers=api.headers("admin1"), json={"active": False})
    assert r.status_code == 409 and r.json["field"] == "active"                     # not themself
    r = api.client.patch(f"/api/users/{admin['id']}", headers=api.headers("admin1"), json={"roles": ["city_authority"]})
    assert r.status_code == 409
    r = api.client.patch(f"/api/users/{account(api, 'staff1')['id']}", headers=api.headers("admin1"),
                         json={"password": "short", "roles": "community_staff", "colour": "red"})
    assert r.status_code == 422, r.json
    assert {e["field"] for e in r.json["errors"]} == {"password", "roles", "colour"}
    assert sign_in(api, "staff1", PASSWORD).status_code == 200                       # nothing changed
    r = api.client.patch("/api/users/999999", headers=api.headers("admin1"), json={"active": False})
    assert r.status_code == 404
    for user in ("staff1", "owner1", "city1"):
        assert api.post("/api/users", user, json=NEW).status_code == 403
        r = api.client.patch(f"/api/users/{admin['id']}", headers=api.headers(user), json={"active": False})
        assert r.status_code == 403
