"""Recording what the Reports page counts later: resolutions, reopenings and the AI's hand-offs
(opening and the first reply are the conversation's own `created_at` and `first_reply_at`)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from keloa_web.models import Conversation, ConversationEvent, ConversationStatus, EventKind


def status_changed(s: Session, conv: Conversation, before: str, after: str, user_id: int | None) -> None:
    if after == before:
        return
    if after == ConversationStatus.RESOLVED:
        s.add(ConversationEvent(conversation_id=conv.id, channel_id=conv.channel_id, kind=EventKind.RESOLVED,
                                user_id=user_id))
    elif before == ConversationStatus.RESOLVED:
        s.add(ConversationEvent(conversation_id=conv.id, channel_id=conv.channel_id, kind=EventKind.REOPENED,
                                user_id=user_id))


def handed_off(s: Session, conv: Conversation, reason: str) -> None:
    s.add(ConversationEvent(conversation_id=conv.id, channel_id=conv.channel_id, kind=EventKind.HANDED_OFF,
                            detail=reason[:500]))
