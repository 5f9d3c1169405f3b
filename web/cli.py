"""The `eventflow` command (click, as Flask does)."""
from __future__ import annotations

import os
import secrets
import signal

import click

from engine.runtime import bundle as bundles, versions as version_history
from engine.accounts import demo, users
from engine.casework import process_versions
from engine.core.config import Settings
from engine.store.db import has_table, init_db
from engine.core.errors import EventflowError
from engine import jobs
from engine.limits import deadlines



def _services(ctx):
    from web.services import Services
    if ctx.obj is None:
        ctx.obj = Services.build(Settings.from_env())
    return ctx.obj


def _run(ctx, op, *args):
    """`op(cmd, *args)` in one write unit of work, for no signed-in user (the command's actor is "system"
    unless it names one)."""
    svc = _services(ctx)
    return svc.run(lambda s: op(svc.command(s), *args))


def _version_id(ctx, process: str, version: int) -> int:
    """The id of VERSION of PROCESS, or the command fails naming them."""
    rows = [r for r in _services(ctx).read(lambda s: version_history.listing(s, process)) if r["version"] == version]
    if not rows:
        raise click.ClickException(f"no version {version} of process {process!r}")
    return rows[0]["id"]


def _secret(done: str, secret: str, keep: str) -> None:
    """What was set up, and its secret, printed this once only (only a hash or the holder keeps it)."""
    click.echo(done)
    click.echo(f"secret: {secret}")
    click.echo(keep)


def _fail(err: Exception):
    raise click.ClickException(err.message if isinstance(err, EventflowError) else str(err))


