"""Every setting, declared once, with its default and its environment variable (STYLE.md §9)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _default_db_url() -> str:
    return f"sqlite:///{ROOT / 'instance' / 'eventflow.sqlite3'}"


@dataclass
class Settings:
    #: SQLAlchemy URL. SQLite is the embedded default; postgresql+psycopg://… to scale out.
    database_url: str = field(default_factory=_default_db_url, metadata={"env": "EVENTFLOW_DATABASE_URL"})
    #: "system" (wall clock) or "simulated" (moved by POST /api/sim/advance; tests and demos only).
    clock: str = field(default="system", metadata={"env": "EVENTFLOW_CLOCK"})
    #: Where a simulated clock starts (ISO date-time with offset); default: the wall clock at first start.
    sim_start: str | None = field(default=None, metadata={"env": "EVENTFLOW_SIM_START"})
    #: Bearer tokens expire after this many seconds.
    token_ttl_seconds: int = field(default=8 * 3600, metadata={"env": "EVENTFLOW_TOKEN_TTL"})
    #: sign-in throttle (engine/accounts/sign_in.py): refused sign-ins are counted over this many seconds
    sign_in_window_seconds: int = field(default=900, metadata={"env": "EVENTFLOW_SIGN_IN_WINDOW_S"})
    #: a client is refused (429) after this many refused sign-ins of one name within the window
    sign_in_per_account: int = field(default=5, metadata={"env": "EVENTFLOW_SIGN_IN_PER_ACCOUNT"})
    #: … or after this many of any names (one office's staff behind one address share it)
    sign_in_per_client: int = field(default=30, metadata={"env": "EVENTFLOW_SIGN_IN_PER_CLIENT"})
    #: proxies in front of the app that set X-Forwarded-For (nginx of deploy/: 1); 0: the connection's address
    #: is the client's. Never more than there are: a client could then name any address it likes
    proxies: int = field(default=0, metadata={"env": "EVENTFLOW_PROXIES"})
    #: Largest accepted request body (deploy uploads, form data), bytes.
    max_upload_bytes: int = field(default=5 * 1024 * 1024, metadata={"env": "EVENTFLOW_MAX_UPLOAD"})
    #: How often `eventflow worker` runs the timer sweep, seconds (a timer fires within about this).
    sweep_interval_seconds: int = field(default=1, metadata={"env": "EVENTFLOW_SWEEP_INTERVAL"})
    #: Directory of catalog data files; default: the catalogs package's own data.
    catalog_dir: str | None = field(default=None, metadata={"env": "EVENTFLOW_CATALOG_DIR"})
    #: Process bundle deployed by `make run` / `eventflow deploy` without a path.
    processes_dir: str = field(default=str(ROOT / "processes"), metadata={"env": "EVENTFLOW_PROCESSES_DIR"})
    #: A closed event may be reopened (a repeat complaint about the same matter) within this many days.
    reopen_window_days: int = field(default=7, metadata={"env": "EVENTFLOW_REOPEN_WINDOW_DAYS"})
    #: how many times a 不满意 回访 (with its cause) reopens an event, back to 研判 (重新办理); after that a
    #: 不满意 is recorded without reopening (engine/casework/revisits.py)
    revisit_reopens: int = field(default=1, metadata={"env": "EVENTFLOW_REVISIT_REOPENS"})
    #: scrypt cost parameter for password hashes (2**14 is the interactive-login recommendation).
    scrypt_n: int = field(default=2**14, metadata={"env": "EVENTFLOW_SCRYPT_N"})
    #: §5.4 a device's signed alert is refused as stale when its X-Timestamp is further than this many
    #: seconds from the wall clock (either way); its signature can never be used again (replay)
    alert_signature_window_s: int = field(default=300, metadata={"env": "EVENTFLOW_ALERT_WINDOW_S"})
    #: §5.4 repeats of one device's alert of one type within this many minutes count on one open event
    alert_repeat_window_min: int = field(default=30, metadata={"env": "EVENTFLOW_ALERT_REPEAT_MIN"})
    #: §7.1/§8.5 photos are stored once per event by content hash: <media_dir>/events/<event id>/<sha256>.<ext>
    media_dir: str = field(default=str(ROOT / "instance" / "media"), metadata={"env": "EVENTFLOW_MEDIA_DIR"})
    #: the largest photo accepted, bytes (a request may carry up to engine.pool.photos.PER_REQUEST of them)
    photo_max_bytes: int = field(default=8 * 1024 * 1024, metadata={"env": "EVENTFLOW_PHOTO_MAX_BYTES"})
    #: the longest side of a photo accepted, pixels
    photo_max_side: int = field(default=10_000, metadata={"env": "EVENTFLOW_PHOTO_MAX_SIDE"})
    #: the most pixels (width × height) a photo may have: checked before decoding (decompression bombs)
    photo_max_pixels: int = field(default=50_000_000, metadata={"env": "EVENTFLOW_PHOTO_MAX_PIXELS"})
    #: a photo whose EXIF GPS lies further than this many metres from the event's location is flagged `far`
    photo_far_m: int = field(default=500, metadata={"env": "EVENTFLOW_PHOTO_FAR_M"})
    #: §8.3 到场: a department's check-in position (the 到场 form's arrival_location) further than this many metres
    #: from the event's location is flagged on the event and in the circular (engine/casework/arrivals.py)
    arrival_far_m: int = field(default=300, metadata={"env": "EVENTFLOW_ARRIVAL_FAR_M"})
    #: a photo whose EXIF capture time is more than this many hours before the report is flagged `old`
    photo_old_h: int = field(default=24, metadata={"env": "EVENTFLOW_PHOTO_OLD_H"})
    #: §5/§7.1 a new report of the same type within this many metres and hours of an open event is
    #: flagged for the registrar as a possible duplicate (merged only by a person)
    duplicate_radius_m: int = field(default=200, metadata={"env": "EVENTFLOW_DUPLICATE_RADIUS_M"})
    duplicate_window_hours: int = field(default=24, metadata={"env": "EVENTFLOW_DUPLICATE_WINDOW_H"})
    #: signs the web app's session cookies. Unset: kept in a file beside a SQLite database (created on first
    #: start); with PostgreSQL set it, the same on every app node, or sessions end at each restart.
    secret_key: str | None = field(default=None, metadata={"env": "EVENTFLOW_SECRET_KEY"})
    #: send the session cookie over HTTPS only (set to 1 behind TLS)
    secure_cookies: int = field(default=0, metadata={"env": "EVENTFLOW_SECURE_COOKIES"})
    #: map tiles for the event page and 待办's map (a Leaflet URL template such as https://tile.example/{z}/{x}/{y}.png,
    #: docs/maps.md: 天地图, a tile server of one's own); empty: no tiles — the maps still draw the community
    #: boundary and the points
    map_tiles: str = field(default="", metadata={"env": "EVENTFLOW_MAP_TILES"})
    #: a second tile layer drawn over the first, e.g. 天地图's labels (cva_w) over its streets (vec_w); empty: none
    map_labels: str = field(default="", metadata={"env": "EVENTFLOW_MAP_LABELS"})
    #: what `{s}` in the templates stands for, one character a server or comma-separated (天地图: 01234567)
    map_subdomains: str = field(default="abc", metadata={"env": "EVENTFLOW_MAP_SUBDOMAINS"})
    #: the key that `{tk}` in the templates stands for (天地图's 浏览器端 key); it reaches the browsers
    map_key: str = field(default="", metadata={"env": "EVENTFLOW_MAP_KEY"})
    #: the credit the tile provider asks for, shown in the map's corner (天地图: its 审图号)
    map_attribution: str = field(default="", metadata={"env": "EVENTFLOW_MAP_ATTRIBUTION"})
    #: the deepest zoom level the tile server has (天地图: 18; OpenStreetMap: 19)
    map_max_zoom: int = field(default=18, metadata={"env": "EVENTFLOW_MAP_MAX_ZOOM"})
    #: the event page's map shows the other open events within this many metres (neighbours, by type; issue #20)
    map_neighbours_m: int = field(default=1000, metadata={"env": "EVENTFLOW_MAP_NEIGHBOURS_M"})
    #: a stored submission whose process has not started this many seconds later (the app stopped between
    #: storing and starting it) is started by the sweep (engine/runtime/sweep.py)
    start_grace_seconds: int = field(default=60, metadata={"env": "EVENTFLOW_START_GRACE_S"})
    #: GET /api/health/worker answers 503 once work `eventflow worker` should have done is this many seconds overdue:
    #: a timer (a time limit, §8.3), a process start, a notice to a channel, a callback (engine/jobs.py `late_work`)
    late_after_seconds: int = field(default=60, metadata={"env": "EVENTFLOW_LATE_AFTER_S"})
    #: how often an app node looks for catalogs another node saved in the app, seconds (engine/accounts/catalog_edits.py)
    catalog_refresh_seconds: int = field(default=5, metadata={"env": "EVENTFLOW_CATALOG_REFRESH_S"})
    #: the assessment score's weights (engine/oversight/assessment.py): indicator:weight, comma-separated (total = full marks)
    #: the two satisfactions share 20: the community's rating of the departments (核查) and the reporter's own (回访)
    assessment_weights: str = field(default="on_time_rate:40,first_time_rate:25,accept_on_time_rate:15,"
                                            "satisfaction_rate:10,citizen_satisfaction_rate:10",
                                    metadata={"env": "EVENTFLOW_ASSESSMENT_WEIGHTS"})
    #: the indicators without which no score is given (无数据，不评分, issue #20), comma-separated: by default 按期处置率,
    #: the score's heaviest part — a party none of whose handling limits fell due in the period has no score and no rank
    assessment_requires: str = field(default="on_time_rate", metadata={"env": "EVENTFLOW_ASSESSMENT_REQUIRES"})
    #: points taken off the score per entry of the period's circular and per failed spot check
    assessment_deduction: int = field(default=2, metadata={"env": "EVENTFLOW_ASSESSMENT_DEDUCTION"})
    #: how often the job that sends the sources' signed callbacks runs, seconds (engine/channels/callbacks.py)
    callback_interval_seconds: int = field(default=5, metadata={"env": "EVENTFLOW_CALLBACK_INTERVAL"})
    #: how often `eventflow worker` counts the days whose §8.6 counts changed into the kept counts, seconds
    #: (engine/oversight/rollups.py; reads are exact meanwhile, they count such days from the tables)
    rollup_interval_seconds: int = field(default=30, metadata={"env": "EVENTFLOW_ROLLUP_INTERVAL_S"})
    #: how often `eventflow worker` copies SQLite's write-ahead log into the database file, seconds (engine/store/db.py
    #: `checkpoint`: then no request's COMMIT does it)
    checkpoint_interval_seconds: int = field(default=1, metadata={"env": "EVENTFLOW_CHECKPOINT_INTERVAL_S"})
    #: how often `eventflow worker` sends the notices due to channels outside the app, seconds
    #: (engine/notices/delivery.py: e-mail, webhooks, DingTalk/WeCom robots)
    notice_interval_seconds: int = field(default=2, metadata={"env": "EVENTFLOW_NOTICE_INTERVAL"})
    #: 导出任务 (issue #17, engine/exports/jobs.py): a circular or monthly report file over a period longer than this
    #: many days is built by `eventflow worker` (files under <media_dir>/exports/), not inside the request
    export_inline_days: int = field(default=31, metadata={"env": "EVENTFLOW_EXPORT_INLINE_DAYS"})
    #: how often `eventflow worker` looks for a queued export, seconds
    export_interval_seconds: int = field(default=3, metadata={"env": "EVENTFLOW_EXPORT_INTERVAL_S"})
    #: a built export file is deleted after this many days (its row kept, 已过期)
    export_keep_days: int = field(default=7, metadata={"env": "EVENTFLOW_EXPORT_KEEP_DAYS"})
    #: an export left 工作中 this many minutes (its worker died) is taken again once, then failed
    export_stale_minutes: int = field(default=30, metadata={"env": "EVENTFLOW_EXPORT_STALE_MIN"})
    #: the address people open the app at, for the links in notices sent outside it (https://… behind nginx)
    public_url: str = field(default="http://127.0.0.1:5000", metadata={"env": "EVENTFLOW_PUBLIC_URL"})
    #: hosts inside the network (comma-separated) that a person's own notice channel may still name, e.g. an SMS
    #: gateway's; any other private, loopback or link-local target is refused but to system administrators
    own_channel_hosts: str = field(default="", metadata={"env": "EVENTFLOW_OWN_CHANNEL_HOSTS"})
    #: where `eventflow serve` listens (gunicorn's bind: HOST:PORT, or unix:PATH); --host/--port override it
    bind: str = field(default="127.0.0.1:5000", metadata={"env": "EVENTFLOW_BIND"})
    #: gunicorn worker processes of `eventflow serve` (each a whole app; about 2 per core)
    web_workers: int = field(default=2, metadata={"env": "EVENTFLOW_WEB_WORKERS"})
    #: threads per gunicorn worker (gthread: a thread per request in flight; 1: the sync worker)
    web_threads: int = field(default=4, metadata={"env": "EVENTFLOW_WEB_THREADS"})
    #: seconds an idle HTTP keep-alive connection stays open (behind a proxy: longer than nothing, shorter than its own)
    keepalive_seconds: int = field(default=5, metadata={"env": "EVENTFLOW_KEEPALIVE_S"})
    #: live inbox (issue #18): Server-Sent Event streams a gunicorn worker process holds at most at once; each holds a
    #: thread, so `eventflow serve` runs EVENTFLOW_WEB_THREADS + this many threads per worker (docs/deploy.md: sizing)
    live_streams: int = field(default=16, metadata={"env": "EVENTFLOW_LIVE_STREAMS"})
    #: a stream ends after this many seconds and the browser reconnects with Last-Event-ID (0: it answers what is
    #: new and ends at once); shorter than EVENTFLOW_WEB_TIMEOUT_S, so a stop or restart waits for no stream
    live_stream_seconds: int = field(default=45, metadata={"env": "EVENTFLOW_LIVE_STREAM_S"})
    #: a comment line on a quiet stream every this many seconds (proxies keep it open; the session is checked again)
    live_heartbeat_seconds: int = field(default=15, metadata={"env": "EVENTFLOW_LIVE_HEARTBEAT_S"})
    #: SQLite: how often each app process looks for new work and messages, milliseconds (PostgreSQL: LISTEN/NOTIFY)
    live_poll_ms: int = field(default=1000, metadata={"env": "EVENTFLOW_LIVE_POLL_MS"})
    #: how often `eventflow worker` prunes the live feed to its newest rows, seconds (engine/notices/live.py)
    live_prune_interval_seconds: int = field(default=600, metadata={"env": "EVENTFLOW_LIVE_PRUNE_S"})
    #: a gunicorn worker silent for this many seconds (a request still running) is restarted; also the grace at a stop
    web_timeout_seconds: int = field(default=60, metadata={"env": "EVENTFLOW_WEB_TIMEOUT_S"})

    @classmethod
    def _env_name(cls, name: str) -> str:
        return next(f.metadata["env"] for f in fields(cls) if f.name == name)

    @classmethod
    def from_env(cls, env=None, **overrides) -> "Settings":
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            name = f.metadata.get("env")
            if name and name in env:
                raw = env[name]
                values[f.name] = int(raw) if f.type == "int" else raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        if settings.clock not in ("system", "simulated"):
            raise ValueError(f"EVENTFLOW_CLOCK must be 'system' or 'simulated', not {settings.clock!r}")
        for name in ("sign_in_window_seconds", "sign_in_per_account", "sign_in_per_client"):
            if getattr(settings, name) < 1:
                raise ValueError(f"{cls._env_name(name)} must be at least 1, not {getattr(settings, name)}")
        if settings.proxies < 0:
            raise ValueError(f"EVENTFLOW_PROXIES must be 0 or more, not {settings.proxies}")
        return settings
