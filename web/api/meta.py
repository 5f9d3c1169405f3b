"""Health and the OpenAPI description."""
import json
from pathlib import Path

from flask import Blueprint

from web.auth import public, services
from engine.store import db

bp = Blueprint("meta", __name__, url_prefix="/api")
OPENAPI = Path(__file__).resolve().parents[1] / "openapi.json"


@bp.get("/health")
@public
def health():
    svc = services()
    try:
        svc.read(db.ping)
        database = "ok"
    except Exception as err:  # noqa: BLE001 - health reports, never raises
        database = f"error: {type(err).__name__}"
    return {"status": "ok" if database == "ok" else "degraded", "database": database,
            "clock": "simulated" if svc.clock.simulated else "system"}, 200 if database == "ok" else 503


@bp.get("/openapi.json")
@public
def openapi():
    return json.loads(OPENAPI.read_text(encoding="utf-8"))
