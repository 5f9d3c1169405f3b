"""engine/runtime/spiff.py writes an instance exactly as SpiffWorkflow's own converters and JSON encoder
would, only faster (it is on every save). `checked_dumps` compares every save a test makes: here on values
JSON lacks, in tests/engine/test_mechanics.py on the small processes of tests/data, and in
tests/web/test_spiff_paths.py on real paths through Figure 1."""
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
