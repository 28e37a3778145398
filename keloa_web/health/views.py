"""`/healthz`: is the database reachable, is Redis reachable."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from keloa_web.auth import public
from keloa_web.db import db
from keloa_web.jobs import get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    checks = {}
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # report, never raise: this is the probe
        checks["database"] = f"down: {type(exc).__name__}"
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"down: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "degraded", checks=checks), 200 if healthy else 503
