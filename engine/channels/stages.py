"""Each stage of Figure 1 as a source hears it (issue #18; §4.3 闭环, §5.3, §7.1 反馈来源): one reading of the
audit trail, used by Open311's service request updates (engine/channels/open311_updates.py), the request's
`status_notes` and the signed callbacks of channels that follow every stage (engine/channels/callbacks.py).

A stage is read from one audit row alone — its action, its data and the name of the task it completed — so
the same row always reads the same way (a stable update), however late it is read. The task names are those
of processes/ (tests/processes/test_contracts.py checks each still names a user task there). What a stage
says is written for the public: fixed words, unit and community names from the catalogs, due times, and the
texts the source is told anyway (处置结果 §8.5, the reason of an outcome, §7.1); never a person, a phone or a
staff member's working note.

Each stage carries a status of mySociety's Open311 extension (the statuses FixMyStreet reads):
open, investigating, action_scheduled, in_progress, fixed, closed, duplicate, not_councils_responsibility,
no_further_action, internal_referral.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.core import contracts
from engine.core.clock import local, parse_instant

#: the extension's statuses eventflow answers with (GET servicerequestupdates), and those a client may send
STATUSES = ("open", "investigating", "action_scheduled", "in_progress", "fixed", "closed", "duplicate",
            "not_councils_responsibility", "no_further_action", "internal_referral")
CLIENT_STATUSES = ("unchanged", "open", "closed", "fixed", "in_progress", "planned", "action_scheduled",
                   "investigating", "duplicate", "not_councils_responsibility", "no_further_action",
                   "internal_referral", "cancelled", "reopen", "for_triage")
#: audit actions that can be a stage (the Open311 updates list reads only these)
ACTIONS = ("reported", "transferred_in", "placed", contracts.TASK_COMPLETED, "whistle_returned",
           "extension_decided", "source_notified", "transferred", "reopened", "citizen_update")
#: actions a request merged into, or transferred to, another event follows on that event (not its own report)
FOLLOWED_ACTIONS = tuple(a for a in ACTIONS if a not in ("reported", "transferred_in", "placed", "citizen_update"))
#: the user tasks of processes/ whose completion is a stage (by name; Figure 1's main line) → the form each
#: fills and the keys of it read here (tests/processes/test_contracts.py holds processes/ to them)
READS = {"核实": ("verify", ("verdict",)), "研判": ("analyse", ("disposal",)),
         "吹哨": ("whistle", (contracts.LEAD_DEPARTMENT,)), "改派": ("redispatch", (contracts.LEAD_DEPARTMENT,)),
         "兜底指定": ("authority_assign", ("owner_department",)), "签收受理": ("accept", ("decision",)),
         "签收受理（兜底指定，不可退回）": ("accept_assigned", ()), "到场": ("arrive", ("on_spot",)),
         "下沉部门处置": ("stationed_result", ("resolved", contracts.STATIONED + "summary")),
         "社区干部处置": ("local_result", (contracts.RESULT_SUMMARY,)),
         "处置反馈": ("feedback", (contracts.RESULT_SUMMARY,)), "汇总反馈": ("feedback", (contracts.RESULT_SUMMARY,)),
         "重办反馈": ("feedback", (contracts.RESULT_SUMMARY,)), "核查": ("check", (contracts.CHECK_PASSED,)),
         "结案接收": ("closure_receipt", (contracts.CHECK_PASSED,))}
TASKS = tuple(READS)
#: outcome (engine's Event.status, handlers/notify.py) → (stage code, Open311 status)
OUTCOMES = {"closed": ("closed", "fixed"), "invalid": ("invalid", "no_further_action"),
            "returned": ("returned", "not_councils_responsibility"), "withdrawn": ("withdrawn", "closed"),
            "merged": ("merged", "duplicate"), "terminated": ("terminated", "closed")}
#: outcome → the words before its reason (the same as the request's status_notes, engine/pool/events.py)
OUTCOME_WORDS = {"closed": "办结", "invalid": "不属实/无效", "returned": "退回来源", "withdrawn": "撤单",
                 "merged": "已合并", "terminated": "已终止"}


@dataclass(frozen=True)
class Stage:
    code: str           # accepted, dispatched, extended … (stable: clients may key on it)
    name: str           # the stage in the staff's words: 受理, 吹哨派单, 延期 …
    status: str         # the Open311 extension's status after this stage
    description: str    # what the source reads: "<name>：<detail>"
    final: bool = False

    def as_dict(self) -> dict:
        return {"stage": self.code, "stage_name": self.name, "status": self.status, "description": self.description}


def _stage(code, name, status, detail, final=False) -> Stage:
    return Stage(code, name, status, f"{name}：{detail}", final)


def _unit(catalogs, code) -> str:
    return (catalogs.unit(code) or {}).get("name", code) if code else "主办部门"


def _community(catalogs, code) -> str:
    return (catalogs.community(code) or {}).get("name", code) if code else "所属社区"


def _text(value, limit: int = 500) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _when(value) -> str:
    try:
        return local(parse_instant(str(value)))
    except ValueError:
        return str(value)


#: the tasks a unit does itself (签收受理, 到场): the stage names the unit of whoever completed it
UNIT_TASKS = ("签收受理", "签收受理（兜底指定，不可退回）", "到场")


def of(action: str, data, task_name, event, catalogs, result: str | None = None, unit: str | None = None) -> Stage | None:
    """The stage an audit row is to the event's source, or None (internal work: deadlines, co-operating
    departments' parts, claims, …). `event` is the row's event (its community); `result` the event's last
    written 处置结果 (§8.5), which its 办结 tells; `unit` the unit of the row's actor, for UNIT_TASKS (by
    default the event's lead unit, which is theirs while the step runs)."""
    data = data if isinstance(data, dict) else {}
    if action == "reported":
        return _stage("reported", "登记", "open", f"已登记，由{_community(catalogs, event.community)}核实办理（§7.1）"
                      if event.community else "已登记，待市级分拨定位后转所属社区核实（§7.1）")
    if action == "transferred_in":
        return _stage("reported", "登记", "open", f"转办登记，由{_community(catalogs, event.community)}核实办理（§7.1）")
    if action == "placed":
        return _stage("placed", "分拨定位", "open", f"已定位至{_community(catalogs, data.get('community'))}，待核实（§7.1）")
    if action == contracts.TASK_COMPLETED:
        return _task(task_name, data, unit or event.lead_unit, catalogs)
    if action == "whistle_returned":
        return _stage("unit_returned", "退回", "investigating",
                      f"{_unit(catalogs, data.get('unit'))}退回哨单，待重新派单（§7.3）")
    if action == "extension_decided":
        if data.get("approved") is not True:
            return None
        return _stage("extended", "延期", "in_progress",
                      f"经市级主管部门批准，办结时限延至 {_when(data.get('new_due_at'))}（§8.4）")
    if action == "transferred":
        return _stage("transferred", "转办", "internal_referral",
                      f"已转{_community(catalogs, data.get('to_community'))}办理（新编号 {data.get('to_event')}，§7.1）",
                      final=True)
    if action == "source_notified":
        outcome = data.get("outcome")
        if outcome not in OUTCOMES:
            return None                   # 转办 is told by its own row above
        reason = _text(data.get("reason")) or (_text(event.status_reason) if event.status == outcome else "")
        return outcome_stage(outcome, reason, result)
    if action == "reopened":
        return _stage("reopened", "重启", "open", "事件重新办理，社区重新研判（§8.6）")
    if action == "citizen_update":
        return Stage("citizen_update", "群众补充", data.get("status") or "open", _text(data.get("text"), 2000))
    return None


