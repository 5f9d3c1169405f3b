"""Deploy a bundle as a new process version, or refuse it naming the file, element and reason.

Everything a process owner can get wrong is checked here, before anything is stored (a rejected
upload changes nothing): XML and XSD validity, SpiffWorkflow's semantic checks, lanes → roles,
each user task's form and assignee (§8.2: the event's community, the unit chosen at dispatch, or a
named person), service operations → handlers, and every expression against the sandbox — its rules, and
its budget for every constant part (engine/runtime/sandbox.py `exhausting_constant`, issue #15).
"""
from __future__ import annotations

import ast
import re
from datetime import datetime, timezone

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.spiff.specs.defaults import UserTask
from sqlalchemy import func, select, update

from engine.runtime import forms, lint
from engine.runtime.bundle import Bundle
from engine.core.errors import DeployError, EventflowError
from engine.store.models import ProcessVersion
from engine.runtime.sandbox import check_code, exhausting_constant
from engine.runtime.spiff import SAFE_XML, make_parser
from engine.runtime.timers import TimerEventDefinition, bare_iso, is_cycle

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
ASSIGNEE = re.compile(r"^(community|unit:[A-Za-z_][\w.]*|person:[A-Za-z_][\w.]*)$")
FORM_PROPERTY = "formJsonSchemaFilename"
#: an ISO 8601 duration written without quotes inside a larger expression parses as a variable name
ISO_LIKE = re.compile(r"^P(\d|T\d)")
#: a fixed start for checking that a deadline() limit computes (a working day: 2026-10-12, Monday)
PROBE_START = datetime(2026, 10, 12, 1, 0, tzinfo=timezone.utc)


def _element_id(node) -> str | None:
    """The id of the element a node belongs to, as the modeler shows it: a timer's expression belongs to
    its timer event (the event definition inside it is no shape of its own)."""
    while node is not None:
        if node.get("id") and not etree.QName(node).localname.endswith("EventDefinition"):
            return node.get("id")
        node = node.getparent()
    return None


def _parse_xml(bundle: Bundle) -> dict:
    trees = {}
    for path in bundle.bpmn_paths:
        try:
            trees[path] = etree.fromstring(bundle.files[path], SAFE_XML)
        except etree.XMLSyntaxError as err:
            raise DeployError(f"XML 格式有误：请在建模器中重新保存 (malformed XML: {err.msg})", file=path,
                              line=err.lineno) from None
        if trees[path].getroottree().docinfo.doctype:
            raise DeployError("BPMN 文件中不能有 DOCTYPE：请删去 (a DOCTYPE is not allowed in BPMN files)", file=path)
    if not trees:
        raise DeployError("流程包中没有 .bpmn 文件：请上传 .bpmn 或含 .bpmn 的 .zip (the bundle holds no .bpmn file)")
    return trees


def _check_expressions(path: str, root, deadlines) -> None:
    def code(node, text, mode="eval"):
        if text is None or not text.strip():
            return
        problem = check_code(text.strip(), mode) or exhausting_constant(text, mode)
        if problem:
            raise DeployError(problem, file=path, element=_element_id(node), line=node.sourceline)

    for node in root.iterfind(".//bpmn:conditionExpression", NS):
        code(node, node.text)
    for node in root.iterfind(".//bpmn:timeCycle", NS):
        raise DeployError("不支持循环定时器：请改用时长或日期时间 (cycle timers are not supported: use timeDuration or "
                          "timeDate)", file=path,
                          element=_element_id(node), line=node.sourceline)
    for tag in ("timeDuration", "timeDate"):
        for node in root.iterfind(f".//bpmn:{tag}", NS):
            if bare_iso(node.text):                 # PT1H typed as the modeler saves it: a literal
                _check_bare_literal(path, node, tag)
                continue
            code(node, node.text)
            _check_timer_literals(path, node, tag)
            _check_deadline_calls(path, node, deadlines)
    for node in root.iterfind(".//bpmn:script", NS):
        code(node, node.text, "exec")
    for tag in ("preScript", "postScript"):
        for node in root.iterfind(f".//spiffworkflow:{tag}", NS):
            code(node, node.text, "exec")
    for node in root.iterfind(".//spiffworkflow:parameter", NS):
        code(node, node.get("value"))