class Commands(click.Group):
    """The one place a refused command becomes its message and exit status 1 (no traceback)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EventflowError as err:
            _fail(err)


@click.group(cls=Commands)
def main():
    """eventflow: community event flow and disposal (DB330383/T 5—2021)."""


@main.command("init-db")
@click.pass_context
def init_db_command(ctx):
    """Create or upgrade the database schema (Alembic)."""
    svc = _services(ctx)
    init_db(svc.db)
    click.echo(f"database ready: {svc.db.url.render_as_string(hide_password=True)}")


@main.command("load-catalogs")
@click.pass_context
def load_catalogs_command(ctx):
    """Validate the catalog files and show what they hold (they are read from disk at start-up); an event
    type naming a process (Table A.1 `process`) that no active version provides is refused."""
    svc = _services(ctx)
    for name in svc.catalogs.names():
        data = svc.catalogs.get(name)
        size = len(data["features"]) if isinstance(data, dict) and "features" in data else len(data)
        click.echo(f"{name}: {size}")
    missing = _unprovided(svc)
    if missing:
        raise click.ClickException("; ".join(missing) + " (deploy the process first: eventflow deploy)")
    click.echo(f"catalogs valid, content hash {svc.catalogs.content_hash[:12]}")
    if has_table(svc.db, "deadline"):  # the working calendar may have changed: move what depends on it
        moved = svc.run(lambda s: deadlines.move_with_calendar(svc.command(s)))
        if moved:
            click.echo(f"{moved} pending working-day deadlines moved with the calendar")


def _unprovided(svc) -> list[str]:
    """`event_types.json A05.process: …` for each event type naming a process no active version provides."""
    if not has_table(svc.db, "process_version"):
        return [f"event_types.json {code}.process: 尚未初始化数据库 (no database yet: eventflow init-db)"
                for code in svc.catalogs.processes_named()]
    return [f"{m['field']}: {m['reason']}" for m in svc.read(lambda s: process_versions.unprovided(svc.command(s)))]


def _warn_unprovided(svc) -> None:
    for line in _unprovided(svc):
        click.echo(f"warning: {line}", err=True)


@main.command()
@click.argument("path", required=False)
@click.option("--actor", default="cli", help="who deployed it (audit)")
@click.pass_context
def deploy(ctx, path, actor):
    """Deploy a process bundle (a folder, a .zip or a .bpmn); identical content makes no new version."""
    svc = _services(ctx)
    path = path or svc.settings.processes_dir
    if path.endswith(".zip"):
        bundle = bundles.from_zip(open(path, "rb").read(), path)
    elif path.endswith(".bpmn"):
        bundle = bundles.from_bpmn(path, open(path, "rb").read())
    else:
        bundle = bundles.from_directory(path)
    version, created = _run(ctx, process_versions.deploy, bundle, actor)
    state = "deployed" if created else "unchanged, already"
    click.echo(f"{version.process_key} v{version.version} {state} (hash {version.content_hash[:12]})")
    _warn_unprovided(svc)


@main.command()
@click.option("--process", default=None, help="only this process key")
@click.option("--changes", "show_changes", is_flag=True, help="also what each version changed against the one before")
@click.pass_context
def versions(ctx, process, show_changes):
    """List the deployed process versions: who, when, hash, active, instances by status."""
    svc = _services(ctx)
    rows = svc.read(lambda s: version_history.listing(s, process))
    if not rows:
        click.echo("no process version deployed")
    for row in rows:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(row["instances_by_status"].items())) or "no instances"
        mark = "*" if row["active"] else " "
        click.echo(f"{mark} {row['process_key']} v{row['version']}  id {row['id']}  {row['deployed_at'][:16]} "
                   f"{row['deployed_by']}  {row['content_hash'][:12]}  ({counts})")
        if show_changes:
            found = svc.read(lambda s, i=row["id"]: version_history.detail(s, i))["changes"]
            if found["first"]:
                click.echo("    first version")
            for kind in ("added", "removed", "changed"):
                for element in found[kind]:
                    click.echo(f"    {kind:8} {element['type']} {element['id']} {element['name']}")
            for kind, paths in found["forms"].items():
                for path in paths:
                    click.echo(f"    {kind:8} form {path}")
            if found["layout_changed"]:
                click.echo("    layout changed")


@main.command()
@click.argument("process")
@click.argument("version", type=int)
@click.option("--actor", default="cli", help="who activated it (audit)")
@click.pass_context
def activate(ctx, process, version, actor):
    """Make VERSION of PROCESS the active one (a rollback to an earlier one): new events start on it."""
    _run(ctx, process_versions.activate, _version_id(ctx, process, version), actor)
    click.echo(f"{process} v{version} is now active: new events start on it; running instances stay on theirs")


@main.command()
@click.argument("process")
@click.argument("version", type=int)
@click.option("--dry-run", is_flag=True, help="only say, per instance, whether it can move and why not")
@click.option("--actor", default="cli", help="who moved them (audit)")
@click.pass_context
def migrate(ctx, process, version, dry_run, actor):
    """Move the running instances of PROCESS to VERSION (those that can; the others are listed with why)."""
    svc = _services(ctx)
    target_id = _version_id(ctx, process, version)
    plan = svc.read(lambda s: process_versions.migration_plan(svc.command(s), target_id))
    for item in plan["items"]:
        state = "can move" if item["can_move"] else "cannot move: " + "; ".join(item["reasons"])
        timers = ", ".join(f"{t['timer']} {t['due_at'][:16]}" for t in item["timers_kept"])
        click.echo(f"{item['event_number']} (instance {item['instance_id']}, v{item['from_version']}): {state}"
                   + (f"; timers keep their due times: {timers}" if timers and item["can_move"] else ""))
    movable = [i["instance_id"] for i in plan["items"] if i["can_move"]]
    click.echo(f"{len(movable)} of {len(plan['items'])} can move to {process} v{version}")
    if dry_run or not movable:
        return
    with click.progressbar(length=len(movable), label="migrating") as bar:
        results = svc.migrate_instances(target_id, movable, actor, lambda done, total: bar.update(1))
    moved = sum(1 for r in results if r["moved"])
    for r in results:
        if not r["moved"]:
            click.echo(f"instance {r['instance_id']} not moved: {'; '.join(r['reasons'])}")
    click.echo(f"{moved} instances moved to {process} v{version}")


@main.command("create-user")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="role code; repeat for several")
@click.option("--community", default=None)
@click.option("--unit", default=None)
@click.option("--department", default=None, help="the unit of a city department (same as --unit)")
@click.option("--password", required=True)
@click.option("--display-name", default=None)
@click.option("--sensitive-access", is_flag=True, help="a cadre designated for Table A.1 rows 1–3 (重点人员、警情)")
@click.pass_context
def create_user(ctx, name, roles, community, unit, department, password, display_name, sensitive_access):
    """Create a user with roles and a scope (a community and/or a unit)."""
    svc = _services(ctx)
    svc.run(lambda s: users.create_user(s, svc.catalogs, svc.env.wall_clock, name, password, roles,
                                        community, unit or department, display_name,
                                        svc.settings.scrypt_n, sensitive_access))
    click.echo(f"user {name} created")


@main.command("demo-data")
@click.option("--password", default=None, help="one password for every demo user (default: random)")
@click.pass_context
def demo_data(ctx, password):
    """Create demo users for every role and scope and print their passwords (demo only)."""
    svc = _services(ctx)
    password = password or secrets.token_urlsafe(9)
    for entry in demo.DEMO_USERS:
        username, display, roles = entry[:3]
        if svc.read(lambda s, u=username: users.exists(s, u)):
            click.echo(f"{username:11} exists")
            continue
        _run(ctx, demo.create, entry, password, svc.settings.scrypt_n)
        click.echo(f"{username:11} {password}  {display} ({', '.join(roles)})")


@main.command()
@click.option("--events", "count", type=int, default=1000, show_default=True, help="how many reports (§5's six sources)")
@click.option("--from", "start", default=None, help="first day or instant (ISO, +08:00 if none); default: 30 days before --to")
@click.option("--to", "end", default=None, help="the end (ISO); default: now on the app's clock")
@click.option("--seed", type=int, default=0, show_default=True, help="the same seed replays the same history")
@click.option("--if-empty", is_flag=True, help="do nothing if the database has events already (make run)")
@click.option("--password", default=None, help="the simulated staff's password (default: random)")
@click.pass_context
def simulate(ctx, count, start, end, seed, if_empty, password):
    """Replay a realistic synthetic history through the engine on a simulated clock (engine/simulation.py):
    reports from the six sources, every path of Figure 1, the §9 patrols, hazard points and spot checks."""
    import time
    from datetime import timedelta
    from engine import simulation
    svc = _services(ctx)
    if if_empty and simulation.has_events(svc.session_factory):
        click.echo("the database has events already: nothing simulated")
        return
    end_at = _instant(end) if end else svc.clock.now()
    start_at = _instant(start) if start else end_at - timedelta(days=30)
    if end_at <= start_at:
        raise click.ClickException("--to must be after --from")
    began = time.perf_counter()
    with click.progressbar(length=count, label=f"simulating {count} reports") as bar:
        outcome = simulation.run(svc.session_factory, svc.env, count, start_at, end_at, seed=seed, password=password,
                                 scrypt_n=svc.settings.scrypt_n, progress=bar.update)
    took = time.perf_counter() - began
    summary = outcome.as_dict()
    click.echo(f"{summary['registered']} reports registered ({', '.join(f'{k} {v}' for k, v in summary['reports'].items())}), "
               f"{summary['moves']} moves, {summary['timers_fired']} timers fired, in {took:.0f} s "
               f"({count / took:.1f} reports/s)")
    reached = svc.read(simulation.paths_reached)
    click.echo("paths: " + ", ".join(f"{k} {v}" for k, v in reached.items()))
    for line in summary["refused"] + summary["errors"]:
        click.echo(f"  {line}")
    if svc.clock.simulated and svc.clock.now() < end_at:   # the app goes on from the end of the history
        svc.clock.set(end_at)
        svc.run(svc.save_clock)
    if summary["errors"]:
        raise click.ClickException(f"{len(outcome.errors)} stories failed (see the log)")


@main.group()
def rollups():
    """The §8.6 counts kept per day and party (engine/oversight/rollups.py)."""


@rollups.command("rebuild")
@click.pass_context
def rollups_rebuild(ctx):
    """Count every day with data again (after a restore, or to check): reads stay exact meanwhile."""
    import time
    from engine.oversight import rollups as kept
    svc = _services(ctx)
    began = time.perf_counter()
    days = svc.run(kept.rebuild)
    click.echo(f"{days} days counted in {time.perf_counter() - began:.1f} s")


@rollups.command("refresh")
@click.pass_context
def rollups_refresh(ctx):
    """Count the days listed as changed (what `eventflow worker` does every EVENTFLOW_ROLLUP_INTERVAL_S)."""
    from engine.oversight import rollups as kept
    days = _services(ctx).run(kept.refresh)
    click.echo(f"{len(days)} days counted")


def _instant(text: str):
    from datetime import datetime
    from engine.core.clock import SHANGHAI
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO date or date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


@main.group()
def device():
    """IoT sensors and video-AI cameras that post signed alerts (§5.4; docs/devices.md)."""


@device.command("register")
@click.argument("device_id")
@click.option("--community", required=True, help="the community the device is registered to")
@click.option("--kind", type=click.Choice(["camera", "sensor"]), default="camera", show_default=True)
@click.pass_context
def device_register(ctx, device_id, community, kind):
    """Register a device and print its signing secret (shown this once only)."""
    from engine.channels import devices
    secret = _run(ctx, lambda cmd: devices.register(cmd.session, device_id, community, kind, cmd.now(), cmd.catalogs))
    _secret(f"device {device_id} registered ({kind}, {community})", secret,
            "keep it on the device: it is not shown again (sign with HMAC-SHA256, docs/devices.md)")


@device.command("revoke")
@click.argument("device_id")
@click.pass_context
def device_revoke(ctx, device_id):
    """Refuse the device's alerts from now on (its events stay)."""
    from engine.channels import devices
    _run(ctx, lambda cmd: devices.revoke(cmd.session, device_id, cmd.now()))
    click.echo(f"device {device_id} revoked")


