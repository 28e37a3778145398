"""The inbox: conversation list, one thread, and the cheap change poll that keeps both live (the
live stream, keloa_web/live/, tells the page when to ask it: docs/inbox.md). Every URL is a full page; htmx
requests get the named block of that page.
"""
from __future__ import annotations

import logging

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from redis.exceptions import RedisError

from keloa_web import access, changes, window
from keloa_web.contacts import panel as contact_panel
from keloa_web.notifications.views import seen_for_conversation
from keloa_web.db import db, utcnow
from keloa_web.htmx import is_htmx, render_blocks, render_page
from keloa_web.ids import parse_count, parse_id
from keloa_web.inbox import onboarding, queries, saved_views, snooze, uploads
from keloa_web.models import Channel, Conversation, Message
from keloa_web.security import same_origin_request
from keloa_web.sends import outbox
from keloa_web.mids import latest_customer_mid
from keloa_web.sends.sender_actions import enqueue_mark_seen

bp = Blueprint("inbox", __name__)
log = logging.getLogger(__name__)
THREAD_BLOCKS = ["unread_total", "thread_header", "thread_messages", "window_state"]


@bp.get("/")
def home():
    return redirect(url_for("inbox.index"))


def _context(filters: queries.Filters, conv: Conversation | None = None, before: Message | None = None,
             **extra) -> dict:
    s = db.session
    rows, next_cursor = queries.conversation_page(s, filters, current_user.id, request.args.get("before"))
    ctx = {
        "filters": filters, "rows": rows, "next_cursor": next_cursor, "channels": queries.channels_by_id(s, current_user.id),
        "labels": queries.all_labels(s), "views": saved_views.shown(s, current_user.id),
        "view_query": saved_views.query_of(filters),
        "cursor": changes.latest_id(s), "unread_total": queries.unread_total(s, current_user.id),
        "now": utcnow(), "window": window, "conv": conv, "open_id": conv.id if conv else "",
        "bulk_teammates": queries.active_teammates(s), "snooze_presets": snooze.PRESETS,
        "accounts_hidden": access.visible_channel_ids(s, current_user.id) is not None,
    }
    if conv is not None:
        ctx.update(thread_context(conv, before))
    elif current_user.is_admin:
        ctx["getting_started"] = onboarding.checklist(s)
    ctx.update(extra)
    return ctx


def thread_context(conv: Conversation, before: Message | None = None, with_panel: bool = True, **extra) -> dict:
    """What the thread pane shows; the live poll, which re-renders only its header, messages and
    window state, leaves out the contact panel (`with_panel=False`)."""
    s = db.session
    channel = s.get(Channel, conv.channel_id)
    ctx = {
        "conv": conv, "channel": channel, "thread": queries.load_thread(s, conv, before),
        "human": window.for_conversation(conv, "human"), "ai": window.for_conversation(conv, "ai"),
        "channel_problem": outbox.channel_problem(channel, conv),
        "teammates": access.members_with_access(s, conv.channel_id),
        "now": utcnow(), "window": window, "open_id": conv.id, "error": None, "draft": "", "accept": uploads.ACCEPT,
        "replying_to": None, "erase_error": None, "ai_quiet": _ai_quiet(s, conv, channel),
        "labels": queries.all_labels(s), "snooze_error": None, "snooze_presets": snooze.PRESETS,
        "snooze_check": snooze.wake_check(conv, conv.snoozed_until) if conv.status == "snoozed" else None,
    }
    if with_panel:
        ctx.update(panel=contact_panel.load(s, conv, current_user.id), panel_error=None, panel_saved=None, typed={},
                   note_draft="")
    ctx.update(extra)
    return ctx


def _ai_quiet(s, conv: Conversation, channel: Channel | None):
    """Why the channel's AI agent would stay quiet here now, for the composer (agents/rules.py)."""
    if not (channel and channel.ai_enabled and channel.agent_id):
        return None
    from keloa_web.agents import rules
    from keloa_web.models import Agent

    agent = s.get(Agent, channel.agent_id)
    return rules.standing_quiet(s, conv, agent) if agent is not None else None


@bp.get("/inbox")
def index():
    filters = queries.Filters.from_args(request.args)
    if request.args.get("before"):
        return render_page("inbox/index.html", block="more_rows", **_context(filters))
    return render_page("inbox/index.html", block="conv_list", **_context(filters))


