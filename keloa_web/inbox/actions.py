"""What a teammate does in a thread: reply, note, retry, assign, resolve/reopen, mark unread, pause AI.

Each answers with the thread pane (a block of the inbox page) and, on refusal, keeps the draft
and says what happened and what to do.
"""
from __future__ import annotations

from datetime import timezone

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from keloa_web.reports import events as report_events
from keloa_web import access, changes, window
from keloa_web.agents.suggest import suggest
from keloa_web.db import db, utcnow
from keloa_web.htmx import hx_redirect, is_htmx, render_page
from keloa_web.ids import parse_id
from keloa_web.inbox import activity, queries, saved_views, snooze, uploads
from keloa_web.inbox.views import bp, thread_context
from keloa_web.notifications import notify
from keloa_web.models import (
    AuthorType, Channel, Conversation, ConversationStatus, Direction, Label, Message, MessageKind, MessageStatus,
    SavedReply, SavedView, User,
)
from keloa_web.sends import outbox


def _conversation(conv_id: int) -> Conversation:
    """The conversation, locked for this change; 404 if it is not there or not this teammate's to see."""
    return access.conversation_or_404(db.session, current_user.id, conv_id, lock=True)


def _pane(conv: Conversation, status: int = 200, **extra):
    if not is_htmx():  # a plain form post: back to the page (errors travel as a flash)
        if extra.get("error"):
            flash(extra["error"], "error")
        return redirect(url_for("inbox.conversation_show", conv_id=conv.id))
    db.session.expire_all()
    conv = db.session.get(Conversation, conv.id)
    return render_page("inbox/index.html", block="thread_pane", status=status, **thread_context(conv, **extra))


@bp.post("/inbox/c/<int:conv_id>/messages")
def message_create(conv_id: int):
    conv = _conversation(conv_id)
    text = (request.form.get("text") or "").replace("\r\n", "\n")
    text = text if text.strip() else None
    reply_to = None
    try:
        reply_to = _replied_message(conv, request.form.get("reply_to", ""))
        upload = uploads.read_upload(request.files.get("file"))
        attachment = uploads.store(upload) if upload is not None else _saved_reply_file(request.form.get("saved_file", ""))
        if attachment is None and text is None:
            raise outbox.SendRefused("Write a message or attach a file first.")
        if text is not None and (problem := outbox.text_problem(text)):
            raise outbox.SendRefused(problem)
        mid = reply_to.mid if reply_to is not None else None
        if attachment is not None:
            outbox.create_outgoing(db.session, conv, attachment=attachment, user_id=current_user.id, reply_to_mid=mid)
            mid = None  # the text after a file is a message of its own
        if text is not None:
            outbox.create_outgoing(db.session, conv, text=text, user_id=current_user.id, reply_to_mid=mid)
    except (outbox.SendRefused, uploads.UploadError) as exc:
        db.session.rollback()
        # 422 is swapped like a 200 (see keloa.js) so the reason shows in the composer with the draft.
        return _pane(conv, status=422, error=str(exc), draft=request.form.get("text", ""),
                     replying_to=reply_to, saved_file_reply=_kept_saved_reply(request.form.get("saved_file", "")))
    conv.status = ConversationStatus.OPEN if conv.status == ConversationStatus.RESOLVED else conv.status
    conv.needs_human = False  # a person has answered
    db.session.commit()
    return _pane(conv)


def _saved_reply_file(raw: str):
    """A copy of a saved reply's file for this message (the saved one may change or go), or None;
    SendRefused when the reply or its file is gone, so the teammate sees why nothing went."""
    if not raw:
        return None
    from keloa_web.media import storage
    from keloa_web.replies.views import visible

    reply_id = parse_id(raw)
    reply = db.session.scalar(visible().where(SavedReply.id == reply_id)) if reply_id else None
    if reply is None or not reply.file_path:
        raise outbox.SendRefused("The saved reply's file was removed meanwhile: attach it again, or send without it.")
    try:
        data = storage.resolve(reply.file_path).read_bytes()
    except (OSError, ValueError):
        raise outbox.SendRefused("The saved reply's file is missing from Keloa's storage: attach it again.") from None
    return uploads.store(uploads.Upload(reply.file_type, reply.file_content_type, data))


def _kept_saved_reply(raw: str):
    """The saved reply whose file a refused message carried, to show again with the draft."""
    from keloa_web.replies.views import visible

    reply_id = parse_id(raw)
    reply = db.session.scalar(visible().where(SavedReply.id == reply_id)) if reply_id else None
    return reply if reply is not None and reply.file_path else None


