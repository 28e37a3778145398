"""Integrations for admins: channel cards, their settings, disconnect, backfill progress.

The Meta sign-in and Page picker live in connect.py, live checks in diagnostics.py; both add
routes to this blueprint. The deauthorize callback is its own public blueprint (deauth.py); the
app factory registers both, and sets up Facebook Login (meta.init_app).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from sqlalchemy import select

from keloa_web.auth import admin_required
from keloa_web.db import db
from keloa_web.htmx import hx_redirect, is_htmx, render_page
from keloa_web.ids import parse_id
from keloa_web.integrations import channels as channel_ops
from keloa_web.models import Agent, BackfillState, Channel, ChannelStatus

bp = Blueprint("integrations", __name__, url_prefix="/integrations")
SETTINGS = ("read_receipts", "ai_enabled", "agent_id", "display_name")
STATUS_ORDER = {ChannelStatus.NEEDS_RECONNECT: 0, ChannelStatus.ACTIVE: 1, ChannelStatus.DISCONNECTED: 2}




def get_channel(channel_id: int) -> Channel:
    return db.session.get(Channel, channel_id) or abort(404)


def _agents() -> list[Agent]:
    return list(db.session.scalars(select(Agent).order_by(Agent.name)))


def page_context(**extra) -> dict:
    chans = sorted(db.session.scalars(select(Channel)).all(),
                   key=lambda c: (STATUS_ORDER.get(c.status, 3), c.label.lower()))
    from keloa_web.integrations import instagram, meta

    return {"channels": chans, "agents": _agents(), "saved": None,
            "facebook_login": meta.enabled(),
            "instagram_login": instagram.enabled(), **extra}


@bp.get("/")
@admin_required
def index():
    return render_page("integrations/index.html", **page_context())


@bp.post("/channels/<int:channel_id>/settings")
@admin_required
def settings_update(channel_id: int):
    channel = get_channel(channel_id)
    name = request.form.get("field", "")
    if name not in SETTINGS:
        abort(400)
    error = None
    if name in ("read_receipts", "ai_enabled"):
        setattr(channel, name, request.form.getlist(name)[-1:] == ["1"])
    elif name == "agent_id":
        raw = request.form.get("agent_id", "")
        if raw and not ((agent_id := parse_id(raw)) and db.session.get(Agent, agent_id)):
            error = "That agent no longer exists. Pick another one or \"None\"."
        else:
            channel.agent_id = parse_id(raw)
    else:
        value = request.form.get("display_name", "").strip()
        if len(value) > 120:
            error = "Use at most 120 characters."
        else:
            channel.display_name = value or None
    if error is None:
        db.session.commit()
    else:
        db.session.rollback()
    # The card's summary (title, agent, AI on/off) travels along out-of-band.
    return render_page("integrations/index.html", block=["settings", "summary"], status=400 if error else 200,
                       channel=channel, agents=_agents(), saved=None if error else name, error=error,
                       error_field=name if error else None, oob=True)


@bp.get("/channels/<int:channel_id>/disconnect")
@admin_required
def disconnect_confirm(channel_id: int):
    return render_page("integrations/disconnect.html", channel=get_channel(channel_id))


@bp.post("/channels/<int:channel_id>/disconnect")
@admin_required
def channel_disconnect(channel_id: int):
    channel = get_channel(channel_id)
    warning = channel_ops.disconnect(db.session, channel)
    db.session.commit()
    if warning:
        flash(warning, "warning")
    flash(f"{channel.label} is disconnected. Its conversations stay readable; nothing is sent from it.",
          "success")
    return hx_redirect("integrations.index") if is_htmx() else redirect(url_for("integrations.index"))


@bp.get("/channels/<int:channel_id>/backfill")
@admin_required
def backfill_progress(channel_id: int):
    channel = get_channel(channel_id)
    resp = render_page("integrations/index.html", block="backfill", channel=channel)
    if is_htmx() and channel.backfill_state != BackfillState.RUNNING:
        resp.status_code = 286  # htmx: stop polling
    return resp


from keloa_web.integrations import (  # noqa: E402,F401  (routes on bp)
    connect, diagnostics, icebreakers, instagram_connect, retention_views, team_access,
)
