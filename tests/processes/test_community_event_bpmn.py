"""processes/community_event.bpmn and its forms (DB330383/T 5—2021 Figure 1, §7.1—§8.5).

Checks the conventions the engine relies on (docs/process-conventions.md). Every path is walked by the
real engine through the HTTP API in tests/web (test_main_path.py and friends).
"""
import ast
import builtins
import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser, VALIDATOR

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
BPMN_FILE = PROCESSES / "community_event.bpmn"
PROCESS_ID = "community_event"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
LANES = {
    "社区干部/社工": "community_staff",
    "吹哨人员": "whistle_officer",
    "下沉部门人员": "stationed_staff",
    "市直部门人员": "department_staff",
}
OPERATIONS = {"dispatch_whistle", "record_overdue", "notify_source"}
OUTCOMES = {"closed", "invalid", "overdue_recorded"}
RESERVED = {"now", "deadline", "working_days", "event", "typename"}
ASSIGNEE = re.compile(r"^(community|unit:[A-Za-z_][\w.]*|person:[A-Za-z_][\w.]*)$")
START_DATA = {
    "event_id": 1,
    "event_number": "LG-2024-000001",
    "community": "c01",
    "event_type": "A05",
    "source": "grid",
    "description": "人行道被占用",
    "location": "龙港大道 1 号",
}
FLOW_NODE_TAGS = (
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "serviceTask", "scriptTask", "manualTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway", "complexGateway",
)


# ---------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def spec():
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(BPMN_FILE))
    return parser.get_spec(PROCESS_ID)


@pytest.fixture(scope="module")
def doc():
    return etree.parse(str(BPMN_FILE))


@pytest.fixture(scope="module")
def process(doc):
    [proc] = doc.xpath(f"//bpmn:process[@id='{PROCESS_ID}']", namespaces=NS)
    return proc


def flow_nodes(process):
    return [el for el in process if etree.QName(el).localname in FLOW_NODE_TAGS]


def properties(el):
    return {p.get("name"): p.get("value")
            for p in el.xpath("./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",
                              namespaces=NS)}


def load_form(user_task):
    return json.loads((PROCESSES / properties(user_task)["formJsonSchemaFilename"]).read_text("utf-8"))


# ---------------------------------------------------------------------------------------------- structure

def test_collaboration_participant_and_process(doc, process):
    [participant] = doc.xpath("//bpmn:collaboration/bpmn:participant", namespaces=NS)
    assert participant.get("name") == "龙港市社区事件流转与处置"
    assert participant.get("processRef") == PROCESS_ID
    assert process.get("name") == "社区事件流转与处置"
    assert process.get("isExecutable") == "true"
    assert len(doc.xpath("//bpmn:process", namespaces=NS)) == 1


def test_lanes_and_every_flow_node_in_exactly_one_lane(process):
    lanes = process.xpath("./bpmn:laneSet/bpmn:lane", namespaces=NS)
    assert {lane.get("name") for lane in lanes} == set(LANES)
    refs = [ref.text.strip() for lane in lanes for ref in lane.xpath("./bpmn:flowNodeRef", namespaces=NS)]
    assert sorted(refs) == sorted(el.get("id") for el in flow_nodes(process))
    assert len(refs) == len(set(refs))


def test_no_script_tasks(process):
    assert process.xpath(".//bpmn:scriptTask", namespaces=NS) == []


EXPECTED_USER_TASKS = {
    # id: (lane, assignee, form)
    "verify": ("社区干部/社工", "community", "forms/verify.json"),
    "analyse": ("社区干部/社工", "community", "forms/analyse.json"),
    "handle_locally": ("下沉部门人员", "community", "forms/local_result.json"),
    "issue_whistle": ("吹哨人员", "community", "forms/whistle.json"),
    "accept_whistle": ("市直部门人员", "unit:dispatch.lead_unit", "forms/accept.json"),
    "dispose_feedback": ("市直部门人员", "unit:dispatch.lead_unit", "forms/feedback.json"),
    "check": ("社区干部/社工", "community", "forms/check.json"),
}


def test_user_tasks_have_form_assignee_and_documentation(spec, process):
    tasks = process.xpath("./bpmn:userTask", namespaces=NS)
    assert {t.get("id") for t in tasks} == set(EXPECTED_USER_TASKS)
    for task in tasks:
        tid = task.get("id")
        props = properties(task)
        lane, assignee, form = EXPECTED_USER_TASKS[tid]
        assert props.get("assignee") == assignee and ASSIGNEE.match(assignee), tid
        assert props.get("formJsonSchemaFilename") == form, tid
        assert (PROCESSES / form).is_file(), form
        assert spec.task_specs[tid].lane == lane, tid
        documentation = spec.task_specs[tid].documentation or ""
        assert re.search(r"[\u4e00-\u9fff]", documentation) and "§" in documentation, tid


