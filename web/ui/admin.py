"""目录管理 in the web app (issue #6): a community's whistle list (§7.3.2), time limits (§8.1) and grids (§9.2), the unit
tree and its supervisors (分管领导), duty rosters (值班表), the working calendar (工作日), the escalation
ladder (逐级通知, issue #18), Appendix A Table A.1 and B.1 (issue #19: rows added, worded, retired) and the
communities' step limits (§8.1 社区环节时限, issue #19), edited in forms.
Each form builds the whole catalog and hands it to engine/accounts/catalog_edits.py, which checks it, stores a
revision and audits it; a refused edit shows each row and reason and changes nothing."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from catalogs import parse_duration
from engine.accounts import catalog_edits, permissions
from engine.core.errors import Conflict, InvalidData
from engine.core.ids import MAX_ID
from engine.store.paging import PageRequest
from web.auth import services
from web.ui import people
from web.ui.session import page
from web.units import read
from web.words import say

bp = Blueprint("ui_admin", __name__, url_prefix="/admin")
#: blank rows offered for adding units and duty-roster entries
NEW_ROWS = 3
UNIT_KINDS = {"department": _l("市直部门"), "office": _l("派出机构/基层站所"), "company": _l("企业"),
              "committee": _l("社区联合党委"), "authority": _l("市级主管部门")}
#: the most rows a table form posts (units, duty-roster entries, years)
MAX_ROWS = 2000
#: the longest time limit typed in hours: a year (catalogs/durations.py refuses more)
MAX_HOURS = Decimal(366 * 24)


def _hours(duration: str) -> str:
    """"PT2H" → "2", "PT30M" → "0.5", "P1D" → "24": a limit as staff type it (小时)."""
    hours = Decimal(int(parse_duration(duration).total_seconds())) / 3600
    return format(hours.normalize(), "f")


def _duration(hours: str, field: str, errors: list, label: str = "") -> str | None:
    """What staff typed in hours → an ISO duration; a bad one is named in `errors` (`label`: the field in words)."""
    try:
        value = Decimal(hours.strip())
    except InvalidOperation:
        value = None
    minutes = value * 60 if value is not None and value.is_finite() and 0 < value <= MAX_HOURS else None
    if minutes is None or minutes != minutes.to_integral_value():
        errors.append({"field": field, "reason": _("%(field)s应为大于 0、不超过 8784（一年）的小时数，可到分钟，如 0.5",
                                                   field=label)})
        return None
    h, m = divmod(int(minutes), 60)
    return "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "")


def _limit_label(catalogs, key: str) -> str:
    """A time limit's row in words: 「一般时限」, 「A05 占道经营」."""
    if key == "default":
        return _("「一般时限」")
    row = catalogs.event_type(key) or {}
    return "「%s」" % f"{key} {row.get('content', '')}".strip()


def _count(name: str) -> int:
    """How many rows a table form says it posts (a made-up number is a bad request)."""
    raw = request.form.get(name, "0")
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ROWS:
        abort(400)
    return int(raw)


def _base() -> int | None:
    """The revision the form was opened on (an edit saved since then is not overwritten)."""
    raw = request.form.get("base", "")
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID else None


def _newest(name: str) -> int | None:
    """The revision a form on the catalog `name` opens on."""
    return read(lambda cmd: catalog_edits.newest_of(cmd.session, name))


def _opened(name: str):
    """The catalog `name` as it is, and the revision a form on it opens on."""
    return services().catalogs.get(name), _newest(name)


def _save(save, key: str, document, base, back: str):
    """Save `document` (catalog_edits.save or save_community, under `key`) as the signed-in user; flash what
    changed and go `back`. InvalidData and Conflict go back to the form."""
    svc, user = services(), g.user
    done = svc.edit_catalog(lambda s: save(s, key, document, user, svc.clock.now(), svc.settings.catalog_dir, base))
    if not done["changed"]:
        flash(_("没有修改"))
    else:
        summary = done["summary"]
        flash(_("已保存（修订 %(n)s）：新增 %(a)s，删除 %(r)s，修改 %(c)s", n=done["revision"],
                a=len(summary["added"]), r=len(summary["removed"]), c=len(summary["changed"])))
    return redirect(back)


