"""Appendix A Table A.1 and Appendix B Table B.1 as data (issue #19; the standard's lists end in "等"): rows
added and worded in the app by a system administrator, checked by the catalog loader (JSON Schema and the
cross-checks), stored as revisions with their history (who, when, which rows and fields); a row that events
have cannot be removed, only retired — then it is no longer offered for new reports (the API, the report page,
Open311) while the events of it still show it. Table A.1's sensitive mark is not changed in the app. Both
databases (engine/accounts/catalog_edits.py, web/ui/admin.py)."""
from __future__ import annotations

import copy
import re

from tests.web.test_sensitive import web_session
from tests.web.test_ui_pages import csrf


def table(api, name):
    return api.get(f"/api/catalogs/{name}", "admin1").json


def put(api, name, rows, user="admin1"):
    return api.client.put(f"/api/catalogs/{name}", headers=api.headers(user), json=rows)


def history(api, name):
    r = api.get(f"/api/catalogs/{name}/revisions", "city1")
    assert r.status_code == 200, r.json
    return r.json["items"]


def test_a_table_a1_row_edited_added_kept_in_history_and_retired_not_removed_when_in_use(app, api):
    before = table(api, "event_types")
    rows = copy.deepcopy(before)
    a05 = next(r for r in rows if r["code"] == "A05")
    a05["content"] = "人行道秩序整治（含共享单车乱停放）"
    rows.append({"code": "A31", "no": 31, "category": "市容环境卫生", "content": "建筑垃圾乱倒", "department": "zhifa"})
    r = put(api, "event_types", rows)
    assert r.status_code == 200, r.json
    assert r.json["summary"] == {"added": ["A31"], "removed": [], "changed": ["A05: content"]}
    [revision] = history(api, "event_types")
    assert revision["actor"] == "admin1" and revision["actor_name"] == "系统管理员"
    assert revision["summary"]["changed"] == ["A05: content"] and revision["saved_at"].startswith("2026-10-08")

    used = api.report(type_code="A05")                      # the new wording names it at once
    assert "共享单车" in web_session(app, "staff1").get(f"/events/{used['id']}").get_data(as_text=True)
    assert api.report(type_code="A31")["type_code"] == "A31"                 # a new row is offered

    # validated: a bad row is refused naming it, nothing stored
    bad = copy.deepcopy(rows) + [{"code": "A32", "no": 5, "category": "x", "content": "y", "department": "nowhere"}]
    r = put(api, "event_types", bad)
    assert r.status_code == 422, r.json
    fields = {e["field"] for e in r.json["errors"]}
    assert "A32.department" in fields, r.json
    r = put(api, "event_types", [*rows[:-1], {**rows[-1], "no": "31"}])
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "A31.no", r.json
    assert len(history(api, "event_types")) == 1

    # a row in use: removed is refused, retired is taken
    r = put(api, "event_types", [row for row in rows if row["code"] != "A05"])
    assert r.status_code == 422, r.json
    error = r.json["errors"][0]             # (then what else names it: 新城社区's whistle list)
    assert error["field"] == "A05" and "停用" in error["reason"], r.json
    a05["retired"] = True
    r = put(api, "event_types", rows)
    assert r.status_code == 200 and r.json["summary"]["changed"] == ["A05: retired"], r.json
    r = api.post("/api/events", "grid1", json={"source": "grid_worker", "type_code": "A05", "description": "占道",
                                               "location": {"lat": 27.52, "lng": 120.60, "address": "新城大道"}})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "type_code", r.json
    page = web_session(app, "grid1")
    form = page.get("/report").get_data(as_text=True)
    assert 'value="A05"' not in form and 'value="A31"' in form and 'value="A06"' in form
    assert "A05" not in {s["service_code"] for s in api.client.get("/open311/v2/services.json").json}
    assert api.event(used["id"])["type_code"] == "A05"                       # the old event keeps its row
    assert "共享单车" in web_session(app, "staff1").get(f"/events/{used['id']}").get_data(as_text=True)
    assert "人行道秩序整治（含共享单车乱停放）" in page.get("/events").get_data(as_text=True)   # the list's filter

    # a row nobody used is removed; the sensitive mark (rows 1–3) stays as the standard has it
    rows.append({"code": "A32", "no": 32, "category": "其他执法类", "content": "试用事项", "department": "zhifa"})
    assert put(api, "event_types", rows).status_code == 200
    r = put(api, "event_types", rows[:-1])
    assert r.status_code == 200 and r.json["summary"]["removed"] == ["A32"], r.json
    unmarked = copy.deepcopy(rows)
    del next(r for r in unmarked if r["code"] == "A01")["sensitive"]
    r = put(api, "event_types", unmarked)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "A01.sensitive", r.json
    moved = copy.deepcopy(rows)
    next(r for r in moved if r["code"] == "A02")["department"] = "zhifa"
    r = put(api, "event_types", moved)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "A02.department", r.json

    revisions = history(api, "event_types")
    assert [r["summary"] for r in revisions][:2] == [{"added": [], "removed": ["A32"], "changed": []},
                                                     {"added": ["A32"], "removed": [], "changed": []}]
    assert len(revisions) == 4 and revisions[0]["revision"] > revisions[-1]["revision"]
    assert put(api, "event_types", rows, user="staff1").status_code == 403
    assert put(api, "event_types", rows, user="city1").status_code == 403