def _all_form_fields():
    fields = {}
    for path in sorted((PROCESSES / "forms").glob("*.json")):
        schema = json.loads(path.read_text("utf-8"))
        for name in schema["properties"]:
            fields.setdefault(name, set()).add(path.name)
    return fields


@pytest.mark.parametrize("path", sorted((PROCESSES / "forms").glob("*.json")), ids=lambda p: p.name)
def test_forms_are_valid_json_schema_and_follow_conventions(path):
    schema = json.loads(path.read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert re.search(r"[\u4e00-\u9fff]", schema["title"])
    props = schema["properties"]
    assert props
    assert sorted(schema["x-order"]) == sorted(props)
    assert set(schema.get("required", [])) <= set(props)
    for name, prop in props.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert name not in RESERVED and not hasattr(builtins, name), name
        assert re.search(r"[\u4e00-\u9fff]", prop["title"]), name
        assert prop.get("x-widget", "textarea") in {"textarea", "photos", "radio", "select"}, name
        if prop.get("x-widget") == "photos":
            assert prop["type"] == "array" and prop["items"]["type"] == "string", name
    # a sample answer built from the form validates
    sample = {name: {"boolean": True, "string": (props[name].get("enum") or ["x"])[0], "array": ["p/1.jpg"]}
              [props[name]["type"]] for name in props}
    Draft202012Validator(schema).validate(sample)
    assert list(Draft202012Validator(schema).iter_errors({**sample, "extra": 1}))


def test_specific_form_fields():
    def load(name):
        return json.loads((PROCESSES / "forms" / name).read_text("utf-8"))

    verify = load("verify.json")
    assert verify["properties"]["in_jurisdiction"]["title"] == "是否属于本社区"
    assert verify["properties"]["is_valid"]["title"] == "是否属实"
    assert load("analyse.json")["properties"]["can_self_handle"]["title"] == "能否自行处置"
    whistle = load("whistle.json")
    assert whistle["properties"]["lead_department"]["x-options"] == {"catalog": "departments"}
    assert whistle["properties"]["on_site"]["title"] == "是否现场处置"
    for name in ("local_result.json", "feedback.json"):
        form = load(name)
        assert form["required"] == ["result_summary"]
        assert form["properties"]["before_photos"]["x-widget"] == "photos"
    check = load("check.json")
    assert check["required"] == ["passed"]
    assert check["properties"]["rating"]["enum"] == ["满意", "基本满意", "不满意"]
    assert load("accept.json")["required"] == []


def _expressions(process):
    """(where, python expression) for every condition, timer and service parameter."""
    out = []
    for cond in process.xpath(".//bpmn:conditionExpression", namespaces=NS):
        out.append((cond.getparent().get("id"), cond.text))
    for timer in process.xpath(".//bpmn:timerEventDefinition/*", namespaces=NS):
        out.append((timer.getparent().getparent().get("id"), timer.text))
    for param in process.xpath(".//spiffworkflow:parameter", namespaces=NS):
        out.append((param.xpath("ancestor::bpmn:serviceTask", namespaces=NS)[0].get("id"), param.get("value")))
    return out


def test_expressions_only_use_known_variables(process):
    """Every name in a condition/timer/parameter is start data, a required form field or a service result:
    an unknown or optional name would raise NameError at run time (SPIFF.md)."""
    known = set(START_DATA)
    for path in (PROCESSES / "forms").glob("*.json"):
        known |= set(json.loads(path.read_text("utf-8")).get("required", []))
    known |= {op.get("resultVariable")
              for op in process.xpath(".//spiffworkflow:serviceTaskOperator", namespaces=NS)}
    for where, expression in _expressions(process):
        tree = ast.parse(expression.strip(), mode="eval")
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert names <= known, (where, names - known)


@pytest.mark.parametrize("on_site", [True, False])
def test_timer_expressions_are_quoted_iso_durations(process, on_site):
    data = {**START_DATA, "on_site": on_site}
    timers = process.xpath(".//bpmn:boundaryEvent", namespaces=NS)
    assert {t.get("attachedToRef") for t in timers} == {"accept_whistle", "dispose_feedback"}
    for timer in timers:
        assert timer.get("cancelActivity") == "false"
        [duration] = timer.xpath("./bpmn:timerEventDefinition/bpmn:timeDuration", namespaces=NS)
        value = eval(duration.text.strip(), {}, dict(data))  # noqa: S307 - our own file
        assert isinstance(value, str)
        TimerEventDefinition.parse_iso_duration(value)


def test_service_tasks(process):
    tasks = process.xpath("./bpmn:serviceTask", namespaces=NS)
    seen = {}
    for task in tasks:
        [op] = task.xpath("./bpmn:extensionElements/spiffworkflow:serviceTaskOperator", namespaces=NS)
        assert op.get("id") in OPERATIONS
        assert op.get("id") != task.get("id")  # the parser looks nodes up by id: they must not collide
        assert op.get("resultVariable")
        params = {p.get("id"): p.get("value") for p in op.xpath(".//spiffworkflow:parameter", namespaces=NS)}
        seen.setdefault(op.get("id"), []).append((task.get("id"), op.get("resultVariable"), params))
    assert seen["dispatch_whistle"] == [("dispatch_order", "dispatch", {
        "department": "lead_department", "event_type": "event_type", "community": "community"})]
    assert seen["notify_source"] == [("notify_source_closed", "notified", {"outcome": '"closed"'})]
    assert sorted(seen["record_overdue"]) == [
        ("record_overdue_accept", "overdue_accept", {"stage": '"accept"', "limit": '"PT1H" if on_site else "PT30M"'}),
        ("record_overdue_dispose", "overdue_dispose", {"stage": '"dispose"', "limit": '"PT24H"'}),
    ]


def test_end_events_carry_outcome(process):
    ends = {e.get("id"): properties(e).get("outcome") for e in process.xpath("./bpmn:endEvent", namespaces=NS)}
    assert ends == {
        "end_invalid": "invalid",
        "end_closed": "closed",
        "end_overdue_accept": "overdue_recorded",
        "end_overdue_dispose": "overdue_recorded",
    }
    assert set(ends.values()) <= OUTCOMES


def test_gateway_flows_have_condition_or_default_and_a_name(process):
    flows = process.xpath("./bpmn:sequenceFlow", namespaces=NS)
    for gateway in process.xpath("./bpmn:exclusiveGateway", namespaces=NS):
        outgoing = [f for f in flows if f.get("sourceRef") == gateway.get("id")]
        if len(outgoing) < 2:
            continue
        assert gateway.get("name"), gateway.get("id")
        for flow in outgoing:
            has_condition = flow.find("bpmn:conditionExpression", NS) is not None
            assert has_condition != (gateway.get("default") == flow.get("id")), flow.get("id")
            assert flow.get("name"), flow.get("id")


def test_diagram_interchange_is_complete(doc, process):
    shapes = {s.get("bpmnElement"): s for s in doc.xpath("//bpmndi:BPMNShape", namespaces=NS)}
    edges = {e.get("bpmnElement"): e for e in doc.xpath("//bpmndi:BPMNEdge", namespaces=NS)}
    [plane] = doc.xpath("//bpmndi:BPMNPlane", namespaces=NS)
    [collaboration] = doc.xpath("//bpmn:collaboration", namespaces=NS)
    assert plane.get("bpmnElement") == collaboration.get("id")

    expected_shapes = [el.get("id") for el in flow_nodes(process)]
    expected_shapes += [p.get("id") for p in doc.xpath("//bpmn:participant", namespaces=NS)]
    expected_shapes += [lane.get("id") for lane in process.xpath(".//bpmn:lane", namespaces=NS)]
    for element_id in expected_shapes:
        assert element_id in shapes, element_id
        assert shapes[element_id].find("dc:Bounds", NS) is not None, element_id
    for flow in process.xpath("./bpmn:sequenceFlow", namespaces=NS):
        assert flow.get("id") in edges, flow.get("id")
        assert len(edges[flow.get("id")].findall("di:waypoint", NS)) >= 2
    # labelled events, gateways and flows have their label placed
    for el in flow_nodes(process) + process.xpath("./bpmn:sequenceFlow", namespaces=NS):
        kind = etree.QName(el).localname
        if el.get("name") and (kind.endswith("Event") or kind.endswith("Gateway") or kind == "sequenceFlow"):
            di_el = shapes.get(el.get("id"), edges.get(el.get("id")))
            assert di_el.find("bpmndi:BPMNLabel/dc:Bounds", NS) is not None, el.get("id")