def _refused(err, rows_at=None) -> tuple[list, int]:
    """A refused edit's errors for the form; `rows_at` maps a saved row's index to its row on the form."""
    if isinstance(err, Conflict):
        return [{"field": err.details.get("field", "(form)"), "reason": say(err.message)}], 409
    errors = []
    for e in err.details["errors"]:
        field, reason = e["field"], say(e["reason"])
        if rows_at is not None and field.startswith("["):
            index, _closing, rest = field[1:].partition("]")
            if index.isdigit() and int(index) < len(rows_at):
                field = _("第 %(n)s 行", n=rows_at[int(index)] + 1) + rest
                # the engine counts the rows it was sent, the form its own (blank ones are not sent)
                reason = reason.replace(f"第 {int(index) + 1} 行", _("第 %(n)s 行", n=rows_at[int(index)] + 1), 1)
        errors.append({"field": field, "reason": reason})
    return errors, 422


@bp.get("/catalogs")
@page(rule=permissions.MANAGE)
def index():
    user = g.user
    communities = [c for c in services().catalogs.options("communities")
                   if catalog_edits.may_edit(user, "communities", c["value"])]
    history = {}
    if permissions.CATALOG_EDIT.allows(user):
        newest = PageRequest(5)
        history = read(lambda cmd: {name: catalog_edits.history(cmd.session, name, newest).items
                                    for name in catalog_edits.EDITABLE})
    return render_template("ui/admin/index.html", nav="admin", communities=communities, history=history,
                           system_admin=permissions.CATALOG_EDIT.allows(user),
                           process_owner=permissions.VERSIONS.allows(user))


@bp.route("/catalogs/communities/<code>", methods=["GET", "POST"])
@page(rule=permissions.COMMUNITY_SETTINGS)
def community(code):
    catalogs = services().catalogs
    current = catalogs.community(code)
    if current is None or not catalog_edits.may_edit(g.user, "communities", code):
        abort(404 if current is None else 403)
    limits = {key: _hours(value) for key, value in current["time_limits"].items()}
    whistle, grids, errors, status = current["whistle_list"], current.get("grids", []), [], 200
    base = _newest("communities")
    if request.method == "POST":
        base = _base()
        whistle = request.form.getlist("whistle_list")
        grids = [line.strip() for line in request.form.get("grids", "").splitlines() if line.strip()]
        limits = {key[len("limit."):]: value for key, value in request.form.items()
                  if key.startswith("limit.") and value.strip()}
        wanted = {}
        for key, hours in limits.items():
            iso = _duration(hours, f"time_limits.{key}", errors, _limit_label(catalogs, key) if key == "default"
                            else _("%(type)s的时限", type=_limit_label(catalogs, key)))
            old = current["time_limits"].get(key)
            wanted[key] = old if old and iso and parse_duration(old) == parse_duration(iso) else iso
        if "default" not in wanted:
            errors.append({"field": "time_limits.default", "reason": _("请填写「一般时限」（§8.1 一般为 2 小时）")})
        status = 422
        if not errors:
            try:
                document = {"whistle_list": whistle, "time_limits": wanted,
                            **({"grids": grids} if grids or "grids" in current else {})}
                return _save(catalog_edits.save_community, code, document, base,
                             url_for("ui_admin.community", code=code))
            except (InvalidData, Conflict) as err:
                errors, status = _refused(err)
    return render_template("ui/admin/community.html", nav="admin", community=current,
                           types=catalogs.get("event_types"), base=base,
                           whistle=set(whistle), limits=limits, grids=grids, errors=errors), status


@bp.route("/catalogs/units", methods=["GET", "POST"])
@page(rule=permissions.CATALOG_EDIT)
def units():
    (saved, base), errors, status = _opened("units"), [], 200
    rows = saved
    if request.method == "POST":
        base, (rows, rows_at, errors) = _base(), _unit_rows(request.form)
        status = 422
        if not errors:
            try:
                return _save(catalog_edits.save, "units", rows, base, url_for("ui_admin.units"))
            except (InvalidData, Conflict) as err:
                errors, status = _refused(err, rows_at)
    return render_template("ui/admin/units.html", nav="admin", rows=rows, errors=errors, kinds=UNIT_KINDS,
                           blank=NEW_ROWS, base=base, codes=[u["code"] for u in saved],
                           names=_unit_names(saved),     # 上级单位 by name; the code is shown second
                           leaders=people.named((u.get("supervisor") or {}).get("username") for u in rows)), status


