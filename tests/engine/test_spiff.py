"""engine/runtime/spiff.py writes an instance exactly as SpiffWorkflow's own converters and JSON encoder
would, only faster (it is on every save): checked on every save of real paths through Figure 1,
including co-departments' subprocesses, timers that fire and a 撤单 message."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.runtime import spiff
from tests.conftest import PROCESSES


def stock_json(workflow) -> str:
    """The instance through SpiffWorkflow's own TaskConverter/WorkflowConverter and json encoder."""
    serializer = spiff.SERIALIZER
    converter = serializer.registry.convert_to_dict[serializer.registry.typenames[BpmnWorkflow]].args[1].__self__
    serializer.registry._encoder_mode = True
    try:
        dct = converter.stock_to_dict(workflow)
        dct["typename"] = serializer.registry.typenames[BpmnWorkflow]
        dct[serializer.VERSION_KEY] = serializer.VERSION
    finally:
        serializer.registry._encoder_mode = False
    return json.dumps(dct, cls=serializer._encoder_cls)


@pytest.fixture
def checked_dumps(monkeypatch):
    """Every save made while the test runs is compared with SpiffWorkflow's own serialization."""
    compared = []
    fast = spiff.dump

    def dump(workflow):
        written = fast(workflow)
        assert json.loads(written) == json.loads(stock_json(workflow))
        compared.append(workflow)
        return written
    monkeypatch.setattr(spiff, "dump", dump)
    return compared


def test_co_departments_parts_and_their_deadlines_serialize_as_stock(app, api, checked_dumps):
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
    api.complete("staff1", event["id"], "check", {"passed": False, "rating": "不满意", "check_note": "仍有占道"})
    assert len(checked_dumps) >= 12


def test_on_site_difficult_rework_and_withdrawal_serialize_as_stock(app, api, checked_dumps):
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


def test_values_json_lacks_keep_their_stock_form_and_big_integers_still_store():
    """A datetime in task data keeps SpiffWorkflow's typed form; an integer orjson cannot hold takes
    the stock json path; both load back."""
    parser = spiff.make_parser(validate=False)
    parser.add_bpmn_files(sorted(str(p) for p in PROCESSES.glob("*.bpmn")))
    spec, subprocess_specs = parser.get_spec("community_event"), parser.get_subprocess_specs("community_event")
    workflow = BpmnWorkflow(spec, subprocess_specs)
    when = datetime(2026, 10, 8, 1, 0, tzinfo=timezone.utc)
    workflow.task_tree.data.update(when=when, big=2 ** 70, codes={"A05"})
    written = spiff.dump(workflow)
    assert json.loads(written) == json.loads(stock_json(workflow))
    loaded = spiff.load(written, spec, subprocess_specs)
    assert loaded.task_tree.data["when"] == when and loaded.task_tree.data["big"] == 2 ** 70
    assert loaded.task_tree.data["codes"] == ["A05"]                     # a set is stored as a list
