"""流程版本 in the web app (issue #7): the process versions with who deployed them, when, what each changed,
their instances; deploying a bundle; activating an earlier version (rollback); and migrating running
instances to a version — a dry run per instance, then a move in batches with a progress bar
(web/static/migrate.js); and the 流程异常 (incidents, issue #15) of its steps that failed, each with 重试. The engine
does each step (engine/runtime/versions.py, engine/runtime/instance_migration.py)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf

from engine.runtime import bundle as bundles
from engine.casework import incidents, process_versions
from engine.runtime import versions as version_history
from engine.accounts import permissions
from engine.core.errors import Conflict, DeployError, EventflowError, InvalidData, StepFailed
from engine.core.ids import is_record_id
from web.auth import services
from web.ui import people
from web.ui.session import page
from web.units import items, read, run, run_step
from web.words import say

bp = Blueprint("ui_processes", __name__, url_prefix="/admin/processes")
#: instances moved per request of the page's progress bar
BATCH = 10
#: an instance's status (engine/runtime/instances.py) in the words a process owner reads
INSTANCE_WORDS = {"running": _l("办理中"), "suspended": _l("已挂起"), "completed": _l("已办结"),
                  "terminated": _l("已终止"), "error": _l("出错")}
#: the kinds of BPMN element a version's changes name (engine/runtime/versions.py `changes`), as bpmn-js's
#: Chinese palette names them
ELEMENT_WORDS = {"process": _l("流程"), "collaboration": _l("协作"), "participant": _l("参与者"), "laneSet": _l("泳道集"),
                 "lane": _l("泳道"), "task": _l("任务"), "userTask": _l("用户任务"), "serviceTask": _l("服务任务"),
                 "scriptTask": _l("脚本任务"), "manualTask": _l("手工任务"), "sendTask": _l("发送任务"),
                 "receiveTask": _l("接收任务"), "businessRuleTask": _l("业务规则任务"), "callActivity": _l("调用活动"),
                 "subProcess": _l("子流程"), "startEvent": _l("开始事件"), "endEvent": _l("结束事件"),
                 "intermediateCatchEvent": _l("中间捕获事件"), "intermediateThrowEvent": _l("中间抛出事件"),
                 "boundaryEvent": _l("边界事件"), "exclusiveGateway": _l("排他网关"), "parallelGateway": _l("并行网关"),
                 "inclusiveGateway": _l("包容网关"), "eventBasedGateway": _l("事件网关"), "sequenceFlow": _l("顺序流"),
                 "messageFlow": _l("消息流"), "association": _l("关联"), "textAnnotation": _l("文本注释"),
                 "dataObject": _l("数据对象"), "dataObjectReference": _l("数据对象引用"), "message": _l("消息定义"),
                 "signal": _l("信号定义"), "error": _l("错误定义"), "escalation": _l("升级定义")}
#: what happened to a form file between two versions
FORM_WORDS = {"added": _l("新增表单"), "removed": _l("删除表单"), "changed": _l("修改表单")}


def _words(versions: list[dict]) -> dict:
    """What the version pages show instead of codes: who deployed (by name, 命令行部署 for the command line),
    the instances' statuses and the changed elements' kinds in words."""
    return {"deployers": people.named(v["deployed_by"] for v in versions), "instance_words": INSTANCE_WORDS,
            "element_words": ELEMENT_WORDS, "form_words": FORM_WORDS}


def _listing():
    versions = services().read(version_history.listing)
    return {"versions": versions, **_words(versions)}


@bp.get("")
@page(rule=permissions.VERSIONS)
def index():
    return render_template("ui/admin/processes.html", nav="admin", **_listing())


@bp.post("/deploy")
@page(rule=permissions.VERSIONS)
def deploy():
    """部署: a .bpmn or a .zip bundle, checked before anything changes (engine/runtime/deploy.py)."""
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise InvalidData([{"field": "file", "reason": _("请选择 .bpmn 或 .zip 文件")}])
        version, created = run(process_versions.deploy, bundles.from_upload(upload.filename, upload.read()))
    except (DeployError, InvalidData) as err:
        problem = err.to_dict() if isinstance(err, DeployError) else {"message": "；".join(
            e["reason"] for e in err.details["errors"])}
        return render_template("ui/admin/processes.html", nav="admin", problem=problem, **_listing()), err.status
    flash(_("已部署 %(key)s v%(n)s", key=version.process_key, n=version.version) if created
          else _("内容与 v%(n)s 相同，未生成新版本", n=version.version))
    for warning in read(process_versions.unprovided):    # event types naming a process still missing
        flash(_("附录A %(code)s：%(reason)s", code=warning["field"], reason=say(warning["reason"])), "warning")
    return redirect(url_for("ui_processes.show", version_id=version.id))


@bp.get("/<int:version_id>")
@page(rule=permissions.VERSIONS)
def show(version_id):
    detail = services().read(lambda s: version_history.detail(s, version_id))
    plan = read(process_versions.migration_plan, version_id)
    found = read(incidents.search, {"version_id": version_id}).items   # 流程异常 on it (the newest 100)
    return render_template("ui/admin/process.html", nav="admin", version=detail, plan=plan, batch=BATCH,
                           incidents=found, resolvers=people.named(i.get("resolved_by") for i in found),
                           process_names={detail["process_key"]: detail["name"]},
                           **_words([detail]))


@bp.post("/incidents/<int:incident_id>/retry")
@page(rule=permissions.INCIDENTS)
def retry_incident(incident_id):
    """重试 a 流程异常 (issue #15) from the version's page or the event's page, back to the page it came from."""
    incident = read(incidents.one, incident_id)
    try:
        run_step(incidents.retry, incident_id)
        flash(_("重试成功，流程异常已解决"))
    except StepFailed as err:
        flash(_("重试未成功：%(reason)s", reason=say(err.details.get("reason") or err.message)), "error")
    except (Conflict, InvalidData) as err:
        flash("；".join(say(e["reason"]) for e in err.details.get("errors", [])) or say(err.message), "error")
    if request.form.get("back") == "event":
        return redirect(url_for("ui_events.show", event_id=incident["event_id"]))
    return redirect(url_for("ui_processes.show", version_id=incident["version_id"]))


@bp.post("/<int:version_id>/activate")
@page(rule=permissions.VERSIONS)
def activate(version_id):
    """启用 (rollback)."""
    try:
        version = run(process_versions.activate, version_id)
        flash(_("已启用 %(key)s v%(n)s：新事件按此版本办理", key=version.process_key, n=version.version))
    except Conflict as err:
        flash(say(err.message), "error")
    return redirect(url_for("ui_processes.show", version_id=version_id))


@bp.post("/<int:version_id>/migrate")
@page(rule=permissions.VERSIONS)
def migrate(version_id):
    """One batch of the page's migration (JSON in, JSON out; CSRF in the X-CSRFToken header)."""
    body = request.get_json(silent=True)
    wanted = body.get("instances") if isinstance(body, dict) else None
    if not isinstance(wanted, list) or not wanted or len(wanted) > BATCH or \
            not all(is_record_id(i) for i in wanted):
        return {"error": "invalid", "errors": [{"field": "instances", "reason": f"1 to {BATCH} instance ids"}]}, 422
    try:
        read(process_versions.target, version_id)
    except EventflowError as err:
        return err.to_dict(), err.status
    results = services().migrate_instances(version_id, wanted, g.user.username)
    return items(read(process_versions.shown, results))


@bp.get("/<int:version_id>/files/<path:path>")
@page(rule=permissions.VERSIONS)
def file(version_id, path):
    """One BPMN file of a version, for the modeler."""
    svc = services()
    files = svc.read(lambda s: _files(s, version_id))
    if not path.endswith(".bpmn") or path not in files:
        abort(404)
    return files[path], 200, {"Content-Type": "application/xml; charset=utf-8", "Cache-Control": "no-store"}


def _files(session, version_id) -> dict:
    files = version_history.files_of(session, version_id)
    if files is None:
        abort(404)
    return files


@bp.route("/<int:version_id>/modeler", methods=["GET", "POST"])
@page(rule=permissions.VERSIONS)
def modeler(version_id):
    """流程建模: bpmn-js opens a file of this version; saving deploys the bundle with that file changed as a
    new version (checked first; a refusal names the element, which the page marks on the diagram)."""
    svc = services()
    files = svc.read(lambda s: _files(s, version_id))
    diagrams = sorted(p for p in files if p.endswith(".bpmn"))
    path = request.args.get("file") or next((p for p in diagrams if "event_flow" in p), diagrams[0])
    if path not in diagrams:
        abort(404)
    if request.method == "POST":
        xml = request.get_data()
        changed = {name: text.encode("utf-8") for name, text in files.items()}
        changed[path] = xml
        try:
            version, _created = run(process_versions.deploy, bundles.Bundle(changed))
        except (DeployError, InvalidData) as err:
            body = err.to_dict()       # the page's answer: its words in the reader's language (issue #20)
            return {**body, "message": say(body["message"]), "reason": say(body.get("reason") or "；".join(
                e["reason"] for e in body.get("errors", [])) or body["message"])}, 400
        return {"version_id": version.id, "version": version.version,
                "version_url": url_for("ui_processes.show", version_id=version.id)}
    detail = svc.read(lambda s: version_history.detail(s, version_id))
    settings = {"file_url": url_for("ui_processes.file", version_id=version_id, path=path),
                "save_url": url_for("ui_processes.modeler", version_id=version_id, file=path),
                "csrf": generate_csrf(), "forms": sorted(p for p in files if p.endswith(".json")),
                "operations": sorted(svc.env.registry.names()),
                "roles": [r["label"] for r in svc.catalogs.options("roles")],
                "deadline_kinds": [{"code": k["code"], "name": k["name"]} for k in svc.catalogs.get("deadline_kinds")],
                "words": {"saving": _("正在校验并部署…"), "refused": _("未部署：")},
                "locale": str(get_locale())}        # bpmn-js's words in the page's language (src/translate.js)
    return render_template("ui/admin/modeler.html", nav="admin", version=detail, path=path, diagrams=diagrams,
                           settings=settings)