def _unit_names(units: list[dict]) -> dict[str, str]:
    """{code: name} of the units, a name two units share followed by its code."""
    seen = [u.get("name") for u in units]
    return {u["code"]: u["name"] if u.get("name") and seen.count(u["name"]) == 1 else f"{u.get('name') or ''}（{u['code']}）"
            for u in units}


def _unit_rows(form) -> tuple[list[dict], list[int], list[dict]]:
    """The table as posted: kept rows, changed in place, and the blank rows that were filled in; with the
    form row of each, and a row filled in without a code named (nothing typed is dropped silently)."""
    rows, rows_at, errors = [], [], []
    for index in range(_count("rows")):
        get = lambda name, i=index: (form.get(f"{i}.{name}") or "").strip()   # noqa: E731
        if form.get(f"{index}.delete"):
            continue
        if not get("code"):
            if any(get(k) for k in ("name", "full_name", "supervisor_name", "supervisor_title", "supervisor_username")):
                errors.append({"field": _("第 %(n)s 行", n=index + 1) + ".code",
                               "reason": _("第 %(n)s 行：请填写「代码」（新单位须有代码，如 zhifa）", n=index + 1)})
            continue
        row = {"code": get("code"), "name": get("name"), "kind": get("kind"), "parent": get("parent") or None,
               "supervisor": {"name": get("supervisor_name"), "title": get("supervisor_title")}}
        if get("supervisor_username"):        # the leader's account hears the ladder's 督办 notices
            row["supervisor"]["username"] = get("supervisor_username")
        for optional in ("full_name", "name_en"):
            if get(optional):
                row[optional] = get(optional)
        rows.append(row)
        rows_at.append(index)
    return rows, rows_at, errors


@bp.route("/catalogs/duty_rosters", methods=["GET", "POST"])
@page(rule=permissions.CATALOG_EDIT)
def duty_rosters():
    (rows, base), errors, status = _opened("duty_rosters"), [], 200
    if request.method == "POST":
        base, rows, rows_at = _base(), [], []
        for index in range(_count("rows")):
            get = lambda name, i=index: (request.form.get(f"{i}.{name}") or "").strip()   # noqa: E731
            if request.form.get(f"{index}.delete") or not any(get(k) for k in ("unit", "date", "person", "note")):
                continue
            row = {"unit": get("unit"), "date": get("date"), "person": get("person")}
            if get("note"):
                row["note"] = get("note")
            rows.append(row)
            rows_at.append(index)
        status = 422
        try:
            return _save(catalog_edits.save, "duty_rosters", rows, base, url_for("ui_admin.duty_rosters"))
        except (InvalidData, Conflict) as err:
            errors, status = _refused(err, rows_at)
    return render_template("ui/admin/duty_rosters.html", nav="admin", rows=rows, errors=errors, blank=NEW_ROWS,
                           base=base, units=services().catalogs.options("units")), status


#: the community's own steps a step_limits row times (§8.1, catalogs/data/step_limits.json), as staff read them
STEP_NAMES = {"verify": _l("核实"), "analyse": _l("研判"), "whistle": _l("吹哨/派单"), "check": _l("核查")}