@main.group()
def callback():
    """Signed callbacks of outcomes to channels that cannot poll (§7.1 反馈来源; engine/channels/callbacks.py)."""


@callback.command("set")
@click.argument("channel")
@click.argument("url")
@click.option("--stages", "mode", flag_value="stages", default=None,
              help="hear every stage (受理, 吹哨派单, 签收受理, 延期, 退回/改派, 处置反馈 …) and the outcome")
@click.option("--outcome-only", "mode", flag_value="outcome",
              help="hear the outcome only (the default for a new endpoint)")
@click.pass_context
def callback_set(ctx, channel, url, mode):
    """Send CHANNEL's outcomes (a channels-catalog code or a device id) to URL; print the signing secret.
    Set again, an endpoint keeps what it heard unless --stages or --outcome-only says otherwise."""
    from engine.channels import callbacks
    secret = _run(ctx, lambda cmd: callbacks.set_endpoint(cmd.session, cmd.catalogs, channel, url, cmd.now(), mode))
    heard = {"stages": "every stage and the outcome", "outcome": "the outcome only"}.get(mode, "as before (a new one: the outcome only)")
    _secret(f"callbacks of {channel} go to {url}: {heard}", secret,
            "verify X-Eventflow-Signature with it: it is not shown again (docs/callbacks.md)")


