"""processes/: the BPMN files of Figure 1 complete (§6—§8, Appendix B) and their forms (issue #3).

Conventions the engine relies on (docs/process-conventions.md), checked on every file: lanes name roles,
every flow node sits in one lane, user tasks carry form + assignee + Chinese documentation citing a
clause, conditions have names and defaults, every expression names only variables that exist, every
end state is reachable from the start, and the diagram interchange is complete. Every path is walked
by the real engine through the HTTP API in tests/web/test_paths.py.
"""
from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from lxml import etree

from catalogs import load_catalogs
from engine.limits.deadlines import Deadlines
from engine.runtime import bundle, deploy
from engine.pool.events import STATUS_WORDS
from engine.runtime.sandbox import RESERVED_NAMES
from handlers.registry import default_registry

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
FILES = sorted(PROCESSES.glob("*.bpmn"))
TOP = "community_event"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC",
      "di": "http://www.omg.org/spec/DD/20100524/DI",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
FLOW_NODES = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
              "task", "userTask", "serviceTask", "scriptTask", "manualTask", "callActivity", "subProcess",
              "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"}
#: what the app puts into every instance at its start (engine.pool.events.initial_data)
START_DATA = {"event_id", "event_number", "community", "event_type", "source", "description", "location",
              "reporter", "reopened", "matter_code", "superior_body", "superior_deadline"}
#: every end state an event can reach besides `open`/`error`, each shown on the event
#: the ends a diagram reaches (not `terminated`: an administrator's 终止 ends any process from outside it,
#: engine/casework/administration.py)
END_STATES = set(STATUS_WORDS) - {"open", "error", "terminated"}


def local(el):
    return etree.QName(el).localname


@pytest.fixture(scope="module")
def docs():
    return {path.name: etree.parse(str(path)) for path in FILES}


@pytest.fixture(scope="module")
def processes(docs):
    return {p.get("id"): (name, p) for name, doc in docs.items()
            for p in doc.xpath("//bpmn:process", namespaces=NS)}


def nodes(process):
    return [el for el in process.iter() if isinstance(el.tag, str) and local(el) in FLOW_NODES]


