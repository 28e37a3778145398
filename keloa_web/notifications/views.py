"""The notification list (the bell at the top of every page), opening one, and the preferences
on the Settings page."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select, update

from keloa_web import access
from keloa_web.db import db, utcnow
from keloa_web.htmx import render_page
from keloa_web.models import Conversation, Notification, User
from keloa_web.notifications import prefs
from keloa_web.notifications.notify import visible_to

bp = Blueprint("notifications", __name__)
SHOWN = 50


@bp.get("/notifications")
def index():
    rows = db.session.scalars(visible_to(db.session, current_user.id, select(Notification))
                              .order_by(Notification.id.desc()).limit(SHOWN)).all()
    unseen = {n.id for n in rows if n.seen_at is None}
    with db.session_scope() as s:  # looking at the list is seeing them
        s.execute(update(Notification).where(Notification.user_id == current_user.id,
                                             Notification.seen_at.is_(None)).values(seen_at=utcnow()))
    ids = {n.conversation_id for n in rows if n.conversation_id}
    convs = db.session.scalars(select(Conversation).where(Conversation.id.in_(ids))).all() if ids else []
    return render_page("notifications/index.html", rows=rows, unseen=unseen, notify_unseen=0,
                       contacts={c.id: c.contact for c in convs})


@bp.get("/notifications/<int:notification_id>/open")
def open_one(notification_id: int):
    """What a desktop notification's click opens: its conversation (and it counts as seen)."""
    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != current_user.id:
        abort(404)
    with db.session_scope() as s:
        s.execute(update(Notification).where(Notification.id == n.id, Notification.seen_at.is_(None))
                  .values(seen_at=utcnow()))
    conv = db.session.get(Conversation, n.conversation_id) if n.conversation_id else None
    if conv is None or not access.may_see_channel(db.session, current_user.id, conv.channel_id):
        flash("That conversation is no longer there for you.", "info")
        return redirect(url_for("notifications.index"))
    return redirect(url_for("inbox.conversation_show", conv_id=conv.id))


def seen_for_conversation(s, user_id: int, conv_id: int) -> None:
    """Opening a conversation sees its notifications."""
    s.execute(update(Notification).where(Notification.user_id == user_id, Notification.conversation_id == conv_id,
                                         Notification.seen_at.is_(None)).values(seen_at=utcnow()))


@bp.post("/settings/notifications")
def prefs_save():
    chosen = prefs.from_form(request.form)
    user = db.session.get(User, current_user.id)
    user.notify_prefs = chosen.as_json()
    db.session.commit()
    flash("Notification settings saved.", "success")
    return redirect(url_for("accounts.settings") + "#notifications")