def _replied_message(conv: Conversation, raw: str) -> Message | None:
    """The message a reply answers (a form's `reply_to` id), or None; SendRefused if it cannot be."""
    if not raw:
        return None
    message_id = parse_id(raw)
    message = db.session.get(Message, message_id) if message_id else None
    if (message is None or message.conversation_id != conv.id or not message.mid or message.deleted
            or message.direction == Direction.NOTE):
        raise outbox.SendRefused("That message can no longer be replied to (it was unsent or is not in this "
                                 "conversation). Your text is still here: send it as a plain reply.")
    return message


@bp.post("/inbox/c/<int:conv_id>/notes")
def note_create(conv_id: int):
    conv = _conversation(conv_id)
    text = (request.form.get("text") or "").strip()
    if not text:
        return _pane(conv, status=422, error="Write the note first.", draft="")
    now = utcnow()
    db.session.add(Message(conversation_id=conv.id, channel_id=conv.channel_id, direction=Direction.NOTE,
                           kind=MessageKind.NOTE, text=text[:5000], author_type=AuthorType.USER,
                           author_user_id=current_user.id, status=MessageStatus.SENT,
                           sent_at=now))
    notify.mentioned(db.session, conv, text[:5000], db.session.get(User, current_user.id))
    changes.touch(db.session, conv.id)
    db.session.commit()
    return _pane(conv)


@bp.post("/inbox/c/<int:conv_id>/messages/<int:message_id>/retry")
def message_retry(conv_id: int, message_id: int):
    conv = _conversation(conv_id)
    message = db.session.get(Message, message_id)
    if message is None or message.conversation_id != conv.id or message.direction != Direction.OUT:
        abort(404)
    if message.status not in (MessageStatus.FAILED, MessageStatus.UNKNOWN):
        return _pane(conv)  # already on its way or sent: a double click does nothing
    problem = outbox.channel_problem(db.session.get(Channel, conv.channel_id), conv)
    if problem:
        return _pane(conv, status=422, error=problem)
    decision = window.for_conversation(conv, "ai" if message.author_type == AuthorType.AI else "human")
    if not decision.allowed:  # a resend that can only fail is not offered
        return _pane(conv, status=422, error=f"Not sent again: {decision.reason}")
    message.status, message.error, message.send_attempts = MessageStatus.QUEUED, None, 0
    changes.touch(db.session, conv.id)
    outbox.after_commit(db.session, _enqueue, message.id)
    db.session.commit()
    return _pane(conv)


def _enqueue(message_id: int) -> None:
    from keloa_web.sends.deliver import send_message

    send_message.enqueue(message_id)


@bp.post("/inbox/c/<int:conv_id>/assign")
def conversation_assign(conv_id: int):
    conv = _conversation(conv_id)
    raw = request.form.get("assignee_id", "")
    if raw and not ((user_id := parse_id(raw)) and (user := db.session.get(User, user_id)) and user.active):
        return _pane(conv, status=422, error="That teammate is no longer on the team.")
    if raw and not access.may_see_channel(db.session, user.id, conv.channel_id):
        return _pane(conv, status=422, error=f"{user.name} has no access to this account: an admin can give it "
                                             "in Integrations, under the account's settings.")
    before, conv.assignee_id = conv.assignee_id, parse_id(raw)
    if conv.assignee_id != before:
        activity.record(db.session, conv, f"Assigned to {user.name} by {current_user.name}" if conv.assignee_id
                        else f"Unassigned by {current_user.name}")
    changes.touch(db.session, conv.id)
    db.session.commit()
    return _pane(conv)


@bp.post("/inbox/c/<int:conv_id>/status")
def conversation_status(conv_id: int):
    conv = _conversation(conv_id)
    status = request.form.get("status")
    if status not in (ConversationStatus.OPEN, ConversationStatus.PENDING, ConversationStatus.RESOLVED):
        abort(400)  # snoozing has its own route: it needs a time
    if status != conv.status:
        activity.record(db.session, conv, {ConversationStatus.RESOLVED: "Resolved", ConversationStatus.PENDING:
                                           "Marked pending", ConversationStatus.OPEN: "Reopened"}[status]
                        + f" by {current_user.name}")
    report_events.status_changed(db.session, conv, conv.status, status, current_user.id)
    conv.status, conv.snoozed_until = status, None
    changes.touch(db.session, conv.id)
    db.session.commit()
    flash({ConversationStatus.RESOLVED: "Conversation resolved.",
           ConversationStatus.PENDING: "Marked pending: it leaves the Open list until the customer writes.",
           ConversationStatus.OPEN: "Conversation reopened."}[status], "success")
    return _pane(conv)


