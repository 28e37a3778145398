"""What an agent's knowledge is missing: the "Unanswered questions" of its page.

Two kinds of row (`KnowledgeGap`), written where they happen:

* **unanswered**: the ai job handed a customer message to a teammate because no entry answered it
  well enough (not for a hand-off keyword, the window or a model failure): `record_unanswered`;
* **corrected**: the agent answered, and a teammate then wrote to the customer before the customer
  wrote again, within CORRECTED_WITHIN: the answer was probably wrong or incomplete
  (`note_correction`, a listener of the "teammate_reply" event of keloa_web/jobs.py).

The page groups similar open questions (`groups`): by embedding similarity when the model is
installed, else by their words, so "how much is shipping to spain" and "shipping cost to spain?"
are one line with a count. "Add to knowledge base" closes a group with the entry it created;
"Dismiss" closes it without one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from keloa_web.agents import embeddings
from keloa_web.agents.forms import MAX_EXAMPLES
from keloa_web.db import utcnow
from keloa_web.describe import for_ai
from keloa_web.models import Agent, AuthorType, Conversation, Direction, GapKind, KnowledgeGap, Message

CORRECTED_WITHIN = timedelta(hours=1)
TITLE_MAX, EXAMPLE_MAX = 300, 300  # KnowledgeEntry.title, and agents.forms.EntryForm's rule per example
SIMILAR = 0.82  # cosine at or above which two questions are one group
GROUPS_SHOWN = 100
_WORD = re.compile(r"(?u)\w+")


def record_unanswered(s: Session, agent: Agent, inbound: Message, result) -> None:
    """The agent handed `inbound` off for lack of knowledge (`result` is backends.Answer)."""
    if s.scalar(select(KnowledgeGap.id).where(KnowledgeGap.message_id == inbound.id)):
        return
    best = result.hits[0] if result.hits else None
    s.add(KnowledgeGap(agent_id=agent.id, kind=GapKind.UNANSWERED, question=(for_ai(inbound) or "")[:2000],
                       conversation_id=inbound.conversation_id, message_id=inbound.id,
                       best_entry_id=best.entry_id if best else None, best_title=best.title if best else None,
                       best_score=best.confidence if best else None))


def note_correction(session: Session, conversation: Conversation, message: Message, **_ignored) -> None:
    """A teammate replied: if the agent answered the customer's last message (and the customer has
    not written since), that answer is listed as corrected."""
    last_in = session.scalar(
        select(Message).where(Message.conversation_id == conversation.id, Message.direction == Direction.IN)
        .order_by(Message.sent_at.desc(), Message.id.desc()).limit(1))
    if last_in is None:
        return
    ai_reply = session.scalar(
        select(Message).where(Message.conversation_id == conversation.id, Message.answers_message_id == last_in.id,
                              Message.author_type == AuthorType.AI, Message.direction == Direction.OUT)
        .order_by(Message.id.desc()).limit(1))
    if ai_reply is None or ai_reply.author_agent_id is None or utcnow() - ai_reply.sent_at > CORRECTED_WITHIN:
        return
    earlier_teammate = session.scalar(
        select(Message.id).where(Message.conversation_id == conversation.id, Message.id != message.id,
                                 Message.direction == Direction.OUT, Message.author_type == AuthorType.USER,
                                 Message.sent_at >= ai_reply.sent_at).limit(1))
    if earlier_teammate is not None:
        return  # only the first teammate reply after the agent's answer counts
    if session.scalar(select(KnowledgeGap.id).where(KnowledgeGap.message_id == last_in.id)):
        return
    if session.get(Agent, ai_reply.author_agent_id) is None:
        return
    session.add(KnowledgeGap(agent_id=ai_reply.author_agent_id, kind=GapKind.CORRECTED,
                             question=(for_ai(last_in) or "")[:2000], conversation_id=conversation.id,
                             message_id=last_in.id, ai_reply=ai_reply.text, teammate_reply=message.text))


@dataclass
class Group:
    gaps: list[KnowledgeGap] = field(default_factory=list)

    @property
    def first(self) -> KnowledgeGap:
        return self.gaps[0]

    @property
    def questions(self) -> list[str]:
        return list(dict.fromkeys(g.question for g in self.gaps))

    @property
    def last_asked(self) -> datetime:
        return max(g.created_at for g in self.gaps)

    @property
    def ids(self) -> str:
        return ",".join(str(g.id) for g in self.gaps)

    @property
    def title(self) -> str:
        """The entry title "Add to knowledge base" suggests: the first question, within a title's length."""
        return _fit(self.first.question, TITLE_MAX)

    @property
    def examples(self) -> str:
        """The example questions it suggests: the group's questions that fit the entry form's rules."""
        lines = [" ".join(q.split()) for q in self.questions]
        return "\n".join([q for q in lines if 0 < len(q) <= EXAMPLE_MAX][:MAX_EXAMPLES])


def _fit(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "\u2026"


def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text.lower()) if len(w) > 2)


def groups(s: Session, agent_id: int, kind: str) -> list[Group]:
    """Open gaps of one kind, similar questions together, the most asked first."""
    rows = s.scalars(select(KnowledgeGap).where(KnowledgeGap.agent_id == agent_id, KnowledgeGap.kind == kind,
                                                KnowledgeGap.closed_at.is_(None))
                     .order_by(KnowledgeGap.created_at.desc()).limit(1000)).all()
    if kind == GapKind.CORRECTED:
        return [Group([row]) for row in rows][:GROUPS_SHOWN]
    vectors = embeddings.encode([row.question for row in rows]) if rows else None
    found: list[Group] = []
    heads: list[int] = []  # index in rows of each group's first question
    for i, row in enumerate(rows):
        for group, head in zip(found, heads):
            if vectors is not None:
                similar = float(vectors[i] @ vectors[head]) >= SIMILAR
            else:
                a, b = _words(row.question), _words(rows[head].question)
                similar = bool(a and b) and len(a & b) / len(a | b) >= 0.6
            if similar:
                group.gaps.append(row)
                break
        else:
            found.append(Group([row]))
            heads.append(i)
    found.sort(key=lambda g: (-len(g.gaps), -g.last_asked.timestamp()))
    return found[:GROUPS_SHOWN]


def open_ids(s: Session, agent_id: int, ids: list[int]) -> list[int]:
    return list(s.scalars(select(KnowledgeGap.id).where(KnowledgeGap.agent_id == agent_id, KnowledgeGap.id.in_(ids),
                                                        KnowledgeGap.closed_at.is_(None))))


def close(s: Session, agent_id: int, ids: list[int], entry_id: int | None = None) -> int:
    """Close the agent's open gaps `ids` (an entry now answers them, or they were dismissed)."""
    rows = s.scalars(select(KnowledgeGap).where(KnowledgeGap.agent_id == agent_id, KnowledgeGap.id.in_(ids),
                                                KnowledgeGap.closed_at.is_(None))).all()
    now = utcnow()
    for row in rows:
        row.closed_at, row.closed_entry_id = now, entry_id
    return len(rows)
