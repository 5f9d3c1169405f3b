"""The names reports read from what the process wrote (issue #16, contracts as code): audit actions and the
keys of completed task forms. Writers and readers use these constants; `tests/processes/test_contracts.py`
checks that the deployed forms in `processes/forms/` define every key a report reads, so renaming a form
field in the modeler cannot silently empty an indicator, the circular or the whistle order.
The actions the service-task handlers write are theirs: `handlers/actions.py`."""
from __future__ import annotations

# -- audit actions the engine writes ---------------------------------------------------------------------
TASK_COMPLETED = "task_completed"       # data: the completed form (§8.6 counts, §9.1 circular, 已办)
REOPENED = "reopened"                   # 重启, and 重新办理 after a 不满意 回访 (§8.6 first-time rate)
REVISIT_OPENED = "revisit_opened"       # 回访 due: the community asks the reporter (engine/casework/revisits.py)
REVISIT_RECORDED = "revisit_recorded"   # 回访 done: reached or not, the rating, whether it reopened the event
SENSITIVE_VIEWED = "sensitive_viewed"   # a read of a sensitive event's content (engine/accounts/privacy.py)
RETURN_RULED = "return_ruled"           # the city's ruling on a return: return_id, unit, verdict, note (issue #19)

# -- keys of completed forms that reports read --------------------------------------------------------------
CHECK_PASSED = "passed"                 # 核查 passed (§8.5 重办 when false; §8.6 first-time rate, §9.1 处置不到位)
CHECK_RATING = "rating"                 # 核查's 评价 (§8.6 满意率)
RESULT_SUMMARY = "result_summary"       # 处置结果 text (§8.5), told to citizens (Open311 status_notes)
LEAD_DEPARTMENT = "lead_department"     # the whistle's lead department (§7.3, 哨单)
BEFORE_PHOTOS, AFTER_PHOTOS = "before_photos", "after_photos"   # §8.5 before/after (also `stationed_…`)
STATIONED = "stationed_"                # the stationed officer's result form prefixes its fields
#: 回访's answers (§4.3, §8.6 群众满意率): engine/casework/revisits.py reads them
REVISIT_REACHED, REVISIT_CONTACT = "revisit_reached", "revisit_contact"
REVISIT_RATING, REVISIT_WORDS, REVISIT_CAUSE = "revisit_rating", "revisit_words", "revisit_cause"
#: the ratings (核查's 评价 and 回访's 满意度), and those the citizen's satisfaction counts as satisfied (§8.6)
RATINGS = ("满意", "基本满意", "不满意")
SATISFIED = ("满意", "基本满意")

#: 批量签收 (issue #19): the 签收受理 forms a department may complete several at once, and the answer each is
#: completed with (it accepts the order, §8.3); tests/processes/test_contracts.py checks each answer against its
#: form. A task with any other form is done one at a time.
BATCH_ACCEPT = {"accept": {"decision": "accept"}, "accept_assigned": {}, "co_accept": {}}


def batch_acceptance(form: str | None) -> dict | None:
    """The answer a task with this form file (`forms/accept.json`) is accepted with in a batch (BATCH_ACCEPT),
    or None: not a 签收受理 form, done one at a time."""
    name = form.rsplit("/", 1)[-1].removesuffix(".json") if form else None
    found = BATCH_ACCEPT.get(name) if name else None
    return dict(found) if found is not None else None

#: key → the forms (processes/forms/<name>.json) that must define it
FORM_KEYS = {
    CHECK_PASSED: ("check",),
    CHECK_RATING: ("check",),
    RESULT_SUMMARY: ("local_result", "feedback"),
    LEAD_DEPARTMENT: ("whistle",),
    BEFORE_PHOTOS: ("local_result", "feedback"),
    AFTER_PHOTOS: ("local_result", "feedback"),
    STATIONED + BEFORE_PHOTOS: ("stationed_result",),
    STATIONED + AFTER_PHOTOS: ("stationed_result",),
    REVISIT_REACHED: ("revisit",),
    REVISIT_CONTACT: ("revisit",),
    REVISIT_RATING: ("revisit",),
    REVISIT_WORDS: ("revisit",),
    REVISIT_CAUSE: ("revisit",),
}


def before_after(timeline: list[dict]) -> list[dict]:
    """§8.5 处置前后对比照片: each completed task of an event's timeline (oldest first, as engine/pool/events.py
    `detail` gives it) whose answer holds both before and after photos (its own or the stationed officer's
    fields), newest first: {task, at, before, after} with the photo keys."""
    pairs = []
    for entry in reversed(timeline):
        data = entry.get("data") if entry.get("action") == TASK_COMPLETED else None
        if not isinstance(data, dict):
            continue
        for prefix in ("", STATIONED):
            before, after = data.get(prefix + BEFORE_PHOTOS), data.get(prefix + AFTER_PHOTOS)
            if before and after:
                pairs.append({"task": entry.get("task_name"), "at": entry.get("at"), "before": before, "after": after})
    return pairs