def props(el):
    return {p.get("name"): p.get("value") for p in el.xpath(
        "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=NS)}


def form_of(task):
    return json.loads((PROCESSES / props(task)["formJsonSchemaFilename"]).read_text("utf-8"))


def test_the_bundle_deploys_with_every_check_of_the_engine():
    catalogs = load_catalogs()
    key, files, meta = deploy.plan(bundle.from_directory(PROCESSES), catalogs, default_registry(), Deadlines(catalogs))
    assert key == TOP
    assert {p for p in files if p.endswith(".bpmn")} == {p.name for p in FILES}
    forms_used = {p for p in files if p.endswith(".json")}
    assert forms_used == {f"forms/{p.name}" for p in (PROCESSES / "forms").glob("*.json")}, "an unused form"


def test_element_ids_are_unique_across_files(docs, processes):
    """The engine keys task metadata, work items and timers by element id across the whole bundle."""
    seen = defaultdict(list)
    for name, doc in docs.items():
        for process in doc.xpath("//bpmn:process", namespaces=NS):
            for el in [process, *nodes(process), *process.xpath(".//bpmn:sequenceFlow", namespaces=NS)]:
                seen[el.get("id")].append(name)
    assert {i: f for i, f in seen.items() if len(f) > 1} == {}


def test_every_lane_names_a_role_and_every_flow_node_sits_in_one_lane(processes):
    catalogs = load_catalogs()
    for pid, (name, process) in processes.items():
        lanes = process.xpath("./bpmn:laneSet/bpmn:lane", namespaces=NS)
        assert lanes, f"{name}: process {pid} has no lanes"
        for lane in lanes:
            assert catalogs.role(lane.get("name")) is not None, (name, lane.get("name"))
        refs = [r.text.strip() for lane in lanes for r in lane.xpath("./bpmn:flowNodeRef", namespaces=NS)]
        assert len(refs) == len(set(refs)), name
        assert sorted(refs) == sorted(el.get("id") for el in nodes(process)), name


def test_user_tasks_have_form_assignee_and_chinese_documentation(processes):
    for _pid, (name, process) in processes.items():
        for task in process.xpath(".//bpmn:userTask", namespaces=NS):
            p = props(task)
            assert deploy.ASSIGNEE.match(p.get("assignee", "")), (name, task.get("id"))
            assert (PROCESSES / p["formJsonSchemaFilename"]).is_file(), task.get("id")
            [doc] = task.xpath("./bpmn:documentation", namespaces=NS)
            assert re.search(r"[\u4e00-\u9fff]", doc.text) and "§" in doc.text, task.get("id")
            assert re.search(r"[\u4e00-\u9fff]", task.get("name")), task.get("id")


def test_no_script_tasks_and_service_task_ids_differ_from_their_operations(processes):
    registry = default_registry()
    for _pid, (name, process) in processes.items():
        assert process.xpath(".//bpmn:scriptTask", namespaces=NS) == [], name
        for task in process.xpath(".//bpmn:serviceTask", namespaces=NS):
            [op] = task.xpath(".//spiffworkflow:serviceTaskOperator", namespaces=NS)
            assert op.get("id") in registry and op.get("id") != task.get("id"), task.get("id")
            assert op.get("resultVariable"), task.get("id")


@pytest.mark.parametrize("path", sorted((PROCESSES / "forms").glob("*.json")), ids=lambda p: p.name)
def test_forms_follow_the_conventions(path):
    schema = json.loads(path.read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert re.search(r"[\u4e00-\u9fff]", schema["title"])
    assert sorted(schema["x-order"]) == sorted(schema["properties"])
    assert set(schema.get("required", [])) <= set(schema["properties"])
    for field, prop in schema["properties"].items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", field) and field not in RESERVED_NAMES, field
        assert re.search(r"[\u4e00-\u9fff]", prop["title"]), field
        if prop.get("x-widget") == "photos":
            assert prop["type"] == "array" and prop["items"]["type"] == "string", field
        if prop.get("x-widget") == "photo":
            assert prop["type"] == "string", field
        if field.endswith(("_photo", "_photos")):   # a photo field is checked against the event's photos
            assert prop.get("x-widget") in ("photo", "photos"), field


def _flows_out(process, gateway_id):
    return [f for f in process.xpath(".//bpmn:sequenceFlow", namespaces=NS) if f.get("sourceRef") == gateway_id]


def test_deciding_gateways_name_every_way_and_have_a_default(processes):
    for _pid, (_name, process) in processes.items():
        for gateway in process.xpath(".//bpmn:exclusiveGateway", namespaces=NS):
            outgoing = _flows_out(process, gateway.get("id"))
            if len(outgoing) < 2:
                assert not gateway.get("name"), f"{gateway.get('id')}: a joining gateway has no name"
                continue
            assert gateway.get("name") and gateway.get("default"), gateway.get("id")
            for flow in outgoing:
                has_condition = flow.find("bpmn:conditionExpression", NS) is not None
                assert has_condition != (gateway.get("default") == flow.get("id")), flow.get("id")
                assert flow.get("name"), flow.get("id")


def _known_variables(processes) -> set[str]:
    """Start data, every required or defaulted form field, service results, multi-instance items and
    message variables: the only names an expression may use without risking a NameError."""
    known = set(START_DATA)
    for path in (PROCESSES / "forms").glob("*.json"):
        schema = json.loads(path.read_text("utf-8"))
        known |= set(schema.get("required", []))
        known |= {n for n, p in schema["properties"].items() if "default" in p}
    for _, (_, process) in processes.items():
        known |= {op.get("resultVariable") for op in process.xpath(".//spiffworkflow:serviceTaskOperator",
                                                                  namespaces=NS)}
        known |= {item.get("name") for item in process.xpath(".//bpmn:inputDataItem", namespaces=NS)}
    for doc_root in {p.getroottree() for _, p in processes.values()}:
        known |= {v.text for v in doc_root.xpath("//spiffworkflow:messageVariable", namespaces=NS)}
    return known


def _expressions(process):
    for cond in process.xpath(".//bpmn:conditionExpression", namespaces=NS):
        yield cond.getparent().get("id"), cond.text
    for timer in process.xpath(".//bpmn:timerEventDefinition/*", namespaces=NS):
        yield timer.getparent().getparent().get("id"), timer.text
    for param in process.xpath(".//spiffworkflow:parameter", namespaces=NS):
        yield param.xpath("ancestor::bpmn:serviceTask", namespaces=NS)[0].get("id"), param.get("value")


def test_expressions_only_use_variables_that_exist(processes):
    """A name used only where it is set (e.g. `on_spot` on the on-site branch) is guarded by the
    expression itself (`on_site and on_spot == …`); the conditional-required form fields are listed."""
    known = _known_variables(processes) | {
        "target_community", "verify_note", "stationed_unit", "resolved", "return_code", "return_reason", "on_spot", "len",
        "deadline", "now"}
    for _pid, (name, process) in processes.items():
        for where, expression in _expressions(process):
            tree = ast.parse(expression.strip(), mode="eval")
            names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
            assert names <= known, (name, where, names - known)


def test_timers_are_non_interrupting_and_lead_to_a_machine_only_record(processes):
    """Escalation branches never leave a human task behind (issue #3 "Also")."""
    for _pid, (_name, process) in processes.items():
        for timer in process.xpath(".//bpmn:boundaryEvent[bpmn:timerEventDefinition]", namespaces=NS):
            assert timer.get("cancelActivity") == "false", timer.get("id")
            path, current = [], timer.get("id")
            while True:
                [flow] = _flows_out(process, current)
                target = process.xpath(f".//*[@id='{flow.get('targetRef')}']", namespaces=NS)[0]
                path.append(local(target))
                if local(target) == "endEvent":
                    assert props(target).get("outcome") == "overdue_recorded", target.get("id")
                    break
                assert local(target) == "serviceTask", (timer.get("id"), path)
                current = target.get("id")


def _graph(processes):
    """Edges of the whole bundle: sequence flows, activity → its boundary events, call activity →
    the called process's start events (and its ends → back to the activity's outgoing flows)."""
    edges = defaultdict(set)
    for _pid, (_, process) in processes.items():
        for flow in process.xpath(".//bpmn:sequenceFlow", namespaces=NS):
            edges[flow.get("sourceRef")].add(flow.get("targetRef"))
        for boundary in process.xpath(".//bpmn:boundaryEvent", namespaces=NS):
            edges[boundary.get("attachedToRef")].add(boundary.get("id"))
        for call in process.xpath(".//bpmn:callActivity", namespaces=NS):
            _, called = processes[call.get("calledElement")]
            for start in called.xpath("./bpmn:startEvent", namespaces=NS):
                edges[call.get("id")].add(start.get("id"))
    return edges


def test_every_end_state_is_reachable_from_the_start(processes):
    edges = _graph(processes)
    _, top = processes[TOP]
    seen, todo = set(), [s.get("id") for s in top.xpath("./bpmn:startEvent", namespaces=NS)]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(edges[current])
    outcomes = {}
    for _pid, (name, process) in processes.items():
        for end in process.xpath(".//bpmn:endEvent", namespaces=NS):
            assert end.get("id") in seen, f"{name}: end event {end.get('id')} cannot be reached"
            if props(end).get("outcome"):
                outcomes.setdefault(props(end)["outcome"], []).append(end.get("id"))
    assert set(outcomes) == END_STATES | {"overdue_recorded"}


def test_diagram_interchange_is_complete(docs):
    for name, doc in docs.items():
        shapes = {s.get("bpmnElement") for s in doc.xpath("//bpmndi:BPMNShape[dc:Bounds]", namespaces=NS)}
        edges = {e.get("bpmnElement"): e for e in doc.xpath("//bpmndi:BPMNEdge", namespaces=NS)}
        expected = [el.get("id") for el in doc.xpath("//bpmn:participant | //bpmn:lane", namespaces=NS)]
        for process in doc.xpath("//bpmn:process", namespaces=NS):
            expected += [el.get("id") for el in nodes(process)]
            for flow in process.xpath(".//bpmn:sequenceFlow", namespaces=NS):
                assert flow.get("id") in edges, (name, flow.get("id"))
                assert len(edges[flow.get("id")].findall("di:waypoint", NS)) >= 2, flow.get("id")
        assert set(expected) <= shapes, (name, set(expected) - shapes)
