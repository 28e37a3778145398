"""Meta's message ids on Keloa's messages: shared by ingest, the send jobs and the inbox.

A reply Keloa sends learns its `mid` only from Meta's answer, and its echo webhook or a read
receipt may name that id first; these functions make the two arrivals meet in one row.
"""
from __future__ import annotations

from sqlalchemy import select

from keloa_web.models import AuthorType, Conversation, Direction, Message, PendingRead


def mark_customer_seen(conv: Conversation, m: Message) -> None:
    """The customer has read up to `m` (a read receipt)."""
    if conv.customer_seen_at is None or m.sent_at > conv.customer_seen_at:
        conv.customer_seen_at = m.sent_at


def apply_pending_read(session, m: Message, conv: Conversation | None = None) -> None:
    """A read receipt that came before its message's id was known: apply it now."""
    if not m.mid:
        return
    pending = session.scalar(select(PendingRead).where(PendingRead.channel_id == m.channel_id,
                                                       PendingRead.mid == m.mid))
    if pending is not None:
        mark_customer_seen(conv or session.get(Conversation, m.conversation_id), m)
        session.delete(pending)


def adopt_mid(session, message: Message, mid: str) -> None:
    """Record Meta's id on a message Keloa sent. If its echo was applied first (recorded as "sent
    from Instagram"), that row is the same message: drop it."""
    twin = session.scalar(select(Message).where(Message.channel_id == message.channel_id, Message.mid == mid,
                                                Message.id != message.id))
    if twin is not None and twin.author_type == AuthorType.INSTAGRAM:
        session.delete(twin)
        session.flush()
    message.mid = mid
    session.flush()
    apply_pending_read(session, message)


def latest_customer_mid(s, conversation_id: int) -> str | None:
    """The id of the customer's newest message in the conversation (what "Seen" would mark)."""
    return s.scalar(
        select(Message.mid).where(Message.conversation_id == conversation_id, Message.direction == Direction.IN,
                                  Message.mid.is_not(None))
        .order_by(Message.sent_at.desc(), Message.id.desc()).limit(1))
