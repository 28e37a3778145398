"""Who sees which connected account: per-account access, the one home of that rule.

Every account is open to the whole team until an admin restricts it to chosen teammates
(`Channel.restricted` and its `channel_members`). Admins always see every account. A teammate
without access to an account cannot open, search, count, be assigned or be notified of its
conversations: each of those asks here.
"""
from __future__ import annotations

from flask import abort, g, has_request_context
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from keloa_web.models import Channel, Conversation, Role, User, channel_members


def visible_channel_ids(s: Session, user_id: int) -> set[int] | None:
    """The accounts `user_id` may see, or None for all of them (an admin, or nothing restricted)."""
    cache = g.setdefault("_keloa_visible_channels", {}) if has_request_context() else {}
    if user_id not in cache:
        role = s.scalar(select(User.role).where(User.id == user_id))
        if role == Role.ADMIN or not s.scalar(select(Channel.id).where(Channel.restricted.is_(True)).limit(1)):
            cache[user_id] = None
        else:
            cache[user_id] = set(s.scalars(select(Channel.id).where(or_(
                Channel.restricted.is_(False),
                Channel.id.in_(select(channel_members.c.channel_id).where(channel_members.c.user_id == user_id))))))
    return cache[user_id]


def forget() -> None:
    """After an admin changes who sees what, within the same request."""
    if has_request_context():
        g.pop("_keloa_visible_channels", None)


def conversation_condition(s: Session, user_id: int):
    """A WHERE condition keeping the conversations `user_id` may see (None: no condition needed)."""
    ids = visible_channel_ids(s, user_id)
    return None if ids is None else Conversation.channel_id.in_(sorted(ids) or [-1])


def may_see_channel(s: Session, user_id: int, channel_id: int) -> bool:
    ids = visible_channel_ids(s, user_id)
    return ids is None or channel_id in ids


def conversation_or_404(s: Session, user_id: int, conv_id: int, lock: bool = False) -> Conversation:
    """The conversation, or 404 when it does not exist or `user_id` may not see it (the same answer,
    so that a teammate cannot learn which conversations exist on an account hidden from them)."""
    # Lock the conversation row only: its contact is joined eagerly, and PostgreSQL refuses
    # FOR UPDATE on the nullable side of that outer join.
    conv = s.get(Conversation, conv_id, with_for_update={"of": Conversation} if lock else None)
    if conv is None or not may_see_channel(s, user_id, conv.channel_id):
        abort(404)
    return conv


def members_with_access(s: Session, channel_id: int) -> list[User]:
    """Active teammates who see this account (whom a conversation there may be assigned to), by name."""
    stmt = select(User).where(User.active.is_(True))
    channel = s.get(Channel, channel_id)
    if channel is not None and channel.restricted:
        stmt = stmt.where(or_(User.role == Role.ADMIN, User.id.in_(
            select(channel_members.c.user_id).where(channel_members.c.channel_id == channel_id))))
    return list(s.scalars(stmt.order_by(User.name)))
