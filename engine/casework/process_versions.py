"""流程版本 — what a process administrator does to process versions (issue #7): deploy a bundle, activate a
version (a rollback, or forward again), and migrate running instances to one, after a dry run. The
process runtime does each step (engine/runtime/deploy.py, versions.py, instance_migration.py); here
they get the command's parts: the §8 time limits a deploy checks every timer against, the process runtime
a move runs in, and the reader a plan or a result is redacted for (a sensitive event's id and number:
engine/accounts/privacy.py `redact_items`). And which process an event starts: its Table A.1 row may name
one (`process`), else Figure 1's."""
from __future__ import annotations

from engine.accounts import privacy
from engine.core.errors import NotFound
from engine.runtime import deploy as deploying, instance_migration as migration, specs, versions as version_history
from engine.pool import events


def deploy(cmd, bundle, actor: str | None = None):
    """(version, created): the bundle as the active version of its process, or refused naming the file,
    element and reason (DeployError); identical content gives the existing version."""
    env = cmd.env
    return deploying.deploy(cmd.session, bundle, env.catalogs, env.registry, env.clock, actor or cmd.actor,
                            env.limits)


# -- which process an event starts ------------------------------------------------------------------------
def version_for(cmd, event):
    """The id of the active version of the process an event starts: the one its Table A.1 row names (`process`), else
    Figure 1's (engine/wiring.py PROCESS_KEY; a "one thing" matter of Table B.1 too). 404 naming the row's
    field when no active version provides it (deploy it, then 重新启动 the event)."""
    named = cmd.catalogs.process_of(event.type_code)
    key = named or cmd.env.process_key
    version_id = specs.find_active(cmd.session, key)
    if version_id is not None:
        return version_id
    if named:
        field = f"event_types.json {event.type_code}.process"
        raise NotFound(f"事件类型 {event.type_code} 指定的流程「{key}」没有已启用的版本，请先部署该流程 "
                       f"({field}: no version of process {key!r} is deployed)", field=field)
    raise NotFound(f"流程「{key}」没有已启用的版本，请先部署 (no version of process {key!r} is deployed)")


def unprovided(cmd) -> list[dict]:
    """The Table A.1 rows that name a process no active version provides, as {field, reason}: checked by
    `eventflow load-catalogs` (refused), after a deploy and when the server starts (warned)."""
    named = cmd.catalogs.processes_named()
    active = specs.active_keys(cmd.session) if named else set()
    return [{"field": f"event_types.json {code}.process",
             "reason": f"没有已启用的版本提供流程「{key}」，该类事件无法启动 (no active version provides process {key!r})"}
            for code, key in named.items() if key not in active]


def activate(cmd, version_id: int, actor: str | None = None):
    """启用: new events start on this version; running instances stay on theirs."""
    return version_history.activate(cmd.session, version_id, actor or cmd.actor, cmd.now())


def target(cmd, version_id: int):
    """The version to migrate to (404 before anything moves)."""
    return migration.target_of(cmd.session, version_id)


def migration_plan(cmd, version_id: int) -> dict:
    """迁移预演 (dry run): per running or suspended instance of the process on another version, whether it
    can move to this one and why not, and the armed timers that keep their due times."""
    return migration.dry_run(cmd.session, cmd.env.specs, version_id, redact=_redactor(cmd))


def migrate(cmd, instance_id: int, target_id: int, actor: str | None = None) -> dict:
    """迁移 one instance (one unit of work); Conflict with its reasons if it cannot move."""
    return migration.migrate(cmd.session, cmd.env.instances, instance_id, target_id, actor or cmd.actor,
                             start_data=events.initial_data)


def shown(cmd, results: list[dict]) -> list[dict]:
    """A migration's results as the command's user may read them."""
    redact = _redactor(cmd)
    return results if redact is None else redact(results)


def _redactor(cmd):
    """Nothing is hidden from the command line (no user); a signed-in reader sees what they may."""
    return None if cmd.user is None else privacy.redactor(cmd.session, cmd.catalogs, cmd.user)
