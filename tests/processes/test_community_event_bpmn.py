"""processes/community_event.bpmn and its forms (DB330383/T 5—2021 Figure 1, §7.1—§8.5).

Checks the conventions the engine relies on (docs/process-conventions.md) and walks the process in memory
with a stand-in script engine; the real engine (engine/) is tested elsewhere.
"""
import ast
import builtins
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser, VALIDATOR
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

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


class FakeServices(PythonScriptEngine):
    """Stand-in for the real engine's service layer: records calls, returns canned JSON strings."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def call_service(self, task, operation_name, operation_params):
        params = {name: p["value"] for name, p in operation_params.items()}
        self.calls.append((operation_name, params))
        if operation_name == "dispatch_whistle":
            return json.dumps({"lead_unit": "gongan", "department": params["department"]})
        if operation_name == "record_overdue":
            return json.dumps({"recorded": True, "stage": params["stage"]})
        if operation_name == "notify_source":
            return json.dumps({"sent": True})
        raise AssertionError(f"unexpected operation {operation_name}")


class Run:
    def __init__(self, spec):
        self.services = FakeServices()
        self.wf = BpmnWorkflow(spec, script_engine=self.services)
        self.wf.task_tree.data.update(START_DATA)
        self.wf.do_engine_steps()

    def ready(self):
        return [t for t in self.wf.get_tasks(state=TaskState.READY, manual=True)]

    def ready_names(self):
        return sorted(t.task_spec.name for t in self.ready())

    def complete(self, name, **data):
        tasks = self.ready()
        assert [t.task_spec.name for t in tasks] == [name], f"expected only {name} ready, got {self.ready_names()}"
        task = tasks[0]
        task.data.update(data)
        task.run()
        self.wf.do_engine_steps()
        return task

    def waiting_timer(self, name):
        [timer] = [t for t in self.wf.get_tasks(state=TaskState.WAITING) if t.task_spec.name == name]
        return timer

    def fire_timer(self, name):
        timer = self.waiting_timer(name)
        timer._set_internal_data(event_value=(datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat())
        self.wf.refresh_timers()
        self.wf.do_engine_steps()

    def finished_outcomes(self):
        """Outcomes of the end events reached (what the engine copies to the event's status)."""
        return [t.task_spec.extensions["properties"]["outcome"]
                for t in self.wf.get_tasks(state=TaskState.COMPLETED)
                if type(t.task_spec).__name__ == "EndEvent"]

    def calls(self, operation):
        return [params for op, params in self.services.calls if op == operation]


VERIFIED = dict(in_jurisdiction=True, is_valid=True, verify_note="属实")
FEEDBACK = dict(result_summary="已清理占道物品", before_photos=["p/1.jpg"], after_photos=["p/2.jpg"])


def due_in(run, timer_name):
    due = datetime.fromisoformat(run.waiting_timer(timer_name).internal_data["event_value"])
    return due - datetime.now(timezone.utc)


# ---------------------------------------------------------------------------------------------- running

def test_whistle_path_reaches_closed(spec):
    run = Run(spec)
    assert run.ready_names() == ["verify"]
    run.complete("verify", **VERIFIED)
    run.complete("analyse", can_self_handle=False, analysis_note="需执法局处置")
    [whistle] = run.ready()
    assert whistle.task_spec.name == "issue_whistle" and whistle.task_spec.lane == "吹哨人员"
    run.complete("issue_whistle", lead_department="zhifa", on_site=False, whistle_reason="占道经营反复")

    assert run.calls("dispatch_whistle") == [{"department": "zhifa", "event_type": "A05", "community": "c01"}]
    [accept] = run.ready()
    assert accept.task_spec.name == "accept_whistle" and accept.task_spec.lane == "市直部门人员"
    assert accept.data["dispatch"]["lead_unit"] == "gongan"
    assert timedelta(minutes=29) < due_in(run, "timer_accept") <= timedelta(minutes=30)  # §8.3 non-on-site

    run.complete("accept_whistle", accept_note="已受理")
    assert run.ready_names() == ["dispose_feedback"]
    assert timedelta(hours=23, minutes=59) < due_in(run, "timer_dispose") <= timedelta(hours=24)  # §8.3
    run.complete("dispose_feedback", **FEEDBACK)
    [check] = run.ready()
    assert check.task_spec.name == "check" and check.task_spec.lane == "社区干部/社工"
    run.complete("check", passed=True, rating="满意")

    assert run.wf.is_completed()
    assert run.finished_outcomes() == ["closed"]
    assert run.calls("notify_source") == [{"outcome": "closed"}]
    assert run.calls("record_overdue") == []
    assert run.wf.data["notified"] == {"sent": True}


def test_whistle_rework_loops_back_to_dispose_feedback(spec):
    run = Run(spec)
    run.complete("verify", **VERIFIED)
    run.complete("analyse", can_self_handle=False)
    run.complete("issue_whistle", lead_department="zhifa", on_site=True)
    run.complete("accept_whistle")
    first = run.complete("dispose_feedback", **FEEDBACK)
    run.complete("check", passed=False, check_note="仍有占道")
    [again] = run.ready()
    assert again.task_spec.name == "dispose_feedback" and again.id != first.id  # 重办: a new task
    assert again.data["result_summary"] == FEEDBACK["result_summary"]  # previous result visible
    assert [t.task_spec.name for t in run.wf.get_tasks(state=TaskState.WAITING)] == ["timer_dispose"]
    run.complete("dispose_feedback", **FEEDBACK)
    run.complete("check", passed=True)
    assert run.finished_outcomes() == ["closed"]
    assert len(run.calls("dispatch_whistle")) == 1


def test_self_handle_path_and_rework(spec):
    run = Run(spec)
    run.complete("verify", **VERIFIED)
    run.complete("analyse", can_self_handle=True, analysis_note="社区可处置")
    [local] = run.ready()
    assert local.task_spec.name == "handle_locally" and local.task_spec.lane == "下沉部门人员"
    run.complete("handle_locally", **FEEDBACK)
    run.complete("check", passed=False, check_note="照片不清")
    assert run.ready_names() == ["handle_locally"]  # 重办
    run.complete("handle_locally", **FEEDBACK)
    run.complete("check", passed=True)
    assert run.wf.is_completed()
    assert run.finished_outcomes() == ["closed"]
    assert run.calls("dispatch_whistle") == []
    assert run.calls("notify_source") == [{"outcome": "closed"}]


@pytest.mark.parametrize("verified", [
    dict(in_jurisdiction=False, is_valid=True),
    dict(in_jurisdiction=True, is_valid=False),
])
def test_not_verified_ends_invalid(spec, verified):
    run = Run(spec)
    run.complete("verify", **verified)
    assert run.wf.is_completed()
    assert run.finished_outcomes() == ["invalid"]
    assert run.services.calls == []


def test_overdue_timers_record_and_do_not_interrupt(spec):
    run = Run(spec)
    run.complete("verify", **VERIFIED)
    run.complete("analyse", can_self_handle=False)
    run.complete("issue_whistle", lead_department="gongan", on_site=True)
    assert timedelta(minutes=59) < due_in(run, "timer_accept") <= timedelta(hours=1)  # §8.3 on-site

    run.fire_timer("timer_accept")
    assert run.calls("record_overdue") == [{"stage": "accept", "limit": "PT1H"}]
    assert run.ready_names() == ["accept_whistle"]  # non-interrupting
    assert run.finished_outcomes() == ["overdue_recorded"]
    assert not run.wf.is_completed()

    run.complete("accept_whistle")
    run.fire_timer("timer_dispose")
    assert run.calls("record_overdue")[-1] == {"stage": "dispose", "limit": "PT24H"}
    assert run.ready_names() == ["dispose_feedback"]
    run.complete("dispose_feedback", **FEEDBACK)
    run.complete("check", passed=True)
    assert run.wf.is_completed()
    assert sorted(run.finished_outcomes()) == ["closed", "overdue_recorded", "overdue_recorded"]


def test_serializes_mid_process(spec):
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    run = Run(spec)
    run.complete("verify", **VERIFIED)
    run.complete("analyse", can_self_handle=False)
    run.complete("issue_whistle", lead_department="gongan", on_site=False)
    wf = serializer.deserialize_json(serializer.serialize_json(run.wf))
    wf.script_engine = run.services
    run.wf = wf
    run.complete("accept_whistle")
    run.complete("dispose_feedback", **FEEDBACK)
    run.complete("check", passed=True)
    assert run.finished_outcomes() == ["closed"]


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
