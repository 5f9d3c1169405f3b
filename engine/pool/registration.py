"""登记 (§7.1) of a signed-in user's report — a grid worker's (§5.1), a patrol's (§5.2), a "one thing"
matter (§5.5) or a superior's assignment (§5.6) — with the photos sent with it. Citizens (§5.3) come through
engine/channels/open311.py and devices (§5.4) through engine/channels/devices.py.

Nothing else happens in this unit: the accepted submission is stored (and committed) before its process
starts (engine/casework/lifecycle.py `start_pending`), and a report near an open one of the same type is
flagged as its possible duplicate (engine/pool/duplicates.py)."""
from __future__ import annotations

from engine.casework import on_spot
from engine.pool import duplicates, events, intake, photos
from engine.store.models import Audit, Event


def report(cmd, payload, idempotency_key=None, checked=(), fixed=None) -> tuple[Event, bool]:
    """Check and store a report and its checked photos (`PhotoStore.check`); (event, created). `fixed`: the checked
    photos of a report made as handled on the spot (即知即改, engine/casework/on_spot.py), {"before_photos": [...],
    "after_photos": [...]}. A retry (the same Idempotency-Key, else the same `source_ref`, from the same user)
    returns the event it created, with created False, and stores nothing again."""
    user = cmd.user
    fixed = {name: list(found) for name, found in (fixed or {}).items() if found}
    ref = idempotency_key if idempotency_key is not None else (payload or {}).get("source_ref") \
        if isinstance(payload, dict) else None
    key = intake.key_for(f"user:{user.username}", ref)
    found = intake.existing(cmd.session, key)
    if found is not None:
        return found, False
    clean = events.check_report(payload, cmd.catalogs, user,
                                on_spot.problems(payload, {name: len(found) for name, found in fixed.items()}))
    on_spot.require(user, clean)
    clean["on_spot"] = on_spot.prepare(clean, user, {name: [c.sha256 for c in found] for name, found in fixed.items()})
    event = events.register(cmd.session, cmd.catalogs, clean, user.username, cmd.now(), key=key, raw=payload)
    duplicates.flag(cmd.session, event, cmd.env.duplicate_window, cmd.now())
    if checked:   # the event and its photos in one unit
        photos.attach_to_report(cmd, event, checked)
    if fixed:     # 即知即改's before/after photos: the event's own, listed in event.on_spot
        photos.add_to_event(cmd, event, [c for found in fixed.values() for c in found])
        cmd.session.add(Audit(at=cmd.now(), actor=user.username, action=on_spot.REPORTED, event_id=event.id,
                              data={name: list(event.on_spot.get(name, [])) for name in on_spot.PHOTO_FIELDS}
                              | {"summary": event.on_spot.get("summary"), "unit": event.on_spot.get("unit")}))
    return event, True
