"""Keloa: a self-hosted inbox for Instagram Direct Messages."""
from __future__ import annotations

import logging
from importlib import import_module
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent

# Areas of the product, each a blueprint in keloa_web/<area>/views.py.
BLUEPRINTS = ("health", "accounts", "team", "webhooks", "integrations", "inbox", "agents", "media", "events")


def create_app(test_config: dict | None = None) -> Flask:
    from config import Config

    config = Config()
    problems = config.problems()
    if problems:
        raise RuntimeError("Keloa refuses to start in production: " + "; ".join(problems))

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(config.INSTANCE_DIR),
    )
    app.config.from_mapping(config.as_flask())
    if not app.config["REDIS_URL"]:
        app.config["REDIS_URL"] = f"unix://{config.INSTANCE_DIR / 'redis' / 'redis.sock'}"
    if test_config:
        app.config.update(test_config)
    app.config["META_OAUTH_TOKEN_URL"] = app.config.get("META_OAUTH_TOKEN_URL") or (
        f"{app.config['GRAPH_API_BASE']}/{app.config['GRAPH_API_VERSION']}/oauth/access_token"
    )
    Path(app.config["MEDIA_DIR"]).mkdir(parents=True, exist_ok=True)

    from keloa_web import logs
    from keloa_web.sessions import SessionInterface

    logs.init_app(app)
    app.session_interface = SessionInterface()

    from keloa_web.db import db
    from keloa_web.htmx import htmx
    from keloa_web import auth, security

    db.init_app(app)
    htmx.init_app(app)
    auth.init_app(app)
    security.init_app(app)

    for area in BLUEPRINTS:
        try:
            module = import_module(f"keloa_web.{area}.views")
        except ModuleNotFoundError as exc:
            if exc.name != f"keloa_web.{area}" and exc.name != f"keloa_web.{area}.views":
                raise
            continue
        app.register_blueprint(module.bp)

    logging.getLogger(__name__).debug("Keloa app created (%s)", app.config["KELOA_ENV"])
    return app
