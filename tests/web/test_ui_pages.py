"""The web app's pages through a signed-in browser session (Flask's test client with the sign-in form and
its CSRF token; the real app and database): 已办, a refused task form (422, each field named, nothing
done), 催办 from the event page, a session that expires by the injected wall clock, the phone camera on
the report form, a redeployed form used by new tasks, the 待办 community filter. Issue #6."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from engine.core.clock import SimulatedClock
from engine.store.models import Notification
from tests.web.test_deploy import bundle_zip, deploy
from tests.web.test_sensitive import web_session
from tests.conftest import PROCESSES


def csrf(page, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get(path).get_data(as_text=True)).group(1)


def test_done_lists_what_the_user_completed(app, api):
    event = api.report()
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    page = web_session(app, "staff1")
    html = page.get("/done").get_data(as_text=True)
    assert event["number"] in html and "核实" in html
    assert event["number"] not in web_session(app, "staff2").get("/done").get_data(as_text=True)


def test_a_refused_task_form_answers_422_naming_the_field_and_does_nothing(app, api):
    event = api.report()
    task = api.task("staff1", event["id"], "verify")
    page = web_session(app, "staff1")
    token = csrf(page, f"/tasks/{task['id']}")
    r = page.post(f"/tasks/{task['id']}", data={"csrf_token": token, "verdict": "transfer"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "请按提示修改后再提交" in html and 'data-field="target_community"' in html
    assert api.task("staff1", event["id"], "verify")["id"] == task["id"]          # still to do
    r = page.post(f"/tasks/{task['id']}", data={"verdict": "accept"})             # no CSRF token: refused
    assert r.status_code == 400
    assert api.task("staff1", event["id"], "verify")


def test_urging_from_the_event_page_tells_whoever_has_the_task(app, api):
    event = api.report()
    api.whistle_to(event["id"])                                     # 签收受理 with zhifa
    page = web_session(app, "staff1")
    token = csrf(page, f"/events/{event['id']}")
    r = page.post(f"/events/{event['id']}/say", data={"csrf_token": token, "action": "urge", "text": "请尽快签收"})
    assert r.status_code == 302
    svc = app.extensions["eventflow"]
    told = svc.read(lambda s: [n.message for n in s.scalars(select(Notification).where(
        Notification.kind == "urge", Notification.recipient == "zhifa").order_by(Notification.id))])
    assert told and "请尽快签收" in told[0] and event["number"] in told[0]
    assert "催办" in page.get(f"/events/{event['id']}").get_data(as_text=True)      # in the timeline
    grid = web_session(app, "grid1")                                # a grid worker may comment, not urge
    token = csrf(grid, f"/events/{event['id']}")
    grid.post(f"/events/{event['id']}/say", data={"csrf_token": token, "action": "urge", "text": "催一下"})
    assert len(svc.read(lambda s: s.scalars(select(Notification).where(Notification.kind == "urge")).all())) == 1


def test_a_web_session_ends_when_its_token_expires(app, api, settings):
    svc = app.extensions["eventflow"]
    page = web_session(app, "staff1")
    assert page.get("/").status_code == 200
    wall = svc.env.wall_clock
    try:
        svc.env.wall_clock = SimulatedClock(wall.now() + timedelta(seconds=settings.token_ttl_seconds + 1))
        r = page.get("/")
        assert r.status_code == 302 and "/login" in r.headers["Location"]
    finally:
        svc.env.wall_clock = wall


def test_the_report_form_opens_the_phone_camera(app):
    html = web_session(app, "grid1").get("/report").get_data(as_text=True)
    photo = re.search(r'<input[^>]*name="photos"[^>]*>', html).group(0)
    assert 'capture="environment"' in photo and 'accept="image/' in photo and "multiple" in photo


def test_a_redeployed_form_is_what_new_tasks_render(app, api):
    old = api.report()
    form = (PROCESSES / "forms" / "verify.json").read_text(encoding="utf-8")
    changed = form.replace('"核实情况"', '"核实情况说明"')
    assert changed != form
    r = deploy(api, bundle_zip(drop="verify.json", extra={"forms/verify.json": changed.encode()}), "v2.zip")
    assert r.status_code == 201, r.json
    new = api.report()
    page = web_session(app, "staff1")
    assert "核实情况说明" in page.get(f"/tasks/{api.task('staff1', new['id'], 'verify')['id']}").get_data(as_text=True)
    old_page = page.get(f"/tasks/{api.task('staff1', old['id'], 'verify')['id']}").get_data(as_text=True)
    assert "核实情况说明" not in old_page and "核实情况" in old_page             # v1's instance keeps v1's form


def test_the_task_list_filters_by_community_for_a_user_who_sees_several(app, api):
    """A department clerk with whistles from two communities picks one (the select shows only then)."""
    r = api.post("/api/users", "admin1", json={"username": "whistle2", "password": "whistle-pass-2",
                                               "roles": ["whistle_officer"], "community": "lg-longgang"})
    assert r.status_code == 201, r.json
    api._tokens.pop("whistle2", None)
    xincheng = api.report()
    api.whistle_to(xincheng["id"])
    longgang = api.report(user="staff2", source="committee_patrol", community="lg-longgang",
                          location={"lat": 27.58, "lng": 120.60, "address": "龙港社区某路口"})
    api.complete("staff2", longgang["id"], "verify", {"verdict": "accept"})
    api.complete("staff2", longgang["id"], "analyse", {"disposal": "whistle"})
    token = api.client.post("/api/auth/token", json={"username": "whistle2", "password": "whistle-pass-2"}).json
    task = [t for t in api.client.get("/api/tasks", headers={"Authorization": f"Bearer {token['token']}"}).json["items"]
            if t["event_id"] == longgang["id"]][0]
    r = api.client.post(f"/api/tasks/{task['id']}/complete", headers={"Authorization": f"Bearer {token['token']}"},
                        json={"lead_department": "zhifa", "on_site": False, "whistle_reason": "需执法"})
    assert r.status_code == 200, r.json
    clerk = web_session(app, "zhifa1")
    html = clerk.get("/").get_data(as_text=True)
    assert 'name="community"' in html and xincheng["number"] in html and longgang["number"] in html
    html = clerk.get("/?community=lg-longgang").get_data(as_text=True)
    assert longgang["number"] in html and xincheng["number"] not in html
    assert 'name="community"' not in web_session(app, "staff1").get("/").get_data(as_text=True)   # one community


def test_in_english_the_engines_words_are_translated_too(app, api):
    """Status, source, timeline actions and lights come from the engine and web/ in Chinese; the English
    catalog translates them (marked N_ / lazy_gettext, `make translations`)."""
    event = api.report()
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "cadre"})
    page = web_session(app, "staff1")
    page.post("/language", data={"csrf_token": csrf(page, "/"), "lang": "en", "next": "/"})
    html = page.get(f"/events/{event['id']}").get_data(as_text=True)
    assert ">Open</span>" in html and "Grid worker" in html and "<strong>Reported</strong>" in html
    assert "办理中" not in html and "上报登记" not in html
    tasks = page.get("/").get_data(as_text=True)
    assert "green" in tasks and "h " in tasks and "绿灯" not in tasks


def test_catalog_forms_answer_odd_input_with_a_clear_refusal_not_a_crash(app, api):
    admin = web_session(app, "admin1")
    token = csrf(admin, "/admin/catalogs/units")
    assert admin.post("/admin/catalogs/units", data={"csrf_token": token, "rows": "abc"}).status_code == 400
    assert admin.post("/admin/catalogs/units", data={"csrf_token": token, "rows": "99999999"}).status_code == 400
    r = admin.post("/admin/catalogs/units", data={"csrf_token": token, "rows": "1", "0.name": "新单位"})
    assert r.status_code == 422 and "第 1 行：请填写「代码」" in r.get_data(as_text=True)
    cadre = web_session(app, "staff1")
    token = csrf(cadre, "/admin/catalogs/communities/lg-xincheng")
    for typed in ("NaN", "Infinity", "1e30", "-2", "abc", "9000"):
        r = cadre.post("/admin/catalogs/communities/lg-xincheng",
                       data={"csrf_token": token, "limit.default": typed})
        assert r.status_code == 422, typed
        assert "不超过 8784" in r.get_data(as_text=True) and typed in r.get_data(as_text=True), typed
    token = csrf(admin, "/admin/catalogs/duty_rosters")
    r = admin.post("/admin/catalogs/duty_rosters", data={"csrf_token": token, "rows": "6", "5.note": "只有备注"})
    assert r.status_code == 422 and "第 6 行" in r.get_data(as_text=True)          # the row as the form counts it


def test_a_refused_urge_or_reason_keeps_what_was_typed(app, api):
    event = api.report()
    page = web_session(app, "grid1")                                   # may comment, not urge
    token = csrf(page, f"/events/{event['id']}")
    r = page.post(f"/events/{event['id']}/say", data={"csrf_token": token, "action": "urge", "text": "请尽快处理此事"})
    assert r.status_code == 403 and "请尽快处理此事" in r.get_data(as_text=True)
    owner = web_session(app, "owner1")
    token = csrf(owner, f"/events/{event['id']}")
    r = owner.post(f"/events/{event['id']}/administer", data={"csrf_token": token, "action": "resume",
                                                              "reason": "恢复办理的理由"})
    assert r.status_code == 409 and "恢复办理的理由" in r.get_data(as_text=True)       # not suspended


def test_an_answer_that_changed_nothing_in_the_session_sets_no_cookie(app, api):
    """A page's own requests run beside what it sends (the pick map's data, the live stream reconnecting, a
    badge's count): had every answer set the session cookie again (a permanent session refreshed on each
    request), one that ended after the report's own answer would put back the session as it was before it, and
    the event page would lose its 已上报 (a browser test saw it on a busy box). Only an answer that changed
    the session sets the cookie: the report's, with its flash, stays."""
    page = web_session(app, "grid1")
    page.get("/report")                          # the form's CSRF token, kept in the session once
    before = page.get_cookie("session").value    # what a request sent now beside the report carries
    for path in ("/report", "/report/map.json", "/", "/events"):
        answer = page.get(path)
        assert answer.status_code == 200, path
        assert "Set-Cookie" not in answer.headers, path
    with page.session_transaction() as session:  # the report's answer: its flash changes the session
        session["_flashes"] = [("success", "已上报，事件编号 LG-20261008-0001")]
    after = page.get_cookie("session").value
    assert after != before
    page.set_cookie("session", before)          # the request that left before the flash was set …
    late = page.get("/report/map.json")
    assert "Set-Cookie" not in late.headers       # … answers without undoing it
    page.set_cookie("session", after)
    assert "已上报，事件编号 LG-20261008-0001" in page.get("/events").get_data(as_text=True)
