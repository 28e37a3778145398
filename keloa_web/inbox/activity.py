"""Activity lines in a thread ("Assigned to Tom by Olivia", "Resolved by Olivia", "Snoozed until…",
"AI handed this to a teammate: …"): one log, the conversation's system notes, shown in its thread
as lines between the messages rather than as notes (templates/inbox/_message.html)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from keloa_web.db import utcnow
from keloa_web.models import AuthorType, Conversation, Direction, Message, MessageKind, MessageStatus


def record(s: Session, conv: Conversation, text: str) -> Message:
    line = Message(conversation_id=conv.id, channel_id=conv.channel_id, direction=Direction.NOTE, kind=MessageKind.NOTE,
                   text=text, author_type=AuthorType.SYSTEM, status=MessageStatus.SENT, sent_at=utcnow())
    s.add(line)
    return line