def _minutes(duration: str) -> str:
    """"PT30M" → "30", "PT2H" → "120": a step's limit as staff type it (分钟; a step takes minutes, not hours)."""
    return str(int(parse_duration(duration).total_seconds()) // 60)


def _from_minutes(text: str, field: str, errors: list, label: str = "") -> str | None:
    """What staff typed in minutes → an ISO duration; a bad one is named in `errors` (`label`: the field in words)."""
    minutes = int(text) if text.isascii() and text.isdigit() else 0
    if not 0 < minutes <= MAX_HOURS * 60:
        errors.append({"field": field, "reason": _("%(field)s应为大于 0、不超过 527040（一年）的整数分钟数，如 30",
                                                   field=label)})
        return None
    h, m = divmod(minutes, 60)
    return "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "")


@bp.route("/catalogs/step_limits", methods=["GET", "POST"])
@page(rule=permissions.CATALOG_EDIT)
def step_limits():
    """§8.1 社区环节时限: a row per community (or every community) and event type (or every type), each step's
    limit typed in minutes; a step left empty is taken from the next row (catalogs/README.md)."""
    (saved, base), errors, status = _opened("step_limits"), [], 200
    rows = [{**row, **{step: _minutes(row[step]) for step in STEP_NAMES if step in row}} for row in saved]
    if request.method == "POST":
        base, rows, document, rows_at = _base(), [], [], []
        for index in range(_count("rows")):
            get = lambda name, i=index: (request.form.get(f"{i}.{name}") or "").strip()   # noqa: E731
            typed = {step: get(step) for step in STEP_NAMES if get(step)}
            if request.form.get(f"{index}.delete") or not (get("community") or get("event_type") or typed):
                continue
            row = {"community": get("community") or "*", "event_type": get("event_type") or "default"}
            rows.append({**row, **typed})
            limits = {step: _from_minutes(value, _("第 %(n)s 行", n=index + 1) + f".{step}", errors,
                                          _("第 %(n)s 行的「%(step)s」", n=index + 1, step=STEP_NAMES[step]))
                      for step, value in typed.items()}
            document.append({**row, **limits})
            rows_at.append(index)
        status = 422
        if not errors:
            try:
                return _save(catalog_edits.save, "step_limits", document, base, url_for("ui_admin.step_limits"))
            except (InvalidData, Conflict) as err:
                errors, status = _refused(err, rows_at)
    catalogs = services().catalogs
    return render_template("ui/admin/step_limits.html", nav="admin", rows=rows, errors=errors, blank=NEW_ROWS,
                           base=base, steps=STEP_NAMES, communities=catalogs.options("communities"),
                           types=catalogs.options("event_types")), status


@bp.route("/catalogs/step_limits/<code>", methods=["GET", "POST"])
@page(rule=permissions.COMMUNITY_SETTINGS)
def community_steps(code):
    """§8.1 one community's own step limits, typed in minutes per event type; an empty field is taken from the
    more general row (shown greyed as the placeholder)."""
    catalogs = services().catalogs
    current = catalogs.community(code)
    if current is None or not catalog_edits.may_edit(g.user, "step_limits", code):
        abort(404 if current is None else 403)
    keys = ["default"] + [t["code"] for t in catalogs.get("event_types")]
    mine = {row["event_type"]: row for row in catalogs.get("step_limits") if row["community"] == code}
    typed = {key: {step: _minutes(row[step]) for step in STEP_NAMES if step in row} for key, row in mine.items()}
    errors, status, base = [], 200, _newest("step_limits")
    if request.method == "POST":
        base, typed, body = _base(), {}, {}
        for key in keys:
            hours = {step: (request.form.get(f"{key}.{step}") or "").strip() for step in STEP_NAMES}
            typed[key] = {step: value for step, value in hours.items() if value}
            if typed[key]:
                body[key] = {step: _from_minutes(value, f"{key}.{step}", errors,
                                                 _("%(type)s的「%(step)s」", type=_limit_label(catalogs, key),
                                                   step=STEP_NAMES[step]))
                             for step, value in typed[key].items()}
        status = 422
        if not errors:
            try:
                return _save(catalog_edits.save_community_steps, code, body, base,
                             url_for("ui_admin.community_steps", code=code))
            except (InvalidData, Conflict) as err:
                errors, status = _refused(err)
    # what applies where a field is left empty: the community's own default, else every community's row
    inherited = {key: {step: _minutes(limit) for step in STEP_NAMES
                       if (limit := (mine.get("default", {}).get(step) if key != "default" else None)
                           or catalogs.step_limit(step, "*", key))}
                 for key in keys}
    return render_template("ui/admin/community_steps.html", nav="admin", community=current, base=base,
                           types=catalogs.get("event_types"), steps=STEP_NAMES, typed=typed, inherited=inherited,
                           errors=errors), status


@bp.route("/catalogs/calendar", methods=["GET", "POST"])
@page(rule=permissions.CATALOG_EDIT)
def calendar():
    (document, base), errors, status = _opened("calendar"), [], 200
    if request.method == "POST":
        base, years = _base(), {}
        for index in range(_count("years")):
            get = lambda name, i=index: request.form.get(f"y{i}.{name}") or ""   # noqa: E731
            year = get("year").strip()
            if year and not get("delete"):
                years[year] = {kind: get(kind).split() for kind in ("holidays", "workdays")}   # a date a line
            elif not year and (get("holidays").strip() or get("workdays").strip()):
                errors.append({"field": f"y{index}.year", "reason": _("新增年份：请填写「年份」，如 2027")})
        document = {**document, "office_hours": {"start": request.form.get("office_start", "").strip(),
                                                 "end": request.form.get("office_end", "").strip()},
                    "years": years}
        status = 422
        if not errors:
            try:
                return _save(catalog_edits.save, "calendar", document, base, url_for("ui_admin.calendar"))
            except (InvalidData, Conflict) as err:
                errors, status = _refused(err)
    return render_template("ui/admin/calendar.html", nav="admin", document=document, errors=errors,
                           base=base), status


#: the escalation ladder's triggers and recipients in the words staff read (catalogs/data/escalation.json)
TRIGGERS = {"dispatched": _l("派单（时限开始）"), "warning": _l("黄灯预警"), "missed": _l("红灯超期"),
            "missed_for": _l("超期后仍未办结满")}
RECIPIENTS = {"responsible": _l("承办单位和人员"), "unit": _l("承办单位"), "person": _l("承办人"),
              "community": _l("所在社区"), "supervisor": _l("承办单位分管领导"), "authority": _l("市级主管部门（市社会治理中心）"),
              "duty_officer": _l("非工作时间同时通知值班人员")}
#: the placeholders a rung's message may use (catalogs/checks.py PLACEHOLDERS), explained
PLACEHOLDER_WORDS = {"number": _l("事件编号"), "limit": _l("时限名称"), "limit_clause": _l("时限条款"),
                     "due_at": _l("到期时间"), "assignee": _l("承办单位/人员"), "unit": _l("承办单位"),
                     "person": _l("承办人"), "community": _l("社区"), "supervisor": _l("分管领导职务姓名"),
                     "after": _l("超期时长"), "clause": _l("本级条款")}


@bp.route("/catalogs/escalation", methods=["GET", "POST"])
@page(rule=permissions.CATALOG_EDIT)
def escalation():
    (rows, base), errors, status = _opened("escalation"), [], 200
    if request.method == "POST":
        base, (rows, errors) = _base(), _rung_rows(request.form)
        status = 422
        if not errors:
            try:
                return _save(catalog_edits.save, "escalation", rows, base, url_for("ui_admin.escalation"))
            except (InvalidData, Conflict) as err:
                errors, status = _refused(err)
    catalogs = services().catalogs
    codes = [r["code"] for r in catalogs.get("escalation")]   # a saved rung keeps its code (waiting rows name it)
    return render_template("ui/admin/escalation.html", nav="admin", rows=rows, errors=errors, base=base, codes=codes,
                           triggers=TRIGGERS, recipients=RECIPIENTS, placeholders=PLACEHOLDER_WORDS,
                           limits=catalogs.options("deadline_kinds"), units=catalogs.options("units"),
                           hours=lambda row: _hours(row["after"]) if row.get("after") else ""), status


def _rung_rows(form) -> tuple[list[dict], list[dict]]:
    """The rungs as posted (a fieldset each, `r<i>.`), with the new one if filled in; `after` typed in hours."""
    rows, errors = [], []
    for index in range(_count("rungs")):
        get = lambda name, i=index: (form.get(f"r{i}.{name}") or "").strip()   # noqa: E731
        if form.get(f"r{index}.delete") or not any(get(k) for k in ("code", "name", "message")):
            continue
        row = {"code": get("code"), "name": get("name"), "trigger": get("trigger"),
               "notify": [*form.getlist(f"r{index}.notify"), *(f"unit:{u}" for u in form.getlist(f"r{index}.units") if u)],
               "kind": get("kind"), "clause": get("clause"), "message": get("message")}
        if row["trigger"] == "missed_for":
            row["after"] = _duration(get("after"), f"{row['code'] or f'r{index}'}.after", errors,
                                     _("「%(name)s」的「超期后（小时）」", name=row["name"] or row["code"])) or ""
        limits = form.getlist(f"r{index}.limits")
        if limits:                            # none ticked: every limit
            row["limits"] = limits
        if get("description"):
            row["description"] = get("description")
        rows.append(row)
    return rows, errors


# -- Appendix A Table A.1 and Appendix B Table B.1 (issue #19) --------------------------------------------
#: what a blank row of Table B.1's form holds before anything is typed (its lead: 社区联合党委)
_PRESET = {"lead": "committee"}


def _appendix_rows(form, saved: list[dict], fields: tuple[str, ...], lists: tuple[str, ...] = ()):
    """A table of Table A.1 or B.1 as posted: each row the saved row of its code (so what the form does not
    show — 涉密, the process, English names — is kept) with the fields typed over it (a list keeps its saved
    order, what was added after it); a row marked 删除 left out; blank rows skipped, one filled in without a
    code named. `no` a whole number (else left as typed, for the schema to name)."""
    by_code = {row["code"]: row for row in saved}
    rows, rows_at, errors = [], [], []
    for index in range(_count("rows")):
        get = lambda name, i=index: (form.get(f"{i}.{name}") or "").strip()   # noqa: E731
        if form.get(f"{index}.delete"):
            continue
        code = get("code")
        if not code:
            if any(get(k) not in ("", _PRESET.get(k)) for k in fields) or any(form.getlist(f"{index}.{k}") for k in lists):
                errors.append({"field": _("第 %(n)s 行", n=index + 1) + ".code",
                               "reason": _("第 %(n)s 行：请填写「编码」", n=index + 1)})
            continue
        row = {**by_code.get(code, {}), "code": code}
        for name in fields:
            row[name] = get(name)
        for name in lists:
            posted = [v for v in form.getlist(f"{index}.{name}") if v]
            row[name] = [v for v in row.get(name, []) if v in posted] + \
                [v for v in posted if v not in row.get(name, [])]
        number = row.get("no")
        row["no"] = int(number) if isinstance(number, str) and number.isascii() and number.isdigit() \
            and len(number) <= 6 else number
        if form.get(f"{index}.retired"):
            row["retired"] = True
        else:
            row.pop("retired", None)
        rows.append(row)
        rows_at.append(index)
    return rows, rows_at, errors


def _appendix_page(name: str, fields: tuple[str, ...], lists: tuple[str, ...], template: str, **shown):
    (saved, base), errors, status = _opened(name), [], 200
    rows = saved
    if request.method == "POST":
        base, (rows, rows_at, errors) = _base(), _appendix_rows(request.form, saved, fields, lists)
        status = 422
        if not errors:
            try:
                return _save(catalog_edits.save, name, rows, base, url_for(f"ui_admin.{name}"))
            except (InvalidData, Conflict) as err:
                errors, status = _refused(err, rows_at)
    history = read(lambda cmd: catalog_edits.history(cmd.session, name, PageRequest(20)).items)
    return render_template(template, nav="admin", rows=rows, errors=errors, blank=NEW_ROWS, base=base,
                           codes=[row["code"] for row in saved], history=history, **shown), status


@bp.route("/catalogs/event_types", methods=["GET", "POST"])
@page(rule=permissions.CATALOG_EDIT)
def event_types():
    """附录A 表A.1 社区巡查事件信息清单: rows added and worded; a row events have is retired, not deleted."""
    return _appendix_page("event_types", ("no", "category", "content", "department"), (),
                          "ui/admin/event_types.html", departments=services().catalogs.options("departments"))


@bp.route("/catalogs/one_thing_matters", methods=["GET", "POST"])
@page(rule=permissions.CATALOG_EDIT)
def one_thing_matters():
    """附录B 表B.1 社区治理"一件事": rows, their lead (社区联合党委 or a unit) and co-operating departments."""
    catalogs = services().catalogs
    return _appendix_page("one_thing_matters", ("no", "name", "lead"), ("cooperating",),
                          "ui/admin/one_thing_matters.html", units=catalogs.options("units"),
                          cooperating=[u for u in catalogs.options("departments")
                                       if (catalogs.unit(u["value"]) or {}).get("kind") in ("department", "company")])