def form_rows(html):
    """The B.1 form's posted fields as the page holds them (the saved rows; the blank ones empty)."""
    data, count = {}, int(re.search(r'name="rows" value="(\d+)"', html).group(1))
    for name, value in re.findall(r'<input (?:type="hidden" )?name="(\d+\.(?:code|no|name))" value="([^"]*)"', html):
        data[name] = value
    for index in range(count):
        block = re.search(rf'name="{index}\.lead"[^>]*>(.*?)</select>', html, re.S).group(1)
        data[f"{index}.lead"] = (re.search(r'<option value="([^"]+)" selected', block) or [None, "committee"])[1]
        block = re.search(rf'name="{index}\.cooperating"[^>]*>(.*?)</select>', html, re.S).group(1)
        data[f"{index}.cooperating"] = re.findall(r'<option value="([^"]+)" selected', block)
    data["rows"] = str(count)
    return data


def test_table_b1_in_the_admin_form_a_row_in_use_refused_removal_then_retired(app, api):
    used = api.report("staff1", source="one_thing", type_code="B04", description="违章搭建一件事")
    page = web_session(app, "admin1")
    html = page.get("/admin/catalogs/one_thing_matters").get_data(as_text=True)
    assert 'data-code="B04"' in html and "修改记录" in html
    data = form_rows(html)
    index = {v: k.split(".")[0] for k, v in data.items() if k.endswith(".code")}
    b03, b04 = index["B03"], index["B04"]
    data[f"{b03}.name"] = "城乡环境综合整治（含河道保洁）"
    data[f"{b03}.cooperating"] = [*data[f"{b03}.cooperating"], "shuiwu"]
    data[f"{b04}.delete"] = "1"
    blank = data["rows"]
    data.update({f"{int(blank) - 1}.code": "B11", f"{int(blank) - 1}.no": "11", f"{int(blank) - 1}.name": "电动自行车充电安全",
                 f"{int(blank) - 1}.lead": "committee", f"{int(blank) - 1}.cooperating": ["xiaofang", "gongdian"]})
    data["csrf_token"] = csrf(page, "/admin/catalogs/one_thing_matters")
    r = page.post("/admin/catalogs/one_thing_matters", data=data)
    assert r.status_code == 422, r.get_data(as_text=True)[:400]
    html = r.get_data(as_text=True)
    assert 'data-testid="errors"' in html and "B04" in html and "停用" in html
    assert "城乡环境综合整治（含河道保洁）" in html and 'value="B11"' in html      # what was typed is kept
    assert history(api, "one_thing_matters") == []                                  # nothing stored

    del data[f"{b04}.delete"]
    data[f"{b04}.retired"] = "1"
    r = page.post("/admin/catalogs/one_thing_matters", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[:400]
    rows = {row["code"]: row for row in table(api, "one_thing_matters")}
    assert rows["B04"]["retired"] is True and rows["B03"]["name"] == "城乡环境综合整治（含河道保洁）"
    assert "shuiwu" in rows["B03"]["cooperating"] and rows["B03"]["name_en"] == "urban-rural environment"  # kept
    assert rows["B11"]["cooperating"] == ["xiaofang", "gongdian"] and "retired" not in rows["B11"]
    [revision] = history(api, "one_thing_matters")
    assert revision["summary"] == {"added": ["B11"], "removed": [],
                                   "changed": ["B03: cooperating, name", "B04: retired"]}
    html = page.get("/admin/catalogs/one_thing_matters").get_data(as_text=True)
    assert f'data-revision="{revision["revision"]}"' in html and "系统管理员" in html

    r = api.post("/api/events", "staff1", json={"source": "one_thing", "type_code": "B04", "description": "又一处违建",
                                                "location": {"lat": 27.52, "lng": 120.60, "address": "新城大道"}})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "type_code", r.json
    assert api.report("staff1", source="one_thing", type_code="B11", description="充电一件事")["type_code"] == "B11"
    form = web_session(app, "staff1").get("/report").get_data(as_text=True)
    assert 'value="B04"' not in form and 'value="B11"' in form
    assert api.event(used["id"])["type_code"] == "B04"
    assert "违章建筑处置" in web_session(app, "staff1").get(f"/events/{used['id']}").get_data(as_text=True)
    assert web_session(app, "staff1").get("/admin/catalogs/one_thing_matters").status_code == 403
