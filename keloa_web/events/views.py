"""Admins see webhook events Keloa could not apply, read why, and send them through again."""
from __future__ import annotations

import json

import redis
from flask import Blueprint, abort, flash
from sqlalchemy import func, select, update

from keloa_web.auth import admin_required
from keloa_web.db import db
from keloa_web.htmx import render_page
from keloa_web.models import EventStatus, WebhookEvent
from keloa_web.webhooks.ingest import request_drain

bp = Blueprint("events", __name__, url_prefix="/admin/events")
PAGE_SIZE = 50
IGNORED_SHOWN = 20  # the latest events that held nothing for Keloa (Messenger, tests, unknown accounts)


def pretty(body: bytes) -> str:
    """The body indented for reading (escaped by the template like any other text)."""
    text = body.decode("utf-8", "replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return text


def _page():
    counts = dict(db.session.execute(
        select(WebhookEvent.status, func.count()).where(WebhookEvent.status.in_((EventStatus.PENDING, EventStatus.FAILED)))
        .group_by(WebhookEvent.status)).all())
    failed = db.session.scalars(select(WebhookEvent).where(WebhookEvent.status == EventStatus.FAILED)
                                .order_by(WebhookEvent.id.desc()).limit(PAGE_SIZE)).all()
    ignored = db.session.scalars(select(WebhookEvent).where(WebhookEvent.status == EventStatus.IGNORED)
                                 .order_by(WebhookEvent.id.desc()).limit(IGNORED_SHOWN)).all()
    return render_page("events/index.html", block="events_body", failed=failed, pretty=pretty, ignored=ignored,
                       pending=counts.get(EventStatus.PENDING, 0), failed_count=counts.get(EventStatus.FAILED, 0))


@bp.get("/")
@admin_required
def index():
    return _page()


def _queue_drain() -> None:
    try:
        request_drain()
    except redis.RedisError:
        flash("Queued in the database; Redis is not reachable, so it runs once Redis is back.", "warning")


@bp.post("/<int:event_id>/retry")
@admin_required
def event_retry(event_id: int):
    event = db.session.get(WebhookEvent, event_id) or abort(404)
    if event.status == EventStatus.FAILED:
        event.status, event.attempts, event.next_attempt_at = EventStatus.PENDING, 0, None
        db.session.commit()
        flash(f"Event {event.id} queued again. It leaves this list once it is applied.", "success")
        _queue_drain()
    else:
        flash(f"Event {event.id} is not failed (it is {event.status}); nothing to retry.", "info")
    return _page()


@bp.post("/retry-all")
@admin_required
def event_retry_all():
    count = db.session.execute(update(WebhookEvent).where(WebhookEvent.status == EventStatus.FAILED)
                               .values(status=EventStatus.PENDING, attempts=0, next_attempt_at=None)).rowcount
    db.session.commit()
    flash(f"{count} failed event(s) queued again." if count else "No failed events to retry.", "success")
    if count:
        _queue_drain()
    return _page()
