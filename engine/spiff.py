"""SpiffWorkflow set-up in one place: the parser (with clock-aware timers) and the serializer that
stores an instance without its spec (the spec is shared per version; SPIFF.md, serialization.rst).
"""
from __future__ import annotations

from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, IntermediateCatchEvent, StartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (DurationTimerEventDefinition,
                                                              TimeDateEventDefinition)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.event_parsers import (SpiffBoundaryEventParser,
                                                      SpiffIntermediateCatchEventParser,
                                                      SpiffStartEventParser)
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.timers import STOCK_NAMES, ClockTimerParserMixin


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


class SharedSpecWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the spec out of the stored instance; `specs=(spec, subprocess_specs)` puts it back."""

    def to_dict(self, workflow):
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


def _timer_converter(stock_name):
    def build(target_class, registry):
        return TimerConditionalEventDefinitionConverter(target_class, registry, typename=stock_name)
    return build


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config.pop(TimeDateEventDefinition, None)
    config.pop(DurationTimerEventDefinition, None)
    for cls, stock_name in STOCK_NAMES.items():
        config[cls] = _timer_converter(stock_name)
    config[BpmnWorkflow] = SharedSpecWorkflowConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


SERIALIZER = _make_serializer()
SERIALIZER_VERSION = SERIALIZER.VERSION


def dump(workflow) -> str:
    return SERIALIZER.serialize_json(workflow)


def load(state: str, spec, subprocess_specs):
    import json
    dct = json.loads(state)
    SERIALIZER.migrate(dct)
    return SERIALIZER.registry.restore(dct, specs=(spec, subprocess_specs))
