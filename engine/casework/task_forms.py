"""What a worker submits for a task: the form data checked against the task's form (its JSON Schema in
the process version, engine/runtime/forms.py), before the step is taken — when the task is completed
(engine/casework/tasks.py) and when a failed completion is retried (engine/casework/incidents.py)."""
from __future__ import annotations

from engine.core.errors import InvalidData
from engine.pool import photos
from engine.runtime import forms
from engine.store.models import Event, WorkItem


def check_data(item: WorkItem, compiled, catalogs, data, event: Event | None = None, session=None) -> dict:
    """The form data with defaults, or InvalidData naming each bad field. With the event, photo fields
    must name photos stored for it (referenced, never copied: engine/pool/photos.py)."""
    if not isinstance(data, dict):
        raise InvalidData([{"field": "(form)", "reason": "form data must be a JSON object"}])
    schema = compiled.resolved_form(item.form, catalogs)
    data = forms.with_defaults(schema, data)
    errors = forms.validate(schema, data)
    if not errors and event is not None:
        errors = photos.unknown_references(session, event, forms.photo_references(schema, data))
    if errors:
        raise InvalidData(errors)
    return data