def _check_iso(path, node, tag, value) -> None:
    """A timer's literal value parses as its field expects: a duration, or a date-time."""
    try:
        if tag == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        else:
            TimerEventDefinition.get_datetime(value)
    except Exception:  # noqa: BLE001 - the library raises a bare Exception('Invalid duration')
        raise DeployError(f"定时器的值 {value} 不是有效的 ISO 8601 时长或时间，请写成如 PT2H "
                          f"(timer {tag} {value!r} is not a valid ISO 8601 value)", file=path,
                          element=_element_id(node), line=node.sourceline) from None


def _check_bare_literal(path, node, tag) -> None:
    value = node.text.strip()
    _check_iso(path, node, tag, value)
    if tag == "timeDate" and "T" not in value:
        raise DeployError(f"定时器日期 {value} 须带时刻和时区，如 2026-10-01T09:00:00+08:00 "
                          f"(timer timeDate {value!r} needs a time of day and an offset)", file=path,
                          element=_element_id(node), line=node.sourceline)


def _check_deadline_calls(path, node, deadlines) -> None:
    """Every `deadline(kind, limit, …)` of a timer evaluates: its kind is in the deadline_kinds catalog and
    its literal limit is one that kind can count (a working-time kind takes "P5D" or "PT2H", not both)."""
    tree = ast.parse((node.text or "").strip(), mode="eval")
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "deadline"):
            continue
        where = dict(file=path, element=_element_id(node), line=node.sourceline)
        if not call.args or not (isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
            raise DeployError("deadline() 的第一个参数须为带引号的时限种类，如 deadline(\"close\", \"PT24H\", …) "
                              "(deadline() needs the kind of limit as its first argument, quoted)", **where)
        kind = call.args[0].value
        if deadlines.catalogs.deadline_kind(kind) is None:
            known = ", ".join(k["code"] for k in deadlines.catalogs.get("deadline_kinds"))
            raise DeployError(f"时限种类 {kind} 不在时限种类目录中（可用：{known}）：请改正 "
                              f"(deadline kind {kind!r} is not in the deadline_kinds catalog ({known}))", **where)
        limit = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "limit"), None)
        at = call.args[3] if len(call.args) > 3 else next((k.value for k in call.keywords if k.arg == "at"), None)
        if limit is None and at is None and not deadlines.catalogs.deadline_kind(kind).get("default_limit"):
            raise DeployError(f"deadline(\"{kind}\") 缺少时限：请写明，如 deadline(\"{kind}\", \"PT2H\") "
                              f"(deadline({kind!r}) needs a limit: write one (deadline({kind!r}, \"PT2H\")) or give "
                              f"the kind a default_limit in the deadline_kinds catalog)", **where)
        if isinstance(limit, ast.Constant) and isinstance(limit.value, str):
            try:
                deadlines.compute(kind, limit.value, PROBE_START)
            except (ValueError, EventflowError) as err:
                raise DeployError(f"deadline(\"{kind}\", \"{limit.value}\") 的时限无法计算：请改正 "
                                  f"(deadline({kind!r}, {limit.value!r}): {err})", **where) from None


def _check_timer_literals(path, node, tag) -> None:
    """Every string constant in a timer expression must be a valid ISO 8601 duration or date-time:
    SpiffWorkflow would only notice when the timer arms (SPIFF.md)."""
    tree = ast.parse((node.text or "").strip(), mode="eval")
    for name in (n.id for n in ast.walk(tree) if isinstance(n, ast.Name)):
        if ISO_LIKE.match(name):
            raise DeployError(f"定时器中的 {name} 会被当作变量：请加引号写成 \"{name}\" "
                              f"(timer {tag}: {name} reads as a variable; quote the ISO 8601 value: \"{name}\")",
                              file=path, element=_element_id(node), line=node.sourceline)
    constants = _results(tree.body)
    if isinstance(tree.body, ast.Name) and tag == "timeDuration":
        return  # a variable: checked when it arms
    computed = any(isinstance(n, (ast.Name, ast.Call, ast.Attribute, ast.Subscript)) for n in ast.walk(tree))
    if not constants and not computed:
        raise DeployError(f"定时器的值须为带引号的 ISO 8601 时长，如 \"PT2H\" "
                          f"(timer {tag} must be a quoted ISO 8601 value, e.g. \"PT2H\")", file=path,
                          element=_element_id(node), line=node.sourceline)
    for value in constants:
        _check_iso(path, node, tag, value)


