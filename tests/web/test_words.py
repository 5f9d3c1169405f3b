"""Refusals in Chinese on the pages, English through the language switch (issue #20): the catalog editor (a unit
in use, a calendar date typed wrong), the account pages (a username taken, a short password), a task form sent
by its script (the reasons placed beside the fields as JSON, nothing reloaded) — and the JSON API still
answering both languages in one string, as before."""
from __future__ import annotations

import re

from lxml import html as lxml_html

from tests.web.test_sensitive import web_session

CJK = re.compile(r"[\u4e00-\u9fff]")
#: latin words in a Chinese message: none but codes (A05, LG-…) and what the test typed
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def page_of(response):
    return lxml_html.fromstring(response.get_data(as_text=True))


def form_data(doc) -> dict:
    """What the browser would post for the catalog form as shown (checked boxes only, selected options)."""
    form = doc.xpath('//form[contains(@class, "catalog")]')[0]
    data: dict[str, list[str]] = {}
    for el in form.iter("input", "select", "textarea"):
        name = el.get("name")
        if not name:
            continue
        if el.tag == "select":
            chosen = [o.get("value", o.text or "") for o in el.iter("option") if o.get("selected") is not None]
            value = chosen[0] if chosen else next((o.get("value", "") for o in el.iter("option")), "")
        elif el.tag == "textarea":
            value = el.text or ""
        elif el.get("type") in ("checkbox", "radio"):
            if el.get("checked") is None:
                continue
            value = el.get("value", "on")
        else:
            value = el.get("value", "")
        data.setdefault(name, []).append(value)
    return data


def shown_reasons(response) -> list[str]:
    """The reasons a refused admin or account page lists (its error card's lines)."""
    return [li.text_content().strip() for li in page_of(response).xpath('//*[@data-testid="errors"]//li')]


def chinese_only(text: str, allowed=()) -> bool:
    stripped = text
    for word in allowed:
        stripped = stripped.replace(word, "")
    return bool(CJK.search(text)) and not LATIN_WORD.search(stripped)


def english(client):
    r = client.post("/language", data={"lang": "en", "next": "/", "csrf_token": csrf(client, "/")})
    assert r.status_code == 302


def csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_a_unit_in_use_is_refused_in_chinese_naming_the_rows_once_per_table(app, api):
    admin = web_session(app, "admin1")
    shown = page_of(admin.get("/admin/catalogs/units"))
    data = form_data(shown)
    index = next(k.split(".")[0] for k, v in data.items() if k.endswith(".code") and v == ["zhifa"])
    data[f"{index}.delete"] = ["1"]
    r = admin.post("/admin/catalogs/units", data=data)
    assert r.status_code == 422
    reasons = shown_reasons(r)
    # 13 rows of Table A.1 and 8 of Table B.1 name the unit: one line for each table, not one per row
    assert 1 < len(reasons) <= 6, reasons
    assert all(chinese_only(reason) for reason in reasons), reasons
    table_a = next(reason for reason in reasons if reason.startswith("附录A 表A.1"))
    assert "单位「执法局」已被删除" in table_a and "等 13 行的「主管部门」" in table_a and "请先改为其他单位" in table_a
    assert any("「第一中队」的「上级单位」" in reason for reason in reasons), reasons
    english(admin)
    reasons = shown_reasons(admin.post("/admin/catalogs/units", data=data))
    assert reasons and not any(CJK.search(reason) for reason in reasons), reasons
    assert any("unknown unit 'zhifa'" in reason for reason in reasons)


def test_a_calendar_date_typed_wrong_is_named_in_words(app, api):
    admin = web_session(app, "admin1")
    data = form_data(page_of(admin.get("/admin/catalogs/calendar")))
    new = int(data["years"][0]) - 1                   # the blank year at the end
    data.update({f"y{new}.year": ["2031"], f"y{new}.holidays": ["2031/10/01\n2031-10-04"]})
    r = admin.post("/admin/catalogs/calendar", data=data)
    assert r.status_code == 422
    reasons = shown_reasons(r)
    assert reasons == ["「2031 年」的「放假日期（工作日）」第 1 项应为日期，如 2026-10-01（现为“2031/10/01”）"], reasons
    data[f"y{new}.holidays"] = ["2031-10-01\n2031-10-04"]          # the shape right: the meaning checked
    reasons = shown_reasons(admin.post("/admin/catalogs/calendar", data=data))
    assert reasons == ["「2031 年」的「放假日期（工作日）」第 2 项：2031-10-04 是周末：放假日期只列需要放假的工作日（周一至周五），"
                       "请删去"], reasons
    data[f"y{new}.holidays"] = ["2031/10/01"]
    english(admin)
    reasons = shown_reasons(admin.post("/admin/catalogs/calendar", data=data))
    assert any("does not match" in reason for reason in reasons) and not any(CJK.search(r) for r in reasons)


