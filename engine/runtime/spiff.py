"""SpiffWorkflow set-up in one place: the parser (with clock-aware timers) and the serializer that
stores an instance without its spec (the spec is shared per version; SPIFF.md, serialization.rst).
"""
from __future__ import annotations

import json
from uuid import UUID

import orjson

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import (BpmnSubWorkflowConverter, BpmnWorkflowConverter,
                                                             WorkflowConverter)
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, IntermediateCatchEvent, StartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (DurationTimerEventDefinition,
                                                              TimeDateEventDefinition)
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.event_parsers import (SpiffBoundaryEventParser,
                                                      SpiffIntermediateCatchEventParser,
                                                      SpiffStartEventParser)
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine.runtime import tree
from engine.runtime.timers import STOCK_NAMES, ClockTimerParserMixin


#: BPMN is parsed without entity expansion or network access (no XXE from an uploaded diagram).
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True)


class _Start(ClockTimerParserMixin, SpiffStartEventParser):
    pass


class _Catch(ClockTimerParserMixin, SpiffIntermediateCatchEventParser):
    pass


class _Boundary(ClockTimerParserMixin, SpiffBoundaryEventParser):
    pass


class EventflowParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("startEvent"): (_Start, StartEvent),
        full_tag("intermediateCatchEvent"): (_Catch, IntermediateCatchEvent),
        full_tag("boundaryEvent"): (_Boundary, BoundaryEvent),
    }


def make_parser(validate: bool = True) -> EventflowParser:
    return EventflowParser(validator=VALIDATOR if validate else None)


class _OnePass:
    """`get_tasks` and the refresh of waiting tasks after each completed task, walked in one pass
    (engine/runtime/tree.py); a question `tree.walk` does not know goes to SpiffWorkflow's iterator."""

    def get_tasks(self, first_task=None, **kwargs):
        if first_task is None and kwargs.keys() <= tree.KNOWN:
            return list(tree.walk(self, **kwargs))
        return super().get_tasks(first_task, **kwargs)

    def update_waiting_tasks(self):
        for task in tree.walk(self, TaskState.WAITING, subprocesses=False):
            task.task_spec._update(task)


class Workflow(_OnePass, BpmnWorkflow):
    """The instance: SpiffWorkflow's BpmnWorkflow, its called processes `SubWorkflow`s, its tree walked in one
    pass. Stored under the stock type names: an instance's JSON is SpiffWorkflow's own."""

    def create_subprocess(self, my_task, spec_name):
        subprocess = SubWorkflow(self.subprocess_specs[spec_name], parent_task_id=my_task.id, top_workflow=self)
        self.subprocesses[my_task.id] = subprocess
        return subprocess


class SubWorkflow(_OnePass, BpmnSubWorkflow):
    """A called process of a `Workflow`."""


def _id_text(top_workflow):
    """str(uuid) for the tasks of a workflow and its subprocesses, remembered on the workflow (a task id
    never changes; formatting a UUID is most of what serializing a task tree costs)."""
    memo = top_workflow.__dict__.setdefault("_eventflow_id_text", {})

    def text(uuid):
        found = memo.get(uuid)
        if found is None:
            found = memo[uuid] = str(uuid)
        return found
    return text


def _tasks_dict(registry, workflow, text) -> dict:
    """What SpiffWorkflow's TaskConverter writes for every task of `workflow`, without the registry's
    per-value dispatch (task data is left to the JSON encoder, as the stock encoder mode does)."""
    typenames, clean, tasks, out = registry.typenames, registry.clean, workflow.tasks, {}
    updated, deleted = DeepMerge.get_updated_keys, DeepMerge.get_deleted_keys
    for uuid, task in tasks.items():
        parent = tasks.get(task._parent) if task._parent is not None else None   # as Task.parent finds it
        if parent is None:
            data, delta = task.data, {}
        else:
            data, delta = {}, {"updates": updated(parent.data, task.data), "deletions": deleted(parent.data, task.data)}
        key = text(uuid)
        out[key] = {"id": key, "parent": text(task._parent) if parent is not None else None,
                    "children": [text(child) for child in task._children],
                    "last_state_change": task.last_state_change, "state": task._state,
                    "task_spec": task.task_spec.name, "triggered": task.triggered,
                    "internal_data": clean(task.internal_data) if task.internal_data else {},
                    "data": data, "delta": delta, "typename": typenames[type(task)]}
    return out


class SharedSpecWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the spec out of the stored instance; `specs=(spec, subprocess_specs)` puts it back.

    `to_dict` writes exactly what SpiffWorkflow's converters write (tests/engine/test_spiff.py compares
    the two on every step of the processes), in about half the time: it is on every save."""

    def to_dict(self, workflow):
        registry = self.registry
        text = _id_text(workflow)
        dct = self._common(workflow, text)
        subprocesses = {}
        for uuid, sub in workflow.subprocesses.items():
            sub_dct = self._common(sub, text)
            sub_dct.update(parent_task_id=text(sub.parent_task_id), spec=sub.spec.name,
                           typename=registry.typenames[type(sub)])
            subprocesses[text(uuid)] = sub_dct
        dct["subprocesses"] = subprocesses
        dct["bpmn_events"] = registry.convert(workflow.bpmn_events)
        return dct

    def _common(self, workflow, text) -> dict:
        """WorkflowConverter.to_dict: what a workflow and its subprocesses have alike."""
        registry = self.registry
        return {"data": registry.convert(registry.clean(workflow.data)), "correlations": workflow.correlations,
                "last_task": text(workflow.last_task.id) if workflow.last_task is not None else None,
                "success": workflow.success, "completed": workflow.completed,
                "tasks": _tasks_dict(registry, workflow, text), "root": text(workflow.task_tree.id)}

    def stock_to_dict(self, workflow):
        """The same through SpiffWorkflow's own converters (kept for the test that compares them)."""
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, specs=None):
        if specs is None:  # an instance stored with its spec embedded
            return super().from_dict(dct)
        spec, subprocess_specs = specs
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _named(converter, stock_name):
    """A converter that stores its class under SpiffWorkflow's own type name."""
    def build(target_class, registry):
        return converter(target_class, registry, typename=stock_name)
    return build


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config.pop(TimeDateEventDefinition, None)
    config.pop(DurationTimerEventDefinition, None)
    for cls, stock_name in STOCK_NAMES.items():
        config[cls] = _named(TimerConditionalEventDefinitionConverter, stock_name)
    config[BpmnWorkflow] = SharedSpecWorkflowConverter
    # ours last: a stored instance comes back as a `Workflow`, its called processes as `SubWorkflow`s
    config[Workflow] = _named(SharedSpecWorkflowConverter, "BpmnWorkflow")
    config[SubWorkflow] = _named(BpmnSubWorkflowConverter, "BpmnSubWorkflow")
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


SERIALIZER = _make_serializer()
SERIALIZER_VERSION = SERIALIZER.VERSION


_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


#: what the stock JSON encoder does with a value JSON lacks (a datetime in task data, a set …)
_DEFAULT = SERIALIZER._encoder_cls().default


def dump(workflow) -> str:
    """The instance as JSON, as SpiffWorkflow's serialize_json writes it (its dict, its encoder for
    datetimes and sets), encoded by orjson; anything orjson refuses (an integer past 64 bits) takes
    the stock json path."""
    registry = SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = SERIALIZER.to_dict(workflow)
        dct[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
    finally:
        registry._encoder_mode = False
    try:
        return orjson.dumps(dct, default=_DEFAULT, option=_ORJSON_OPTIONS).decode()
    except TypeError:
        return json.dumps(dct, cls=SERIALIZER._encoder_cls)


def load(state: str, spec, subprocess_specs):
    dct = orjson.loads(state)
    SERIALIZER.migrate(dct)
    return SERIALIZER.registry.restore(dct, specs=(spec, subprocess_specs))
