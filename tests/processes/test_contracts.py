"""Contracts as code (issue #16): every completed-form key a report reads (engine/core/contracts.py) is defined
by the forms named for it in processes/forms/, so a field renamed in the modeler fails here, not silently
in an indicator (§8.6), the circular (§9.1), the whistle order (§7.3) or Open311's status notes."""
from __future__ import annotations

import json

import pytest

from lxml import etree

from engine.channels import stages
from engine.core import contracts
from tests.conftest import PROCESSES

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


@pytest.mark.parametrize(("key", "forms"), sorted(contracts.FORM_KEYS.items()))
def test_every_key_a_report_reads_is_defined_by_its_forms(key, forms):
    for name in forms:
        schema = json.loads((PROCESSES / "forms" / f"{name}.json").read_text(encoding="utf-8"))
        assert key in schema.get("properties", {}), f"processes/forms/{name}.json no longer defines {key!r}"


def test_the_check_form_answers_what_the_indicators_count():
    """核查 passed is a yes/no and its rating one of the words 满意率 counts (engine/oversight/indicators.py)."""
    schema = json.loads((PROCESSES / "forms" / "check.json").read_text(encoding="utf-8"))
    assert schema["properties"][contracts.CHECK_PASSED]["type"] == "boolean"
    assert {"满意", "基本满意", "不满意"} <= set(schema["properties"][contracts.CHECK_RATING]["enum"])


def test_every_task_a_stage_reads_is_in_processes_with_its_form_and_keys():
    """The stages a source hears (engine/channels/stages.py, Open311 updates and callbacks, issue #18) read
    user tasks by name and their forms by key: a task renamed or a field dropped in the modeler fails here."""
    tasks = {}
    for path in PROCESSES.glob("*.bpmn"):
        for task in etree.parse(str(path)).iter(f"{BPMN}userTask"):
            forms = {p.get("value") for p in task.iter() if p.get("name") == "formJsonSchemaFilename"}
            tasks.setdefault(task.get("name"), set()).update(forms)
    for name, (form, keys) in stages.READS.items():
        assert name in tasks, f"no user task named {name!r} in processes/ (engine/channels/stages.py reads it)"
        assert f"forms/{form}.json" in tasks[name], (name, tasks[name])
        schema = json.loads((PROCESSES / "forms" / f"{form}.json").read_text(encoding="utf-8"))
        for key in keys:
            assert key in schema.get("properties", {}), f"processes/forms/{form}.json no longer defines {key!r}"


@pytest.mark.parametrize(("form", "answer"), sorted(contracts.BATCH_ACCEPT.items()))
def test_every_batch_acceptance_is_a_valid_answer_of_its_form(form, answer):
    """批量签收 (issue #19) completes each 签收受理 with its form's accepting answer: a form changed in the modeler
    so that the answer no longer fits (a new required field) fails here, not in a clerk's batch."""
    from catalogs import load_catalogs
    from engine.runtime import forms

    schema = forms.resolve(json.loads((PROCESSES / "forms" / f"{form}.json").read_text(encoding="utf-8")),
                           load_catalogs())
    assert forms.validate(schema, forms.with_defaults(schema, answer)) == []
    assert contracts.batch_acceptance(f"forms/{form}.json") == answer
    assert contracts.batch_acceptance("forms/dispose_feedback.json") is None