@callback.command("remove")
@click.argument("channel")
@click.pass_context
def callback_remove(ctx, channel):
    """Stop CHANNEL's callbacks (pending ones are not sent)."""
    from engine.channels import callbacks
    _run(ctx, lambda cmd: callbacks.remove_endpoint(cmd.session, channel, cmd.now()))
    click.echo(f"callbacks of {channel} removed")


@main.group("api-key")
def api_key():
    """API keys of the §5.3 citizen channels for Open311 (docs/open311.md)."""


@api_key.command("create")
@click.argument("channel")
@click.option("--actor", default="cli", help="who created it (kept with the key)")
@click.pass_context
def api_key_create(ctx, channel, actor):
    """Create a key for CHANNEL (hotline_12345, zhihui_cunshe, suishoupai, zhifa_platform); printed once."""
    from engine.accounts import apikeys
    key = _run(ctx, lambda cmd: apikeys.create(cmd.session, channel, actor, cmd.now(), cmd.catalogs))
    click.echo(f"api key for {channel}: {key}")
    click.echo("keep it with the channel: only its hash is stored, it is not shown again")


@api_key.command("revoke")
@click.argument("key")
@click.pass_context
def api_key_revoke(ctx, key):
    """End KEY (the whole key, or its prefix as `api-key list` shows it): refused from now on."""
    from engine.accounts import apikeys
    row = _run(ctx, lambda cmd: apikeys.revoke(cmd.session, key, cmd.now()))
    click.echo(f"api key {row.prefix}… of {row.channel} revoked")


@api_key.command("list")
@click.pass_context
def api_key_list(ctx):
    """Every key's prefix, channel and state (never the keys themselves)."""
    from engine.accounts import apikeys
    from engine.core.clock import local
    svc = _services(ctx)
    for row in svc.read(apikeys.listing):
        state = f"revoked {local(row.revoked_at)}" if row.revoked_at else "active"
        click.echo(f"{row.prefix}  {row.channel:15} created {local(row.created_at)} by {row.created_by}  {state}")


@main.command()
@click.argument("dest_dir", type=click.Path(file_okay=False))
@click.pass_context
def backup(ctx, dest_dir):
    """Copy the database, consistent while the app runs, into DEST_DIR (SQLite: the online backup API;
    PostgreSQL: pg_dump's custom format for pg_restore); the photos are copied beside it by
    deploy/backup.sh (docs/deploy.md)."""
    from datetime import datetime, timezone
    from pathlib import Path
    from engine.store.backup import backup as copy_database
    from subprocess import CalledProcessError
    settings = Settings.from_env()
    try:
        written = copy_database(settings.database_url, Path(dest_dir), datetime.now(timezone.utc))
    except (ValueError, OSError, CalledProcessError) as err:
        raise click.ClickException(f"no backup written: {err}") from err
    click.echo(f"database copied to {written}")