@bp.get("/inbox/c/<int:conv_id>")
def conversation_show(conv_id: int):
    conv = access.conversation_or_404(db.session, current_user.id, conv_id)
    if same_origin_request():  # a link from another site shows the conversation, but reads nothing
        opened(conv)
        db.session.rollback()  # end this request's read snapshot so it sees what opened() wrote
        conv = db.session.get(Conversation, conv_id)
    filters = queries.Filters.from_args(request.args)
    # ?before=<message id>: reading older messages (the live poll leaves that page alone).
    before_id = parse_id(request.args.get("before"))
    before = db.session.get(Message, before_id) if before_id else None
    before = before if before is not None and before.conversation_id == conv.id else None
    if request.headers.get("HX-Target") == "thread-pane":
        ctx = thread_context(conv, before, filters=filters, channels=queries.channels_by_id(db.session, current_user.id),
                             unread_total=queries.unread_total(db.session, current_user.id))
        return render_page("inbox/index.html", block="thread_pane", **ctx)
    # ?reply_to=<message id>: the "Reply to this" link without JavaScript opens the composer so.
    reply_id = parse_id(request.args.get("reply_to"))
    replying = db.session.get(Message, reply_id) if reply_id else None
    if replying is None or replying.conversation_id != conv.id or not replying.mid or replying.deleted:
        replying = None
    return render_page("inbox/index.html", **_context(filters, conv, before=before, replying_to=replying))


def opened(conv: Conversation) -> None:
    """A teammate is looking at it: clear the unread badge and tell Instagram (read receipts on)."""
    with db.session_scope() as s:  # a GET writes here, so in its own short writer transaction
        fresh = s.get(Conversation, conv.id)
        if fresh.unread_count:
            fresh.unread_count = 0
            changes.touch(s, fresh.id)
        seen_for_conversation(s, current_user.id, fresh.id)
        channel = s.get(Channel, fresh.channel_id)
        try:
            enqueue_mark_seen(fresh, channel, latest_customer_mid(s, fresh.id))
        except RedisError as exc:  # a missed "seen" is not worth failing the page; the next open retries
            log.warning("mark_seen for conversation %s not queued: %s", fresh.id, exc)


@bp.get("/inbox/changes")
def changes_poll():
    """204 when nothing changed since `cursor`; else out-of-band swaps for what did."""
    cursor = parse_count(request.args.get("cursor"))
    new_cursor, changed = changes.changed_since(db.session, cursor)
    if not changed:
        return make_response("", 204)
    filters = queries.Filters.from_args(request.args)
    open_id = parse_id(request.args.get("c"))
    open_conv = db.session.get(Conversation, open_id) if open_id in changed and same_origin_request() else None
    if open_conv is not None and not access.may_see_channel(db.session, current_user.id, open_conv.channel_id):
        open_conv = None
    if open_conv is not None:
        # It is on screen: new customer messages are read as they arrive. Before anything is
        # rendered, so its row and the unread total already say so (and the feed entry that
        # clearing the badge adds is part of this answer, not the next one).
        opened(open_conv)
        db.session.rollback()
        new_cursor, changed = changes.changed_since(db.session, cursor)
    rows, gone = [], []
    for conv_id in sorted(changed):
        conv = db.session.get(Conversation, conv_id)
        if conv is not None and queries.matches(db.session, conv_id, filters, current_user.id):
            rows.append(conv)
        elif conv is None or access.may_see_channel(db.session, current_user.id, conv.channel_id):
            gone.append(conv_id)  # (a hidden account's conversations are never named, not even to remove)
    ctx = {"rows": rows, "gone": gone, "cursor": new_cursor, "filters": filters, "now": utcnow(),
           "window": window, "channels": queries.channels_by_id(db.session, current_user.id), "open_id": open_id,
           "unread_total": queries.unread_total(db.session, current_user.id), "conv": None}
    body = render_template("inbox/_changes.html", **ctx)
    if open_conv is not None:
        ctx.update(thread_context(db.session.get(Conversation, open_id), with_panel=False))
        body += render_blocks("inbox/index.html", THREAD_BLOCKS, oob=True, **ctx)
    else:
        body += render_blocks("inbox/index.html", ["unread_total"], oob=True, **ctx)
    resp = make_response(body)
    resp.headers["HX-Trigger"] = "keloa-changes"  # saved views count again (saved_views.py)
    return resp


@bp.get("/inbox/views")
def views_counted():
    """The saved views with their counts (the sidebar asks on load and after each change)."""
    filters = queries.Filters.from_args(request.args)
    if not is_htmx():  # a part of the inbox page: without htmx, the page itself
        return redirect(url_for("inbox.index", **filters.as_args()))
    return render_page("inbox/index.html", block="saved_views", filters=filters, counted=True,
                       views=saved_views.shown(db.session, current_user.id, count=True),
                       view_query=saved_views.query_of(filters))


@bp.get("/inbox/c/<int:conv_id>/window")
def window_show(conv_id: int):
    conv = access.conversation_or_404(db.session, current_user.id, conv_id)
    if not is_htmx():  # only the composer refreshes this part; a visitor gets the whole thread
        return redirect(url_for("inbox.conversation_show", conv_id=conv_id))
    return render_page("inbox/index.html", block="window_state", **thread_context(conv))


from keloa_web.inbox import actions, bulk  # noqa: E402,F401  (register the POST views on bp)
