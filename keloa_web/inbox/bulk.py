"""Bulk actions in the conversation list: the ticked conversations (or every one in the view)
resolved, reopened, marked pending or read, assigned, labelled or snoozed at once.

Each conversation is looked up through the list's own conditions, so a bulk action reaches only
what this teammate may see; each change leaves its activity line and a change for the live lists.
Marking read here tells Instagram nothing: nobody has read those messages, so no "Seen" is sent.
"""
from __future__ import annotations

from datetime import timezone

from flask import flash, request
from flask_login import current_user
from sqlalchemy import select

from keloa_web.reports import events as report_events
from keloa_web import access, changes
from keloa_web.db import db
from keloa_web.htmx import render_page
from keloa_web.ids import parse_id
from keloa_web.inbox import activity, queries, snooze
from keloa_web.inbox.views import _context, bp
from keloa_web.models import Conversation, ConversationStatus, Label, User

MAX_AT_ONCE = 5000
ACTIONS = ("resolve", "reopen", "pending", "read", "assign", "label", "unlabel", "snooze")


class BulkError(Exception):
    pass


def _targets(filters: queries.Filters) -> list[Conversation]:
    where = queries.conditions(filters, current_user.id, db.session)
    if request.form.get("all") != "1":
        raw_ids = request.form.getlist("ids")
        if len(raw_ids) > MAX_AT_ONCE:
            raise BulkError(f"That is more than {MAX_AT_ONCE:,} conversations: narrow the view with a filter first.")
        ids = {parse_id(raw) for raw in raw_ids} - {None}
        if not ids:
            raise BulkError("Tick the conversations first (or “All in this view”).")
        where.append(Conversation.id.in_(sorted(ids)))
    rows = db.session.scalars(select(Conversation).where(*where).order_by(Conversation.id).limit(MAX_AT_ONCE + 1)).all()
    if len(rows) > MAX_AT_ONCE:
        raise BulkError(f"That is more than {MAX_AT_ONCE:,} conversations: narrow the view with a filter first.")
    if not rows:
        raise BulkError("None of those conversations is in this view any more.")
    return rows


def _plural(n: int) -> str:
    return f"{n:,} conversation{'' if n == 1 else 's'}"


def _apply(action: str, rows: list[Conversation]) -> str:
    """Change every row; what the flash says."""
    s, who = db.session, current_user.name
    if action in ("resolve", "reopen", "pending"):
        status = {"resolve": ConversationStatus.RESOLVED, "reopen": ConversationStatus.OPEN,
                  "pending": ConversationStatus.PENDING}[action]
        changed = [c for c in rows if c.status != status]
        for conv in changed:
            report_events.status_changed(s, conv, conv.status, status, current_user.id)
            conv.status, conv.snoozed_until = status, None
            activity.record(s, conv, {"resolve": "Resolved", "reopen": "Reopened", "pending": "Marked pending"}[action]
                            + f" by {who}")
        verb = {"resolve": "Resolved", "reopen": "Reopened", "pending": "Marked pending"}[action]
        return f"{verb} {_plural(len(changed))}." + (f" {len(rows) - len(changed)} already were." if len(changed) < len(rows) else "")
    if action == "read":
        changed = [c for c in rows if c.unread_count]
        for conv in changed:
            conv.unread_count = 0
        return f"Marked {_plural(len(changed))} as read (in Keloa only: Instagram shows no “Seen” for them)."
    if action == "assign":
        raw = request.form.get("assignee_id", "")
        user = s.get(User, parse_id(raw)) if raw else None
        if raw and (user is None or not user.active):
            raise BulkError("That teammate is no longer on the team.")
        skipped = [c for c in rows if user is not None and not access.may_see_channel(s, user.id, c.channel_id)]
        changed = [c for c in rows if c not in skipped and c.assignee_id != (user.id if user else None)]
        for conv in changed:
            conv.assignee_id = user.id if user else None
            activity.record(s, conv, f"Assigned to {user.name} by {who}" if user else f"Unassigned by {who}")
        said = (f"Assigned {_plural(len(changed))} to {user.name}." if user else f"Unassigned {_plural(len(changed))}.")
        if skipped:
            said += f" {_plural(len(skipped))} left as they were: {user.name} has no access to their account."
        return said
    if action in ("label", "unlabel"):
        label = s.get(Label, parse_id(request.form.get("label_id", "")) or 0)
        if label is None:
            raise BulkError("Pick a label (it may have been deleted meanwhile).")
        if action == "label":
            changed = [c for c in rows if label not in c.labels]
            for conv in changed:
                conv.labels.append(label)
            return f"Labelled {_plural(len(changed))} “{label.name}”."
        changed = [c for c in rows if label in c.labels]
        for conv in changed:
            conv.labels.remove(label)
        return f"Took “{label.name}” off {_plural(len(changed))}."
    if action == "snooze":
        zone = snooze.reader_zone(request.form.get("tz"))
        try:
            at = snooze.until(request.form.get("preset", ""), "", zone)
        except snooze.SnoozeError as exc:
            raise BulkError(str(exc)) from None
        local = at.replace(tzinfo=timezone.utc).astimezone(zone) if at else None
        until = f"{local:%a %d %b, %H:%M} ({zone.key})" if local else "the customer writes"
        for conv in rows:
            conv.status, conv.snoozed_until = ConversationStatus.SNOOZED, at
            activity.record(s, conv, f"Snoozed by {who} until {until}.")
        late = sum(1 for c in rows if snooze.wake_check(c, at).closes_first)
        said = f"Snoozed {_plural(len(rows))} until {until}."
        if late:
            said += f" {_plural(late)} wake after Instagram's reply window closes: nobody can reply to them then."
        return said
    raise BulkError("Choose what to do with them.")


@bp.post("/inbox/bulk")
def bulk_apply():
    filters = queries.Filters.from_args(request.form)
    action = request.form.get("action", "")
    try:
        if action not in ACTIONS:
            raise BulkError("Choose what to do with them.")
        rows = _targets(filters)
        said = _apply(action, rows)
    except BulkError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return render_page("inbox/index.html", block="conv_list", status=422, **_context(filters))
    for conv in rows:
        changes.touch(db.session, conv.id)
    db.session.commit()
    flash(said, "success")
    return render_page("inbox/index.html", block="conv_list", **_context(filters))
