"""Timer event definitions that read "now" from the injected clock (SPIFF.md: the stock ones call
datetime.now() directly). Plugged into the parser through its extension point and registered with the
serializer under the stock type names, so stored instances stay standard SpiffWorkflow JSON.
"""
from __future__ import annotations

import re

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition, DurationTimerEventDefinition,
                                                              TimeDateEventDefinition, TimerEventDefinition)

#: an ISO 8601 duration or date-time typed without quotes, as a modeler's timer field saves it (PT1H)
BARE_ISO = re.compile(r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
                      r"|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})")


def bare_iso(expression) -> bool:
    """A timer expression that is an ISO 8601 value typed without quotes (taken as that literal)."""
    return isinstance(expression, str) and BARE_ISO.fullmatch(expression.strip()) is not None


def _now(my_task):
    return my_task.workflow.script_engine.clock.now()


def _due(my_task, at) -> bool:
    """Has the timer's time come? Never while the engine holds timers: a migration re-predicts the
    branches an instance is at, and a timer already due must not fire there, without its branch being
    run (engine/runtime/instance_migration.py); the sweep fires it afterwards."""
    return at <= _now(my_task) and not getattr(my_task.workflow.script_engine, "hold_timers", False)


def _expression(my_task, expression):
    """The timer's value: a bare ISO literal as it is, anything else evaluated as diagram code."""
    if bare_iso(expression):
        return expression.strip()
    return my_task.workflow.script_engine.evaluate(my_task, expression)


class ClockTimeDateEventDefinition(TimeDateEventDefinition):
    def has_fired(self, my_task):
        value = my_task._get_internal_data("event_value")
        if value is None:
            value = _expression(my_task, self.expression)
            my_task._set_internal_data(event_value=value)
        if _due(my_task, TimerEventDefinition.parse_time_or_duration(value)):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockDurationTimerEventDefinition(DurationTimerEventDefinition):
    def has_fired(self, my_task):
        value = my_task._get_internal_data("event_value")
        if value is None:
            expression = _expression(my_task, self.expression)
            parsed = TimerEventDefinition.parse_iso_duration(expression)
            start = _now(my_task)
            value = (start + TimerEventDefinition.get_timedelta_from_start(parsed, start)).isoformat()
            my_task._set_internal_data(event_value=value)
        if _due(my_task, TimerEventDefinition.get_datetime(value)):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


#: stock class → clock-aware class (cycle timers are refused at deploy: nothing in §8 repeats).
REPLACEMENTS = {
    TimeDateEventDefinition: ClockTimeDateEventDefinition,
    DurationTimerEventDefinition: ClockDurationTimerEventDefinition,
}
STOCK_NAMES = {new: old.__name__ for old, new in REPLACEMENTS.items()}


class ClockTimerParserMixin:
    """Mixed into the event parsers: build clock-aware timers instead of the stock ones."""

    def parse_timer_event(self, event):
        definition = super().parse_timer_event(event)
        replacement = REPLACEMENTS.get(type(definition))
        if replacement is not None:
            definition.__class__ = replacement
        return definition


def due_times(workflow) -> list[tuple[str, str, str]]:
    """(task id, spec name, due ISO string) of every waiting timer of the workflow and its subprocesses."""
    result = []
    for task in workflow.event_manager.tasks.values():
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, (ClockDurationTimerEventDefinition, ClockTimeDateEventDefinition)):
            value = task._get_internal_data("event_value")
            if value is not None and not task._get_internal_data("event_fired", False):
                result.append((str(task.id), task.task_spec.bpmn_id or task.task_spec.name,
                               TimerEventDefinition.get_datetime(value).isoformat()))
    return result


def is_cycle(definition) -> bool:
    return isinstance(definition, CycleTimerEventDefinition)