@main.command()
@click.option("--check", is_flag=True, help="only say whether web/openapi.json and README.md are up to date")
def docs(check):
    """Write who may call each operation (engine/accounts/permissions.py) into web/openapi.json (x-permission,
    x-roles) and the README's role × operation table."""
    from web import apidoc, create_app
    from web.services import Services
    app = create_app(services=Services.build(Settings.from_env(env={}, database_url="sqlite://")))
    document, readme = apidoc.render(app)
    stale = [path for path, text in ((apidoc.OPENAPI, document), (apidoc.README, readme))
             if path.read_text(encoding="utf-8") != text]
    if check:
        if stale:
            raise click.ClickException("out of date: " + ", ".join(p.name for p in stale) + " (run eventflow docs)")
        return
    apidoc.write(app)
    click.echo("written: " + (", ".join(p.name for p in stale) or "nothing changed"))


def _caught_up(svc) -> None:
    from web.scheduler import catch_up
    caught = catch_up(svc)
    warnings = len(caught.of(jobs.WARNINGS))
    if caught.fired or warnings:
        click.echo(f"caught up: {sum(len(v) for v in caught.fired.values())} timers fired, "
                   f"{warnings} warnings sent while the server was down")


@main.command()
@click.option("--host", default=None, help="listen on this address (default: from EVENTFLOW_BIND)")
@click.option("--port", default=None, type=int, help="and this port (default: from EVENTFLOW_BIND)")
@click.option("--workers", default=None, type=int, help="gunicorn worker processes (EVENTFLOW_WEB_WORKERS)")
@click.option("--threads", default=None, type=int, help="threads per gunicorn worker (EVENTFLOW_WEB_THREADS)")
@click.option("--no-worker", is_flag=True, help="serve the app only: the sweep and jobs run elsewhere (`eventflow worker`)")
@click.pass_context
def serve(ctx, host, port, workers, threads, no_worker):
    """Serve the API and the web app under gunicorn, and run `eventflow worker` (the timer sweep and the
    jobs) beside it as a process of its own unless --no-worker. Timers that fell due while it was down fire
    first, in due order, before it serves (web/serving.py)."""
    from web import serving, ui
    svc = _services(ctx)
    settings = svc.settings
    default_host, _, default_port = settings.bind.rpartition(":")
    bind = settings.bind if host is None and port is None else f"{host or default_host}:{port or default_port}"
    if not settings.secret_key:   # one session key for every gunicorn worker (a file beside SQLite)
        os.environ["EVENTFLOW_SECRET_KEY"] = ui.secret_key(settings)
    if not no_worker:
        _caught_up(svc)
    _warn_unprovided(svc)         # served all the same: such an event is stored, marked for 重新启动
    svc.db.dispose()              # no connection crosses gunicorn's forks
    click.echo(f"serving http://{bind} ({workers or settings.web_workers} workers × "
               f"{threads or settings.web_threads} threads + {settings.live_streams} for live streams; "
               f"{'no worker' if no_worker else 'with eventflow worker'}; clock {settings.clock})")
    serving.serve(settings, bind, workers or settings.web_workers, threads or settings.web_threads, not no_worker)


@main.command()
@click.pass_context
def worker(ctx):
    """Run the timer sweep (every EVENTFLOW_SWEEP_INTERVAL seconds) and the jobs — 黄灯预警, the callbacks,
    the start of stored submissions, the §9.2 reminders — until SIGTERM or SIGINT, after firing what fell
    due while none ran. Several may run on PostgreSQL (each timer fires once); on SQLite one. Under a
    simulated clock it sweeps at the time every process shares (web/scheduler.py)."""
    from engine.store import locks
    from web import serving
    from web.scheduler import work
    stop = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)   # before any thread starts: they all inherit it
    svc = _services(ctx)
    with locks.single_worker(svc.db) as alone:
        if not alone:
            raise click.ClickException("another eventflow worker runs on this SQLite database (one only: "
                                       "use PostgreSQL for several)")
        serving.settle()   # before catching up: the workflows it caches are dropped later, and must be freed
        _caught_up(svc)
        click.echo(f"eventflow worker {os.getpid()}: sweep every {svc.settings.sweep_interval_seconds}s, "
                   f"clock {svc.settings.clock}")
        work(svc, lambda: signal.sigwait(stop), report=lambda line: click.echo(f"eventflow worker {os.getpid()}: {line}"))
        click.echo(f"eventflow worker {os.getpid()} stopped")
