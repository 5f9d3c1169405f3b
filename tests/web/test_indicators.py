"""§8.6 indicators (issue #8, engine/oversight/indicators.py) over HTTP, checked against a history built on the
simulated clock whose every count is worked out by hand below — not by the production query. Both
databases.

The history (T0 = 2026-10-08 09:00, every event A05 in 新城社区, reported and whistled to 执法局 at T0 unless said):
- E1: accepted at T0+10m, disposed at T0+2h, check passed 满意 — on time, first time;
- E2: accepted late at T0+40m, disposed late at T0+27h, check passed 基本满意 — late, but first time;
- E3: 执法局 returns it at T0+10m (its 签收受理 is met by the return), re-dispatched to 市监局, which accepts
  at T0+10m and disposes at T0+2h; check passed 满意 — not first time (a return);
- E4: handled by the community's cadres (no whistle), done at T0+1h, check passed 满意;
- E5: accepted at T0+10m, disposed at T0+2h, check failed (不满意), reworked at T0+3h, check passed 满意 —
  not first time (rework);
- E6: accepted at T0+10m, never disposed — due at T0+24h, not handled.
"""
from __future__ import annotations

from datetime import timedelta

from tests.web.conftest import made_once
from tests.web.test_deadlines import advance_to, now

PERIOD = {"from": "2026-10-08T00:00:00+08:00", "to": "2026-10-12T00:00:00+08:00"}


def history(api):
    """The history above, made once per pytest process and database and copied into each test's database after
    (tests/web/conftest.py `made_once`); the events E1–E6 as reported."""
    return made_once(api, _history)