def _results(node) -> list[str]:
    """The string literals an expression can evaluate to (`"PT1H" if on_site else "PT30M"` → both;
    the `"difficult"` compared inside a condition is not a result)."""
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else []
    if isinstance(node, ast.IfExp):
        return _results(node.body) + _results(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [v for value in node.values for v in _results(value)]
    return []


def _lanes(path: str, root, catalogs) -> None:
    for lane in root.iterfind(".//bpmn:lane", NS):
        name = (lane.get("name") or "").strip()
        if catalogs.role(name) is None:
            raise DeployError(f"泳道名称“{name}”不是角色目录中的角色：请改为角色名称，如 社区工作人员 "
                              f"(lane {name!r} does not name a role of the roles catalog)", file=path,
                              element=lane.get("id"), line=lane.sourceline)


def _lint(bundle: Bundle) -> None:
    """bpmnlint's recommended rules (engine/runtime/lint.py): the first error refuses the bundle, naming it."""
    try:
        found = lint.problems({p: bundle.files[p] for p in bundle.bpmn_paths})
    except lint.LintUnavailable as err:
        raise DeployError(f"流程检查工具未安装，请联系系统管理员 ({err})") from None
    if found:
        first = found[0]
        more, more_en = (f"（另有 {len(found) - 1} 处）", f"; and {len(found) - 1} more") if len(found) > 1 else ("", "")
        said = lint.RULE_WORDS.get(first["rule"], f"未通过 bpmnlint 规则 {first['rule']} 的检查")
        raise DeployError(f"{said}{more} (bpmnlint {first['rule']}: {first['message']}{more_en})", file=first["file"],
                          element=first["element"])


def _top_level_process(trees: dict) -> str:
    processes, called = {}, set()
    for path, root in trees.items():
        for proc in root.iterfind(".//bpmn:process", NS):
            if proc.get("isExecutable", "false") == "true":
                processes[proc.get("id")] = path
        for call in root.iterfind(".//bpmn:callActivity", NS):
            called.add(call.get("calledElement"))
    for name in called:
        if name not in processes:
            raise DeployError(f"调用的子流程 {name} 不在流程包中：请一并上传 (calls process {name!r}, which is not in the bundle)")
    top = sorted(set(processes) - called)
    if len(top) != 1:
        raise DeployError(f"流程包须有且只有一个可执行的顶层流程，现有：{'、'.join(top) or '无'} "
                          f"(a bundle must hold exactly one top-level executable process, found {top or 'none'})")
    return top[0]


def _spiff_error(err: ValidationException, trees) -> DeployError:
    line = err.line_number or None
    if not line and err.id:
        for root in trees.values():
            found = root.xpath("//*[@id=$id]", id=err.id)
            if found:
                line = found[0].sourceline
                break
    reason = str(err.args[0]) if err.args else str(err)    # SpiffWorkflow's own words: quoted as they are
    return DeployError(f"流程引擎校验未通过：{reason} ({reason})", file=err.file_name or None, element=err.id or None,
                       line=line)


def plan(bundle: Bundle, catalogs, registry, limits) -> tuple[str, dict[str, bytes], dict]:
    """Check a bundle (its timers' `deadline(…)` calls against `limits`: engine/runtime/hooks.py). Returns
    (process key, files to keep, task meta) or raises DeployError."""
    for path, content in bundle.files.items():
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            raise DeployError("文件不是 UTF-8 文本：请以 UTF-8 保存 (not UTF-8 text)", file=path) from None
    trees = _parse_xml(bundle)
    for path, root in trees.items():
        _check_expressions(path, root, limits)
        _lanes(path, root, catalogs)
        for op in root.iterfind(".//spiffworkflow:serviceTaskOperator", NS):
            if op.get("id") not in registry:
                raise DeployError(f"服务操作 {op.get('id')} 没有对应的处理程序：请改为已有的服务操作 "
                                  f"(service operation {op.get('id')!r} has no handler in handlers/)",
                                  file=path, element=_element_id(op.getparent()), line=op.sourceline)
    _lint(bundle)
    key = _top_level_process(trees)
    parser = make_parser()
    try:
        for path, root in trees.items():
            parser.add_bpmn_xml(root, filename=path)
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as err:
        raise _spiff_error(err, trees) from None
    except Exception as err:  # noqa: BLE001 - e.g. Exception('Invalid duration') from the library
        raise DeployError(f"流程引擎无法读取该流程：{type(err).__name__}: {err} ({type(err).__name__}: {err})") from None

    keep = set(bundle.bpmn_paths)
    meta = {}
    file_of = {pid: pp.filename for pid, pp in parser.process_parsers.items()}
    for wf_spec in [spec, *subprocess_specs.values()]:
        path = file_of.get(wf_spec.name) or bundle.bpmn_paths[0]
        for ts in wf_spec.task_specs.values():
            if is_cycle(getattr(ts, "event_definition", None)):
                raise DeployError("不支持循环定时器：请改用时长或日期时间 (cycle timers are not supported)", file=path,
                                  element=ts.bpmn_id)
            if isinstance(ts, EndEvent):
                outcome = (ts.extensions or {}).get("properties", {}).get("outcome")
                if outcome:
                    meta.setdefault("_outcomes", {})[ts.bpmn_id] = outcome
            if not isinstance(ts, UserTask):
                continue
            meta[ts.bpmn_id] = _user_task_meta(bundle, path, ts, catalogs, keep)
    return key, {p: bundle.files[p] for p in sorted(keep)}, meta


def _user_task_meta(bundle, path, ts, catalogs, keep) -> dict:
    props = (ts.extensions or {}).get("properties", {})
    role = catalogs.role(ts.lane or "")
    if role is None:
        raise DeployError("用户任务不在以角色命名的泳道中：请把它放进某个角色的泳道 (user task is not in a lane that names a "
                          "role)", file=path, element=ts.bpmn_id)
    assignee = props.get("assignee")
    if not assignee or not ASSIGNEE.match(assignee):
        raise DeployError(f"用户任务须有办理人（assignee）属性：community、unit:<变量> 或 person:<变量>（现为 {assignee}） "
                          "(user task needs an 'assignee' property: community, unit:<variable> or "
                          f"person:<variable> (found {assignee!r}))", file=path, element=ts.bpmn_id)
    form_ref = props.get(FORM_PROPERTY)
    if not form_ref:
        raise DeployError(f"用户任务没有表单（{FORM_PROPERTY}）属性：请在属性面板中选择表单 "
                          f"(user task has no '{FORM_PROPERTY}' property)", file=path, element=ts.bpmn_id)
    form_path = bundle.resolve(path, form_ref)
    if form_path not in bundle.files:
        raise DeployError(f"表单 {form_ref} 不在流程包中：请一并上传 (form {form_ref!r} is not in the bundle)", file=path,
                          element=ts.bpmn_id)
    try:
        schema = forms.parse_form(bundle.files[form_path], form_path)
    except ValueError as err:
        raise DeployError(str(err), file=form_path, element=ts.bpmn_id) from None
    problems = forms.form_problems(schema, set(catalogs.names()))
    if problems:
        raise DeployError(problems[0], file=form_path, element=ts.bpmn_id)
    keep.add(form_path)
    return {"title": ts.bpmn_name or ts.bpmn_id, "lane": ts.lane, "role": role,
            "assignee": assignee, "form": form_path}


def deploy(session, bundle: Bundle, catalogs, registry, clock, actor: str, limits) -> tuple[ProcessVersion, bool]:
    """Store the bundle as the active version of its process. Identical content → the existing
    version and created=False. Every version is kept; running instances stay on theirs."""
    key, files, meta = plan(bundle, catalogs, registry, limits)
    content_hash = Bundle(files).content_hash()
    existing = session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == key,
                                                           ProcessVersion.content_hash == content_hash))
    if existing is not None:            # the same content again: that version, made active if it is not
        if not existing.active:
            session.execute(update(ProcessVersion).where(ProcessVersion.process_key == key).values(active=False))
            existing.active = True
        return existing, False
    number = (session.scalar(select(func.max(ProcessVersion.version))
                             .where(ProcessVersion.process_key == key)) or 0) + 1
    session.execute(update(ProcessVersion).where(ProcessVersion.process_key == key).values(active=False))
    version = ProcessVersion(process_key=key, version=number, content_hash=content_hash,
                             files={p: v.decode("utf-8") for p, v in files.items()}, task_meta=meta,
                             active=True, deployed_at=clock.now(), deployed_by=actor)
    session.add(version)
    session.flush()
    return version, True