@bp.post("/inbox/c/<int:conv_id>/snooze")
def conversation_snooze(conv_id: int):
    """Snooze until a preset or chosen time (in the reader's time zone), or until the customer writes."""
    conv = _conversation(conv_id)
    zone = snooze.reader_zone(request.form.get("tz"))
    try:
        at = snooze.until(request.form.get("preset", ""), request.form.get("at", ""), zone)
    except snooze.SnoozeError as exc:
        return _pane(conv, status=422, snooze_error=str(exc))
    conv.status, conv.snoozed_until = ConversationStatus.SNOOZED, at
    local = at.replace(tzinfo=timezone.utc).astimezone(zone) if at else None
    activity.record(db.session, conv, f"Snoozed by {current_user.name} until "
                                         + (f"{local:%a %d %b, %H:%M} ({zone.key})." if local else "the customer writes."))
    changes.touch(db.session, conv.id)
    db.session.commit()
    check = snooze.wake_check(conv, at)
    if check.closes_first:
        closes = check.closes_at.replace(tzinfo=timezone.utc).astimezone(zone) if check.closes_at else None
        flash(f"Snoozed until {local:%a %d %b, %H:%M}. It wakes after Instagram's reply window closes"
              + (f" ({closes:%a %d %b, %H:%M})" if closes else "") + ": nobody can reply to it then.", "error")
    else:
        flash(f"Snoozed until {local:%a %d %b, %H:%M}." if local else
              "Snoozed until the customer writes.", "success")
    return _pane(conv)


@bp.post("/inbox/c/<int:conv_id>/unread")
def conversation_unread(conv_id: int):
    conv = _conversation(conv_id)
    conv.unread_count = max(conv.unread_count, 1)
    changes.touch(db.session, conv.id)
    db.session.commit()
    # Left open, the live poll would read it again at once: back to the list, where it shows unread.
    flash(f"Marked {conv.contact.label} as unread.", "info")
    return hx_redirect("inbox.index") if is_htmx() else redirect(url_for("inbox.index"))


@bp.post("/inbox/c/<int:conv_id>/ai")
def conversation_ai(conv_id: int):
    conv = _conversation(conv_id)
    conv.ai_paused = request.form.get("paused") == "1"
    if not conv.ai_paused:
        conv.needs_human = False
    changes.touch(db.session, conv.id)
    db.session.commit()
    return _pane(conv)


@bp.post("/inbox/c/<int:conv_id>/labels")
def conversation_labels(conv_id: int):
    """Set the conversation's labels to those ticked (anyone on the team may)."""
    conv = _conversation(conv_id)
    ids = [parse_id(raw) for raw in request.form.getlist("label")]
    labels = db.session.scalars(select(Label).where(Label.id.in_(ids))).all() if ids and None not in ids else []
    if len(labels) != len(set(ids)):
        return _pane(conv, status=422, error="A label you ticked was deleted meanwhile: tick them again.")
    conv.labels = list(labels)
    changes.touch(db.session, conv.id)
    db.session.commit()
    return _pane(conv)


@bp.post("/inbox/c/<int:conv_id>/suggest")
def reply_suggest(conv_id: int):
    """The channel's agent's draft reply, as JSON the composer puts into the reply box as text."""
    conv = access.conversation_or_404(db.session, current_user.id, conv_id)
    found = suggest(db.session, conv)
    resp = jsonify(text=found.text, problem=found.problem)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/inbox/views")
def view_create():
    """Save the list's current filters (sent along from the filter form) under a name."""
    filters = queries.Filters.from_args(request.form)
    name = " ".join((request.form.get("name") or "").split())
    team = request.form.get("team") == "1"
    error = None
    if not name:
        error = "Name the view, such as \u201cVIP, waiting\u201d."
    elif len(name) > 60:
        error = "Up to 60 characters."
    elif team and not current_user.is_admin:
        error = "Only admins save views for the whole team; untick it to keep it as yours."
    elif len(saved_views.visible(db.session, current_user.id)) >= saved_views.MAX_VIEWS:
        error = f"Up to {saved_views.MAX_VIEWS} views: delete one first."
    if error is None:
        db.session.add(SavedView(name=name, query=saved_views.query_of(filters),
                                 owner_id=None if team else current_user.id))
        db.session.commit()
    return _views(filters, status=422 if error else 200, view_error=error, view_name=name if error else "")


@bp.post("/inbox/views/<int:view_id>/delete")
def view_delete(view_id: int):
    view = db.session.get(SavedView, view_id)
    if view is None or (view.owner_id is not None and view.owner_id != current_user.id):
        abort(404)
    if view.owner_id is None and not current_user.is_admin:
        abort(403)
    db.session.delete(view)
    db.session.commit()
    return _views(queries.Filters.from_args(request.form))


def _views(filters: queries.Filters, status: int = 200, **extra):
    if not is_htmx():  # a plain form post: back to the inbox, the error as a flash
        if extra.get("view_error"):
            flash(extra["view_error"], "error")
        return redirect(url_for("inbox.index", **filters.as_args()))
    return render_page("inbox/index.html", block="saved_views", status=status, filters=filters, counted=True,
                       views=saved_views.shown(db.session, current_user.id, count=True),
                       view_query=saved_views.query_of(filters), **extra)
