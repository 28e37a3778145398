"""What the AI reads of a conversation: the customer's newest words and the turns before them."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from keloa_web.describe import for_ai
from keloa_web.models import Direction, Message, MessageStatus

HISTORY_TURNS = 20
BURST_MAX = 5


# The newest message is answered on its own when it has at least this many words; a shorter one
# ("and on Sundays?") is read together with the customer's messages just before it.
STANDS_ALONE_WORDS = 3
# A message that starts like these continues the customer's previous question ("and to Canada?",
# "what about Sundays", "e para o Porto?", "y los sábados?").
FOLLOW_UP = re.compile(r"^\W*(and|also|what about|how about|what if|same for|e|e para|e no|e na|y|y para|y en|"
                       r"y los|y las|y el|y la)\b", re.IGNORECASE)


@dataclass
class Context:
    question: str  # what to answer: the newest message, or the burst joined if it is too short
    said: str  # everything the customer wrote since the business last wrote, joined (hand-off words)
    history: list[tuple[str, str]]  # earlier turns, oldest first: ("user"|"assistant", text)
    has_text: bool  # False when the customer only sent media, stickers or story mentions
    # The question read with the customer's previous one, when the newest cannot stand alone after the
    # business answered ("do you ship to the US?" ... "and to Canada?"); tried when `question` alone
    # finds no answer.
    resolved: str | None = None


def read(session: Session, conversation_id: int, upto: Message) -> Context:
    """The context of an answer to `upto` (the newest customer message)."""
    rows = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.direction.in_((Direction.IN, Direction.OUT)),
               Message.sent_at <= upto.sent_at, Message.status != MessageStatus.FAILED)
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(HISTORY_TURNS + BURST_MAX)
    ).all()
    rows.reverse()
    burst: list[Message] = []
    for message in reversed(rows):
        if message.direction != Direction.IN or len(burst) == BURST_MAX:
            break
        burst.insert(0, message)
    earlier = rows[: len(rows) - len(burst)][-HISTORY_TURNS:]
    words = [w for w in (for_ai(m) for m in burst if not m.deleted) if w]
    said = "\n".join(words)
    history = [("user" if m.direction == Direction.IN else "assistant", w) for m in earlier if (w := for_ai(m))]
    newest = words[-1] if words else ""
    stands_alone = len(newest.split()) >= STANDS_ALONE_WORDS
    resolved = None
    if stands_alone:
        # Earlier unanswered messages would dilute the newest question's match: they are history.
        question = newest
        history += [("user", w) for w in words[:-1]]
    else:
        question = said  # "and on Sundays?" right after the question it continues
    if len(words) == 1 and (not stands_alone or FOLLOW_UP.match(newest)):
        before = next((text for role, text in reversed(history) if role == "user"), "")
        resolved = f"{before}\n{newest}" if before else None
    has_text = any((m.text or "").strip() for m in burst if not m.deleted)
    return Context(question=question, said=said, history=history, has_text=has_text, resolved=resolved)

