"""GET /live: one tab's server-sent events stream.

    event: changes   data: the change feed's newest id   -> the page asks its change poll
    event: notify    data: {id, kind, title, body, url}  -> sound, desktop notification, title count
    : ping                                                -> every LIVE_HEARTBEAT_SECONDS

Each event's id is "<change cursor>.<notification cursor>", so a reconnecting EventSource (which
sends it back as Last-Event-ID) resumes where it was. A stream holds no database session between
looks and ends after LIVE_STREAM_SECONDS (the browser reconnects at once); each process serves at
most LIVE_STREAMS_PER_PROCESS at a time, so streams never take the threads ordinary requests need:
beyond that the answer is 503 and the page keeps polling.
"""
from __future__ import annotations

import json
import threading
import time

from flask import Blueprint, Response, current_app, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from keloa_web import changes
from keloa_web.db import db
from keloa_web.ids import parse_count
from keloa_web.live.bus import wakeups
from keloa_web.models import Notification, UserSession

bp = Blueprint("live", __name__)
_slots_lock = threading.Lock()
_open = 0
PRESENT_KEY = "keloa:present:{}"  # a tab is open for this teammate (the email digest waits)


def _cursors() -> tuple[int, int]:
    raw = request.headers.get("Last-Event-ID") or ""
    if "." in raw:
        a, _, b = raw.partition(".")
        return parse_count(a), parse_count(b)
    return parse_count(request.args.get("cursor")), parse_count(request.args.get("n"))


_by_user: dict[int, int] = {}


def _take_slot(limit: int, user_id: int) -> bool:
    """A stream for `user_id`, within the process's limit and theirs (LIVE_STREAMS_PER_USER, a few
    tabs: the rest of their tabs poll), so one teammate cannot take every stream."""
    global _open
    per_user = current_app.config["LIVE_STREAMS_PER_USER"]
    with _slots_lock:
        if _open >= limit or _by_user.get(user_id, 0) >= per_user:
            return False
        _open += 1
        _by_user[user_id] = _by_user.get(user_id, 0) + 1
        return True


def _give_slot(user_id: int) -> None:
    global _open
    with _slots_lock:
        _open -= 1
        left = _by_user.get(user_id, 1) - 1
        if left > 0:
            _by_user[user_id] = left
        else:
            _by_user.pop(user_id, None)


def open_streams() -> int:
    return _open


def _event(name: str, data: str, cursor: int, notified: int) -> str:
    return f"id: {cursor}.{notified}\nevent: {name}\ndata: {data}\n\n"


def present(app, user_id: int) -> None:
    from keloa_web.jobs import get_redis

    try:
        get_redis(app).set(PRESENT_KEY.format(user_id), "1", ex=3 * app.config["LIVE_HEARTBEAT_SECONDS"])
    except Exception:  # noqa: BLE001 - presence only delays an email digest; never worth a broken stream
        pass


@bp.get("/live")
def stream():
    cfg = current_app.config
    if request.method != "GET":  # (HEAD) a body is never read: no stream, no slot taken
        return Response("", 200, {"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    if not _take_slot(cfg["LIVE_STREAMS_PER_PROCESS"], current_user.id):
        return Response("Too many live connections on this server process: this page polls instead.\n", 503,
                        {"Retry-After": "30", "Content-Type": "text/plain; charset=utf-8"})
    app = current_app._get_current_object()
    user_id, session_key = current_user.id, current_user.session_key
    cursor, notified = _cursors()
    open_url = url_for("notifications.open_one", notification_id=0).replace("/0/", "/{}/")  # (no request later)
    wakeups.start(cfg["REDIS_URL"])
    db.session.remove()  # this request's session is done: the stream opens short ones of its own

    def generate():
        # An app context only around each look, never across a `yield`: a tab that goes away ends
        # the generator at a yield, in whatever context the server closes it from.
        try:
            started, heartbeat = time.monotonic(), cfg["LIVE_HEARTBEAT_SECONDS"]
            yield "retry: 2000\n: connected\n\n"
            generation, first = wakeups.generation, True
            while time.monotonic() - started < cfg["LIVE_STREAM_SECONDS"]:
                woken = True
                if not first:
                    seen = generation
                    generation = wakeups.wait(seen, heartbeat)
                    woken = generation != seen
                first = False
                with app.app_context():
                    out, signed_in = _look(user_id, session_key, woken, open_url)
                    present(app, user_id)
                if not signed_in:
                    yield "event: signed-out\ndata: 1\n\n"
                    return
                yield "".join(out) if out else ": ping\n\n"
        finally:
            release()

    def _look(user_id: int, session_key: str | None, woken: bool, open_url: str) -> tuple[list[str], bool]:
        """What changed since the cursors (and whether the sign-in still holds, checked on heartbeats)."""
        nonlocal cursor, notified
        out = []
        from keloa_web.notifications.notify import visible_to

        with db.session_scope(write=False) as s:
            if not _still_signed_in(s, session_key):  # every look: a reset or sign-out ends it at once
                return [], False
            latest = changes.latest_id(s)
            if latest > cursor:
                cursor = latest
                out.append(_event("changes", str(latest), cursor, notified))
            for n in s.scalars(visible_to(s, user_id, select(Notification)).where(Notification.id > notified)
                               .order_by(Notification.id).limit(20)):
                notified = n.id
                out.append(_event("notify", json.dumps(_payload(n, open_url)), cursor, notified))
        return out, True

    released = []

    def release() -> None:  # once, whether the generator ran to its end or never started
        if not released:
            released.append(True)
            _give_slot(user_id)

    resp = Response(generate(), mimetype="text/event-stream", headers={
        "Cache-Control": "no-store", "X-Accel-Buffering": "no"})  # nginx: pass each event on at once
    resp.call_on_close(release)
    return resp


def _still_signed_in(s, session_key: str | None) -> bool:
    from keloa_web.accounts.views import token_hash

    if not session_key:
        return False
    row = s.scalar(select(UserSession).where(UserSession.key_hash == token_hash(session_key)))
    return row is not None and row.ended_at is None


def _payload(n: Notification, open_url: str) -> dict:
    return {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "conversation_id": n.conversation_id,
            "url": open_url.format(n.id)}


def unseen_count(user_id: int) -> int:
    from keloa_web.notifications.notify import visible_to

    return db.session.scalar(visible_to(db.session, user_id, select(func.count()).select_from(Notification))
                             .where(Notification.seen_at.is_(None))) or 0


def latest_notification_id(user_id: int) -> int:
    return db.session.scalar(select(func.max(Notification.id)).where(Notification.user_id == user_id)) or 0

