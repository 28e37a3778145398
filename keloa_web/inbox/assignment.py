"""Assignment rules, per account: a new conversation goes to the next teammate in turn
(round-robin) among those who see the account and are online, or stays unassigned; and a
conversation waiting longer than the account's set time without a first reply is flagged.

An assigned conversation keeps the AI quiet (agents/rules.py), so on an account whose AI replies
are on, a conversation is assigned when the AI hands it to a person, not when it arrives.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session, aliased

from keloa_web import access, changes
from keloa_web.inbox import activity
from keloa_web.models import Assignment, Availability, Channel, Conversation, User


def ai_answers_first(channel: Channel) -> bool:
    return bool(channel.ai_enabled and channel.agent_id)


def next_teammate(s: Session, channel: Channel) -> User | None:
    """Whose turn it is: the online teammate with access after the one assigned last (by id, wrapping)."""
    candidates = sorted((u for u in access.members_with_access(s, channel.id) if u.availability == Availability.ONLINE),
                        key=lambda u: u.id)
    if not candidates:
        return None
    last = channel.last_assigned_user_id or 0
    return next((u for u in candidates if u.id > last), candidates[0])


def assign_in_turn(s: Session, conv: Conversation, why: str = "") -> User | None:
    """Assign `conv` round-robin if its account says so and nobody has it; the channel row is
    locked so that two conversations arriving together go to two teammates."""
    if conv.assignee_id is not None:
        return None
    channel = s.get(Channel, conv.channel_id, with_for_update=True)
    if channel is None or channel.assignment != Assignment.ROUND_ROBIN:
        return None
    user = next_teammate(s, channel)
    if user is None:
        activity.record(s, conv, "Left unassigned: nobody who sees this account is online")
        return None
    conv.assignee_id, channel.last_assigned_user_id = user.id, user.id
    activity.record(s, conv, f"Assigned to {user.name} in turn (round-robin){why}")
    changes.touch(s, conv.id)
    return user


def on_new_conversation(s: Session, conv: Conversation) -> None:
    """A customer's first message made `conv`: assign it now unless the AI answers first."""
    channel = s.get(Channel, conv.channel_id)
    if channel is not None and channel.assignment == Assignment.ROUND_ROBIN and not ai_answers_first(channel):
        assign_in_turn(s, conv)


def on_handoff(s: Session, conv: Conversation) -> None:
    """The AI handed `conv` to a person: on a round-robin account, that person is the next in turn."""
    channel = s.get(Channel, conv.channel_id)
    if channel is not None and channel.assignment == Assignment.ROUND_ROBIN and ai_answers_first(channel):
        assign_in_turn(s, conv, ", handed off by the AI")


def waiting_condition(s: Session, now: datetime):
    """Open conversations waiting longer than their account's set time for a first reply."""
    limits = s.execute(select(Channel.id, Channel.first_reply_minutes).where(Channel.first_reply_minutes.is_not(None))).all()
    if not limits:
        return false()
    # As an id list from ix_conversations_unreplied (few rows): written inline, SQLite walks the
    # list's order index through every open conversation instead (measured: 34 ms against 2 ms).
    waiting = aliased(Conversation)
    ids = select(waiting.id).where(waiting.first_reply_at.is_(None), or_(*[
        and_(waiting.channel_id == channel_id, waiting.created_at < now - timedelta(minutes=minutes))
        for channel_id, minutes in limits]))
    return and_(Conversation.status == "open", Conversation.id.in_(ids))


def waiting_for(conv: Conversation, channel: Channel | None, now: datetime) -> timedelta | None:
    """How long `conv` has waited for a first reply, when that is longer than its account allows."""
    if channel is None or channel.first_reply_minutes is None or conv.first_reply_at is not None:
        return None
    if conv.status != "open" or conv.last_customer_message_at is None:
        return None
    waited = now - conv.created_at
    return waited if waited > timedelta(minutes=channel.first_reply_minutes) else None