def _history(api):
    t0 = now(api)
    e = {n: api.report(description=f"考核样本 {n}") for n in ("E1", "E2", "E3", "E4", "E5", "E6")}
    for n in ("E1", "E2", "E3", "E5", "E6"):
        api.whistle_to(e[n]["id"])
    api.complete("staff1", e["E4"]["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", e["E4"]["id"], "analyse", {"disposal": "cadre"})
    advance_to(api, t0 + timedelta(minutes=10))
    for n in ("E1", "E5", "E6"):
        api.complete("zhifa1", e[n]["id"], "accept_whistle", {"decision": "accept"})
    api.complete("zhifa1", e["E3"]["id"], "accept_whistle", {"decision": "return",
                                                             "return_code": "not_ours", "return_reason": "非执法局职责"})
    api.complete("whistle1", e["E3"]["id"], "redispatch", {"lead_department": "shijian", "redispatch_note": "改派市监"})
    api.complete("shijian1", e["E3"]["id"], "accept_whistle", {"decision": "accept"})
    advance_to(api, t0 + timedelta(minutes=40))
    api.complete("zhifa1", e["E2"]["id"], "accept_whistle", {"decision": "accept"})
    advance_to(api, t0 + timedelta(hours=1))
    api.complete("staff1", e["E4"]["id"], "handle_by_cadre", {"result_summary": "已劝导整改"})
    api.complete("staff1", e["E4"]["id"], "check", {"passed": True, "rating": "满意"})
    advance_to(api, t0 + timedelta(hours=2))
    for n, unit_user in (("E1", "zhifa1"), ("E3", "shijian1"), ("E5", "zhifa1")):
        api.complete(unit_user, e[n]["id"], "dispose_feedback", {"result_summary": "已处置"})
        api.receive_closure(e[n]["id"])                       # 结案接收 (§7.3.3) by the whistle officer
    api.complete("staff1", e["E1"]["id"], "check", {"passed": True, "rating": "满意"})
    api.complete("staff1", e["E3"]["id"], "check", {"passed": True, "rating": "满意"})
    api.complete("staff1", e["E5"]["id"], "check", {"passed": False, "check_note": "未清理干净", "rating": "不满意"})
    advance_to(api, t0 + timedelta(hours=3))
    api.complete("zhifa1", e["E5"]["id"], "dispose_rework", {"result_summary": "已全部清理"})
    api.receive_closure(e["E5"]["id"])
    api.complete("staff1", e["E5"]["id"], "check", {"passed": True, "rating": "满意"})
    advance_to(api, t0 + timedelta(hours=27))
    api.complete("zhifa1", e["E2"]["id"], "dispose_feedback", {"result_summary": "已处置"})
    api.receive_closure(e["E2"]["id"])
    api.complete("staff1", e["E2"]["id"], "check", {"passed": True, "rating": "基本满意"})
    for n in ("E1", "E2", "E3", "E4", "E5"):
        assert api.event(e[n]["id"])["status"] == "closed", n
    assert api.event(e["E6"]["id"])["status"] == "open"
    return e


def rows(api, level, user="city1"):
    r = api.get("/api/indicators", user, query_string={"level": level, **PERIOD})
    assert r.status_code == 200, r.json
    return {item["key"]: item["indicators"] for item in r.json["items"]}


def counts(indicator):
    return indicator["numerator"], indicator["denominator"]


def test_each_indicator_matches_the_count_done_by_hand(app, api):
    history(api)
    units = rows(api, "unit")
    zhifa = units["zhifa"]
    assert counts(zhifa["accept_on_time_rate"]) == (4, 5)       # E1 E3(return) E5 E6 on time; E2 late
    assert counts(zhifa["disposal_rate"]) == (3, 4)             # due: E1 E2 E5 E6; handled: E1 E2 E5
    assert counts(zhifa["on_time_rate"]) == (2, 4)              # E1, E5 (its rework by T0+3h)
    assert counts(zhifa["first_time_rate"]) == (2, 3)           # closed: E1 E2 E5; first time: E1 E2
    assert counts(zhifa["average_handling_hours"]) == (32, 3)   # 2 + 27 + 3 hours from dispatch
    assert zhifa["average_handling_hours"]["value"] == 10.67
    assert counts(zhifa["extension_rate"]) == (0, 4)
    assert counts(zhifa["return_rate"]) == (1, 5)               # dispatched E1 E2 E3 E5 E6; returned E3
    assert counts(zhifa["satisfaction_rate"]) == (2, 3)         # last ratings 满意, 基本满意, 满意
    assert zhifa["on_time_rate"]["value"] == 0.5 and zhifa["on_time_rate"]["formula"] == "按期处置数 ÷ 应处置数"

    shijian = units["shijian"]
    assert counts(shijian["accept_on_time_rate"]) == (1, 1)
    assert counts(shijian["disposal_rate"]) == (1, 1) and counts(shijian["on_time_rate"]) == (1, 1)
    assert shijian["average_handling_hours"]["value"] == 1.83    # T0+10m → T0+2h
    assert counts(shijian["first_time_rate"]) == (0, 1)         # E3 was returned on its way
    assert counts(shijian["return_rate"]) == (0, 1)

    xincheng = rows(api, "community")["lg-xincheng"]
    assert counts(xincheng["disposal_rate"]) == (1, 1)          # its own obligation: E4's 2 hours (§8.1)
    assert counts(xincheng["on_time_rate"]) == (1, 1)
    assert counts(xincheng["average_handling_hours"]) == (1, 1)
    assert counts(xincheng["first_time_rate"]) == (3, 5)        # closed E1–E5; first time E1 E2 E4
    assert counts(xincheng["satisfaction_rate"]) == (3, 4)      # departments' work: E1 E2 E3 E5 (not its own E4)
    assert xincheng["return_rate"]["value"] is None             # not a community's indicator

    before = rows(api, "unit")
    r = api.get("/api/indicators", "city1", query_string={"level": "unit", "from": "2026-10-09T12:00:00+08:00",
                                                          "to": "2026-10-12T00:00:00+08:00"})
    later = {item["key"]: item["indicators"] for item in r.json["items"]}
    assert counts(later["zhifa"]["disposal_rate"]) == (0, 0)     # nothing of zhifa's fell due after noon on the 9th
    assert counts(later["zhifa"]["first_time_rate"]) == (1, 1)   # E2 closed then (T0+27h = the 9th, 12:00)
    assert before["zhifa"] == zhifa


def test_scope_and_input(app, api):
    history(api)
    assert set(rows(api, "unit", "zhifa1")) == {"zhifa"}                   # a department: its own unit
    assert set(rows(api, "community", "staff1")) == {"lg-xincheng"}        # a cadre: their community
    assert rows(api, "unit", "staff1") == {}
    assert rows(api, "department", "city1").keys() == rows(api, "unit", "city1").keys()
    assert rows(api, "unit", "grid1") == {}                      # a grid worker: no unit, its community's rows
    assert set(rows(api, "community", "grid1")) == {"lg-xincheng"}
    r = api.get("/api/indicators", "city1", query_string={"level": "street", **PERIOD})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "level"
    r = api.get("/api/indicators", "city1", query_string={"level": "unit", "from": PERIOD["to"], "to": PERIOD["from"]})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "to"
    r = api.get("/api/indicators", "city1", query_string={"level": "unit"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "from"


def test_odd_periods_are_refused_not_crashed_on(app, api):
    for period in ({"from": "0001-01-01T00:00:00+08:00", "to": PERIOD["to"]},
                   {"from": PERIOD["from"], "to": "9999-12-31T23:59:59+08:00"}):
        for path in ("/api/indicators", "/api/circular", "/api/assessment"):
            r = api.get(path, "city1", query_string={"level": "unit", **period})
            assert r.status_code == 422, (path, r.json)
    from tests.web.test_sensitive import web_session
    page = web_session(app, "city1")
    assert page.get("/dashboard?from=2026-10-01&to=9999-12-31").status_code == 400
    assert page.get("/circular?from=0001-01-01&to=2026-10-01").status_code == 400


def test_a_bad_weights_setting_stops_the_start(settings):
    import dataclasses
    import pytest
    from web.services import Services
    for bad in ("on_time_rate:-5", "on_time_rate:many", "average_handling_hours:10", "colour:5"):
        with pytest.raises(ValueError, match="EVENTFLOW_ASSESSMENT_WEIGHTS"):
            Services.build(dataclasses.replace(settings, assessment_weights=bad))


def test_a_persons_indicators_count_the_work_they_did(app, api):
    """A person's obligations: named on them, or met by their own completion (who did 签收受理, 处置反馈 …).
    执法局's zhifa1 did every 执法局 step of E1, E2, E3 (the return), E5 and E6; shijian1 E3's; staff1 E4's."""
    history(api)
    people = rows(api, "person")
    zhifa1 = people["zhifa1"]
    assert counts(zhifa1["accept_on_time_rate"]) == (4, 5)
    assert counts(zhifa1["disposal_rate"]) == (3, 3)            # E6 undone: nobody's work yet, the unit's obligation
    assert counts(zhifa1["on_time_rate"]) == (2, 3)
    assert counts(zhifa1["first_time_rate"]) == (2, 3)
    assert counts(people["shijian1"]["on_time_rate"]) == (1, 1) and counts(people["shijian1"]["first_time_rate"]) == (0, 1)
    assert counts(people["staff1"]["on_time_rate"]) == (1, 1)   # E4's 2 hours (§8.1), done by the cadre
    assert set(rows(api, "person", "zhifa1")) == {"zhifa1"}     # a department's staff: their unit's people


def test_the_last_rating_counts_wherever_the_database_keeps_the_rows(app, api):
    """§8.6 满意率 takes an event's last rating. PostgreSQL returns rows without ORDER BY in the order they lie
    in the table, which is not the order they were written once a page has free room: here rows of no event
    at the head of the table are deleted and vacuumed after E5's failed check, so its passing check is
    written there, before the failed one."""
    from sqlalchemy import delete
    from engine.store.models import Audit
    svc = app.extensions["eventflow"]
    t0 = now(api)
    svc.run(lambda s: s.add_all(Audit(at=t0, actor="test", action="filler", data={"pad": "x" * 200})
                                for _ in range(40)))
    e5 = api.report(description="考核样本 E5")["id"]
    api.whistle_to(e5)
    api.complete("zhifa1", e5, "accept_whistle", {"decision": "accept"})
    api.complete("zhifa1", e5, "dispose_feedback", {"result_summary": "已处置"})
    api.receive_closure(e5)
    api.complete("staff1", e5, "check", {"passed": False, "check_note": "未清理干净", "rating": "不满意"})
    svc.run(lambda s: s.execute(delete(Audit).where(Audit.action == "filler")))
    if svc.db.dialect.name == "postgresql":
        with svc.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM audit")
    api.complete("zhifa1", e5, "dispose_rework", {"result_summary": "已全部清理"})
    api.receive_closure(e5)
    api.complete("staff1", e5, "check", {"passed": True, "rating": "满意"})
    assert api.event(e5)["status"] == "closed"
    assert counts(rows(api, "unit")["zhifa"]["satisfaction_rate"]) == (1, 1)
