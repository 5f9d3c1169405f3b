"""The pages of issue #19 through a signed-in browser session (Flask's test client with the sign-in form and its
CSRF token): 待办's 批量签收 (the checkboxes of the 签收受理 and one button; the page says which were accepted and
which refused), the return form's coded reason (a refused return keeps what was typed), and the city's 退回
page (counts per unit and reason, the returns, a ruling refused with what was typed kept, then made)."""
from __future__ import annotations

import re

from tests.web.test_returns import DAY, returned
from tests.web.test_sensitive import web_session
from tests.web.test_ui_pages import csrf

PERIOD = {"from": "2026-10-08", "to": "2026-10-08"}


def flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash [^"]*"[^>]*>([^<]*)</p>', html)


def test_todo_accepts_the_picked_orders_and_says_which_were_refused(app, api):
    events = [api.report(description=f"批量签收页面 {n}") for n in range(3)]
    for event in events:
        api.whistle_to(event["id"])
    other = api.report(description="市监局的签收受理")
    api.whistle_to(other["id"], department="shijian")
    ids = [api.task("zhifa1", e["id"], "accept_whistle")["id"] for e in events]
    page = web_session(app, "zhifa1")
    html = page.get("/").get_data(as_text=True)
    assert 'id="batch-accept"' in html
    assert all(f'name="task_ids" value="{i}" form="batch-accept"' in html for i in ids)
    token = csrf(page, "/")
    shijian = api.task("shijian1", other["id"], "accept_whistle")["id"]
    r = page.post("/tasks/batch/accept", data={"csrf_token": token, "task_ids": [ids[0], ids[1], shijian],
                                                "next": "/?light=green"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/?light=green")     # back to the list as it was
    said = flashes(page.get("/").get_data(as_text=True))
    assert said == [f"已签收 2 件：{events[0]['number']}、{events[1]['number']}",
                    "未签收 （未知事件）：不是您的待办：任务不存在，或属于其他单位、社区"]
    assert [t["name"] for t in api.tasks("zhifa1", events[2]["id"])] == ["accept_whistle"]
    r = page.post("/tasks/batch/accept", data={"csrf_token": token})                  # nothing picked
    assert r.status_code == 302 and flashes(page.get("/").get_data(as_text=True)) == ["请至少选择一件待办"]


def test_a_return_on_the_task_page_needs_its_coded_reason_and_keeps_what_was_typed(app, api):
    event = api.report()
    api.whistle_to(event["id"], department="shijian")
    task = api.task("shijian1", event["id"], "accept_whistle")
    page = web_session(app, "shijian1")
    html = page.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "退回原因" in html and "不属本单位职责" in html and "其他" in html
    token = csrf(page, f"/tasks/{task['id']}")
    r = page.post(f"/tasks/{task['id']}", data={"csrf_token": token, "decision": "return", "return_code": "other",
                                                  "return_reason": ""})
    assert r.status_code == 422 and 'data-field="return_reason"' in r.get_data(as_text=True)
    r = page.post(f"/tasks/{task['id']}", data={"csrf_token": token, "decision": "return",
                                                  "return_reason": "没选原因的理由"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'data-field="return_code"' in html and "没选原因的理由" in html
    assert api.task("shijian1", event["id"], "accept_whistle")["id"] == task["id"]


def test_the_city_sees_returns_per_unit_and_rules_one_on_the_page(app, api):
    event = api.report()
    api.whistle_to(event["id"], department="shijian")
    returned(api, "shijian1", event["id"], "incomplete")
    assert web_session(app, "staff1").get("/returns").status_code == 403
    page = web_session(app, "city1")
    assert 'href="/returns"' in page.get("/").get_data(as_text=True)            # in the city's menu
    html = page.get("/returns", query_string=PERIOD).get_data(as_text=True)
    assert 'data-testid="returns-summary"' in html and "市监局" in html and "信息不全" in html
    assert event["number"] in html and "市监局 办事员" in html and "shijian1" not in html
    [return_id] = [r["id"] for r in api.get("/api/returns", "city1", query_string=DAY).json["items"]]
    token = csrf(page, "/returns")
    r = page.post(f"/returns/{return_id}/ruling", data={"csrf_token": token, "verdict": "unreasonable",
                                                        "note": "x", "next": "/returns?from=2026-10-08&to=2026-10-08"},
                  query_string=PERIOD)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "「裁定理由」" in html and ">x</textarea>" in html   # named; what was typed, kept
    r = page.post(f"/returns/{return_id}/ruling", data={"csrf_token": token, "verdict": "unreasonable",
                                                        "note": "信息已足够，应予受理",
                                                        "next": "/returns?from=2026-10-08&to=2026-10-08"})
    assert r.status_code == 302
    html = page.get("/returns", query_string=PERIOD).get_data(as_text=True)
    assert "已裁定" in html and 'data-testid="ruling"' in html and "信息已足够，应予受理" in html
    assert api.get("/api/returns/summary", "city1", query_string=DAY).json["units"][0]["unreasonable"] == 1