def outcome_stage(outcome: str, reason: str | None = None, result: str | None = None) -> Stage:
    """The last stage, the outcome (handlers/notify.py): 办结 tells the result (§8.5), the others their reason."""
    if outcome == "transferred":
        return _stage("transferred", "转办", "internal_referral", _text(reason) or "已转所属社区办理（§7.1）", final=True)
    code, status = OUTCOMES.get(outcome, (outcome, "closed"))
    words = OUTCOME_WORDS.get(outcome, outcome)
    detail = _text(reason) or (_text(result) or "已处置完毕" if outcome == "closed" else words)
    return _stage(code, words, status, detail, final=True)


def _task(name, data, unit, catalogs) -> Stage | None:
    if name == "核实":
        if data.get("verdict") != "accept":
            return None                   # 转办, 退回来源, 不予受理: their outcome row follows
        return _stage("accepted", "受理", "investigating", "经社区核实，已受理，研判处置方式（§7.1、§7.2）")
    if name == "研判":
        if data.get("disposal") == "whistle":
            return _stage("analysed", "研判", "investigating", "社区难以自行处置，吹哨至市直部门（§7.2、§7.3）")
        return _stage("analysed", "研判", "in_progress", "由社区统筹下沉部门人员或社区干部处置（§7.2、§8.1）")
    if name == "吹哨":
        return _stage("dispatched", "吹哨派单", "action_scheduled",
                      f"已派单至{_unit(catalogs, data.get(contracts.LEAD_DEPARTMENT))}，待签收受理（§7.3、§8.3）")
    if name == "改派":
        return _stage("redispatched", "改派", "action_scheduled",
                      f"已改派至{_unit(catalogs, data.get(contracts.LEAD_DEPARTMENT))}，待签收受理（§7.3）")
    if name == "兜底指定":
        return _stage("assigned", "兜底指定", "action_scheduled",
                      f"市级主管部门指定{_unit(catalogs, data.get('owner_department'))}承办（§7.3）")
    if name in ("签收受理", "签收受理（兜底指定，不可退回）"):
        if data.get("decision", "accept") != "accept":
            return None                   # 退回: the whistle_returned row names the unit
        return _stage("unit_accepted", "处置中", "in_progress", f"{_unit(catalogs, unit)}已签收受理（§8.3）")
    if name == "到场":
        detail = "，疑难问题5个工作日内结案反馈" if data.get("on_spot") == "difficult" else ""
        return _stage("arrived", "处置中", "in_progress", f"{_unit(catalogs, unit)}已到场处置{detail}（§8.3）")
    if name == "下沉部门处置":
        if data.get("resolved") is not True:
            return None                   # cannot be solved in the community: the whistle follows
        summary = _text(data.get(contracts.STATIONED + "summary"))
        return _stage("fed_back", "处置反馈", "in_progress", f"{summary or '已处置'}，待社区核查（§8.5）")
    if name in ("社区干部处置", "处置反馈", "汇总反馈", "重办反馈"):
        summary = _text(data.get(contracts.RESULT_SUMMARY))
        return _stage("fed_back", "处置反馈", "in_progress", f"{summary or '已处置'}，待社区核查（§8.5）")
    if name == "核查" and data.get(contracts.CHECK_PASSED) is False:
        return _stage("rework", "重办", "in_progress", "核查未通过，退回重新处置（§8.6）")
    if name == "结案接收" and data.get(contracts.CHECK_PASSED) is False:
        return _stage("rework", "重办", "in_progress", "结案反馈未被接收，退回重新处置（§7.3.3）")
    return None                           # 核查 passed: 办结 follows in the same step
