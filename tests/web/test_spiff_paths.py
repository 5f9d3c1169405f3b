"""engine/runtime/spiff.py writes an instance exactly as SpiffWorkflow's own converters would
(tests/engine/test_spiff.py), and engine/runtime/tree.py walks its tree as SpiffWorkflow's iterators would
(tests/engine/test_tree.py): checked on every save and every walk of real paths through Figure 1, including
co-departments' subprocesses, timers that fire and a 撤单 message."""
from __future__ import annotations

from tests.engine.test_spiff import checked_dumps  # noqa: F401 - the fixture
from tests.engine.test_tree import checked_walks  # noqa: F401 - the fixture


def test_co_departments_parts_and_their_deadlines_serialize_as_stock(app, api, checked_dumps, checked_walks):
    event = api.report("grid1")
    api.whistle_to(event["id"], department="zhifa", co_departments=["shijian", "gongan"])
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    api.complete("police1", event["id"], "co_accept", {"accept_note": "派出所已受理"})
    api.advance("PT31M")                                   # shijian misses its accept: a timer fires
    api.complete("zhifa1", event["id"], "dispose_feedback", {"result_summary": "主办部分已处置"})
    api.complete("shijian1", event["id"], "co_accept", {})
    api.complete("police1", event["id"], "co_report", {"part_summary": "已维持现场秩序"})
    api.complete("shijian1", event["id"], "co_report", {"part_summary": "已查处无照经营"})
    api.complete("zhifa1", event["id"], "consolidate", {"result_summary": "联合处置完毕"})
    api.receive_closure(event["id"], passed=False, note="汇总反馈缺市监局的查处结果")   # 结案接收 sends it back
    api.complete("zhifa1", event["id"], "dispose_rework", {"result_summary": "已补充市监局的查处结果"})
    api.receive_closure(event["id"])
    api.complete("staff1", event["id"], "check", {"passed": False, "rating": "不满意", "check_note": "仍有占道"})
    assert len(checked_dumps) >= 12
    assert checked_walks["walks"] > 100 and checked_walks["called"] >= 12


def test_on_site_difficult_rework_and_withdrawal_serialize_as_stock(app, api, checked_dumps, checked_walks):
    event = api.report("grid1")
    api.whistle_to(event["id"], department="zhifa", on_site=True)
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    api.complete("zhifa1", event["id"], "arrive", {"arrival_location": {"lat": 27.52, "lng": 120.6},
                                                   "arrival_photo": api.photo("zhifa1", event["id"]),
                                                   "on_spot": "difficult", "difficult_reason": "需协调产权单位"})
    api.advance("P2D")
    other = api.report("grid1")
    api.complete("staff1", other["id"], "verify", {"verdict": "accept"})
    api.withdraw("grid1", other["id"])                      # a BPMN message ends the other one
    api.withdraw("grid1", event["id"])
    assert len(checked_dumps) >= 8
    assert checked_walks["walks"] > 50


def test_the_main_path_to_its_revisit_walks_as_stock(app, api, checked_walks):
    """核实 → 研判 → 吹哨 → 签收受理 → 处置反馈 → 结案接收 → 核查 → 回访: every walk and every saved state."""
    event = api.report("grid1")
    api.whistle_to(event["id"])
    api.close_whistle(event["id"])
    api.complete("staff1", event["id"], "revisit", {"revisit_reached": True, "revisit_rating": "满意"})
    assert api.event(event["id"])["status"] == "closed"
    assert checked_walks["walks"] > 50 and checked_walks["questions"] > 1000