def test_a_catalog_edit_through_the_api_keeps_both_languages(app, api):
    rows = api.get("/api/catalogs/event_types", "admin1").json
    rows = rows.get("items", rows) if isinstance(rows, dict) else rows
    changed = [{**row, "department": "nosuchunit"} if row["code"] == "A05" else row for row in rows]
    r = api.client.put("/api/catalogs/event_types", json=changed, headers=api.headers("admin1"))
    assert r.status_code == 422
    error = next(e for e in r.json["errors"] if e["field"] == "A05.department")
    assert error["reason"].startswith("「A05 ") and "的「主管部门」：单位 nosuchunit 不存在：请先在单位目录中添加" in error["reason"]
    assert error["reason"].endswith("(event_types.json A05.department: unknown unit 'nosuchunit')")


def test_account_errors_name_the_field_in_chinese_and_in_english_after_the_switch(app, api):
    admin = web_session(app, "admin1")
    token = csrf(admin, "/admin/users")
    typed = {"csrf_token": token, "username": "grid1", "password": "short", "display_name": "新网格员",
             "roles": "grid_worker", "community": ""}
    r = admin.post("/admin/users", data=typed)
    assert r.status_code == 422
    reasons = shown_reasons(r)
    assert "「用户名」已被其他账号使用：请换一个" in reasons
    assert "「密码」至少 8 个字符，请重新设置" in reasons
    assert "所选角色在社区工作：请选择「社区」" in reasons
    assert all(chinese_only(reason) for reason in reasons), reasons
    english(admin)
    reasons = shown_reasons(admin.post("/admin/users", data={**typed, "csrf_token": csrf(admin, "/admin/users")}))
    assert "user 'grid1' already exists" in reasons and "at least 8 characters" in reasons
    # the API answers both, as before
    r = api.post("/api/users", "admin1", json={"username": "grid1", "password": "long-enough-1", "roles": ["grid_worker"],
                                                "community": "lg-xincheng"})
    assert r.status_code == 422
    assert r.json["errors"][0]["reason"] == "「用户名」已被其他账号使用：请换一个 (user 'grid1' already exists)"


def test_a_task_form_sent_by_its_script_gets_its_reasons_placed_beside_the_fields(app, api):
    event = api.report()
    task = api.task("staff1", event["id"], "verify")
    staff = web_session(app, "staff1")
    token = csrf(staff, f"/tasks/{task['id']}")
    asked = {"Accept": "application/json"}
    r = staff.post(f"/tasks/{task['id']}", data={"csrf_token": token, "verdict": "transfer"}, headers=asked)
    assert r.status_code == 422 and r.is_json
    assert r.json["stray"] == []
    assert r.json["errors"] == {"target_community": "「转办至社区」为必填项，请选择",
                                "verify_note": "「核实情况」为必填项，请填写"}, r.json
    assert api.task("staff1", event["id"], "verify")["id"] == task["id"]               # nothing done
    english(staff)
    r = staff.post(f"/tasks/{task['id']}", data={"csrf_token": token, "verdict": "transfer"}, headers=asked)
    assert r.json["errors"] == {"target_community": "target_community: required", "verify_note": "verify_note: required"}
    r = staff.post(f"/tasks/{task['id']}", data={"csrf_token": token, "verdict": "accept"}, headers=asked)
    assert r.status_code == 200 and r.json == {"redirect": "/"}
    assert "Submitted" in staff.get("/").get_data(as_text=True) or "已提交" in staff.get("/").get_data(as_text=True)
    r = staff.post(f"/tasks/{task['id']}", data={"csrf_token": token, "verdict": "accept"}, headers=asked)
    assert r.json == {"redirect": "/"}                          # done already: said on the list it goes to


def test_a_diagram_refused_by_bpmnlint_is_said_by_its_rule_in_chinese_on_the_versions_page(app, api):
    import io

    from tests.web.test_deploy import BPMN, bundle_zip
    lonely = BPMN.replace(b"</bpmn:laneSet>", '</bpmn:laneSet>\n    <bpmn:task id="lonely_task" name="孤立任务" />'.encode(), 1)
    owner = web_session(app, "owner1")

    def refused():
        r = owner.post("/admin/processes/deploy", data={"csrf_token": csrf(owner, "/admin/processes"),
                                                        "file": (io.BytesIO(bundle_zip(lonely)), "lint.zip")},
                       content_type="multipart/form-data")
        assert r.status_code == 400
        card = page_of(r).xpath('//*[@data-testid="deploy-error"]')[0]
        return card.xpath("./p")[-1].text_content().strip(), card.text_content()
    reason, card = refused()
    assert reason == "元素没有图形：请在建模器中重新放置该元素（另有 3 处）", reason
    assert "lonely_task" in card                               # the element, to find it in the modeler
    english(owner)
    reason, _card = refused()
    assert reason == "bpmnlint no-bpmndi: Element is missing bpmndi; and 3 more", reason
    # the API answers both, the English naming the rule as before
    from tests.web.test_deploy import deploy
    r = deploy(api, bundle_zip(lonely), "lint.zip")
    assert r.json["reason"] == ("元素没有图形：请在建模器中重新放置该元素（另有 3 处） "
                                "(bpmnlint no-bpmndi: Element is missing bpmndi; and 3 more)")
