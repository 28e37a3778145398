"""Keloa: a self-hosted inbox for Instagram Direct Messages."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from keloa_web.ids import IdConverter

ROOT = Path(__file__).resolve().parent.parent


def _new_app(test_config: dict | None) -> Flask:
    """A Flask app with Keloa's settings (from the environment, then `test_config`) and logging."""
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
    app.url_map.converters["int"] = IdConverter  # before any route is added
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

    logs.init_app(app)
    for warning in config.warnings():
        logging.getLogger(__name__).warning(warning)
    return app


def create_callback_app(test_config: dict | None = None) -> Flask:
    """The app object wsgi.py serves Meta's webhook callback with (`/webhooks/instagram`).

    Meta's calls carry no session cookie, no sign-in and no CSRF token, so this app has only the
    webhooks blueprint, the database and the headers an API answer needs: each call skips the
    session, sign-in and CSRF machinery of the browser app (measured: a sixth of intake's time,
    bench/bench_intake.py), and a public endpoint parses no cookie. `create_app()` registers the
    same blueprint, so the development server and the tests answer Meta identically.
    """
    from keloa_web.db import db
    from keloa_web.sessions import NoSessions
    from keloa_web.webhooks.views import bp

    app = _new_app(test_config)
    app.session_interface = NoSessions()
    db.attach(app)

    @app.after_request
    def _nosniff(resp):
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp

    app.register_blueprint(bp)
    return app


def create_app(test_config: dict | None = None) -> Flask:
    app = _new_app(test_config)
    from keloa_web.sessions import SessionInterface

    app.session_interface = SessionInterface()

    from keloa_web.db import db
    from keloa_web import auth, htmx, security, templating
    from keloa_web.accounts import two_factor_views
    from keloa_web.integrations import instagram, meta

    db.init_app(app)
    htmx.init_app(app)
    auth.init_app(app)
    two_factor_views.init_app(app)  # the team's two-factor rule, after the sign-in check
    security.init_app(app)
    templating.init_app(app)
    meta.init_app(app)  # Facebook Login (Authlib)
    instagram.init_app(app)  # Instagram Login, on the same registry

    # One blueprint per area (keloa_web/<area>/views.py); Meta's deauthorize callback is its own.
    from keloa_web.accounts import views as accounts
    from keloa_web.agents import views as agents
    from keloa_web.contacts import fields as contact_fields
    from keloa_web.contacts import views as contacts
    from keloa_web.events import views as events
    from keloa_web.health import views as health
    from keloa_web.inbox import views as inbox
    from keloa_web.integrations import deauth
    from keloa_web.integrations import views as integrations
    from keloa_web.labels import views as labels
    from keloa_web.live import views as live
    from keloa_web.notifications import views as notifications
    from keloa_web.media import views as media
    from keloa_web.privacy import views as privacy
    from keloa_web.replies import views as replies
    from keloa_web.reports import views as reports
    from keloa_web.team import views as team
    from keloa_web.webhooks import views as webhooks

    for area in (health, accounts, team, webhooks, integrations, deauth, inbox, contacts, replies, labels,
                 contact_fields, agents, media, events, privacy, live, notifications, reports):
        app.register_blueprint(area.bp)

    logging.getLogger(__name__).debug("Keloa app created (%s)", app.config["KELOA_ENV"])
    return app
