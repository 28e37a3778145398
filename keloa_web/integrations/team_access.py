"""An account's team settings: who sees it (per-account access, keloa_web/access.py) and how its
new conversations are assigned (keloa_web/inbox/assignment.py).

Admins always see every account. Restricting an account to chosen teammates takes its
conversations away from everyone else's lists, counts, searches and notifications; whoever loses
access also loses the conversations there that were assigned to them (an activity line says so).
"""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import delete, insert, select

from keloa_web import access, changes
from keloa_web.auth import admin_required
from keloa_web.db import db
from keloa_web.htmx import is_htmx, render_page
from keloa_web.ids import parse_id
from keloa_web.inbox import activity, assignment
from keloa_web.integrations.views import bp, get_channel
from keloa_web.models import Assignment, Channel, Conversation, Notification, Role, SavedView, User, channel_members

WAITING_VIEW = ("Waiting for a first reply", "status=open&waiting=1")
MAX_MINUTES = 7 * 24 * 60


def _teammates() -> list[User]:
    """The active teammates an admin may give access to (admins have it anyway)."""
    return list(db.session.scalars(select(User).where(User.active.is_(True), User.role != Role.ADMIN)
                                   .order_by(User.name)))


def _members(channel: Channel) -> set[int]:
    return set(db.session.scalars(select(channel_members.c.user_id).where(channel_members.c.channel_id == channel.id)))


def _context(channel: Channel, **extra) -> dict:
    return {"channel": channel, "teammates": _teammates(), "members": _members(channel),
            "restricted": channel.restricted, "error": None, "in_turn": access.members_with_access(db.session, channel.id),
            "mode": channel.assignment, "minutes": "" if channel.first_reply_minutes is None else channel.first_reply_minutes,
            "rules_error": None, "rules_saved": None, "ai_first": assignment.ai_answers_first(channel), **extra}


def _page(channel: Channel, status: int = 200, block: str = "access", **extra):
    return render_page("integrations/team.html", block=block, status=status, **_context(channel, **extra))


@bp.get("/channels/<int:channel_id>/team")
@admin_required
def team_show(channel_id: int):
    return _page(get_channel(channel_id))


@bp.post("/channels/<int:channel_id>/access")
@admin_required
def access_save(channel_id: int):
    channel = get_channel(channel_id)
    who = request.form.get("who")
    raw = request.form.getlist("member")
    chosen = {parse_id(r) for r in raw}
    teammates = {u.id: u for u in _teammates()}
    if who not in ("everyone", "chosen"):
        return _page(channel, 422, error="Choose who sees this account: everyone, or the teammates you tick.",
                     members=chosen - {None}, restricted=True)
    if who == "chosen" and (None in chosen or not chosen <= teammates.keys()):
        return _page(channel, 422, error="A teammate you ticked has left the team meanwhile: tick them again.",
                     members={i for i in chosen if i in teammates}, restricted=True)
    restricted = who == "chosen"
    before = access.members_with_access(db.session, channel.id)
    channel.restricted = restricted
    db.session.execute(delete(channel_members).where(channel_members.c.channel_id == channel.id))
    if restricted and chosen:
        db.session.execute(insert(channel_members), [{"channel_id": channel.id, "user_id": i} for i in sorted(chosen)])
    db.session.flush()
    access.forget()
    still = {u.id for u in access.members_with_access(db.session, channel.id)}
    lost = [u for u in before if u.id not in still]
    unassigned = 0
    for user in lost:
        # What they were told about there goes too (the list, the stream and the emails check anyway).
        db.session.execute(delete(Notification).where(Notification.user_id == user.id, Notification.conversation_id.in_(
            select(Conversation.id).where(Conversation.channel_id == channel.id))))
        for conv in db.session.scalars(select(Conversation).where(Conversation.channel_id == channel.id,
                                                                  Conversation.assignee_id == user.id)):
            conv.assignee_id = None
            activity.record(db.session, conv, f"Unassigned: {user.name} no longer has access to {channel.label} "
                                              f"(changed by {current_user.name})")
            changes.touch(db.session, conv.id)
            unassigned += 1
    db.session.commit()
    if not restricted:
        message = f"Everyone on the team sees {channel.label}."
    else:
        names = [teammates[i].name for i in sorted(chosen, key=lambda i: teammates[i].name.lower())]
        message = (f"Only admins and {', '.join(names)} see {channel.label}." if names
                   else f"Only admins see {channel.label}.")
    if unassigned:
        message += f" {unassigned} conversation{'s were' if unassigned != 1 else ' was'} unassigned from whoever lost access."
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("integrations.team_show", channel_id=channel.id))
    # "In turn now" on the assignment card changes with who sees the account: it comes along.
    return render_page("integrations/team.html", block=["access", "rules_card"], **_context(channel, saved=message,
                                                                                            oob=True))


@bp.post("/channels/<int:channel_id>/assignment")
@admin_required
def assignment_save(channel_id: int):
    channel = get_channel(channel_id)
    mode, raw = request.form.get("mode"), (request.form.get("first_reply_minutes") or "").strip()
    error = None
    if mode not in (Assignment.MANUAL, Assignment.ROUND_ROBIN):
        error = "Choose how new conversations are assigned."
    elif raw and not (raw.isdigit() and 1 <= int(raw) <= MAX_MINUTES):
        error = f"Give the wait in whole minutes, from 1 to {MAX_MINUTES} (7 days), or leave it empty for no flag."
    if error:
        return _page(channel, 422, block="rules", rules_error=error, mode=mode, minutes=raw)
    channel.assignment, channel.first_reply_minutes = mode, int(raw) if raw else None
    made_view = False
    if channel.first_reply_minutes is not None and not db.session.scalar(
            select(SavedView.id).where(SavedView.owner_id.is_(None), SavedView.query == WAITING_VIEW[1])):
        db.session.add(SavedView(name=WAITING_VIEW[0], query=WAITING_VIEW[1]))  # the flag's view, for the team
        made_view = True
    db.session.commit()
    saved = ("New conversations are assigned in turn." if mode == Assignment.ROUND_ROBIN
             else "New conversations stay unassigned until someone takes them.")
    if channel.first_reply_minutes is not None:
        saved += f" A conversation is flagged after {channel.first_reply_minutes} min without a first reply"
        saved += (", in the team's new view “Waiting for a first reply”." if made_view
                  else ", in the view “Waiting for a first reply”.")
    if not is_htmx():
        flash(saved, "success")
        return redirect(url_for("integrations.team_show", channel_id=channel.id))
    return _page(channel, block="rules", rules_saved=saved)
