"""When the AI stays quiet: hand-off keywords and the per-conversation quiet rules."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keloa_web.db import utcnow
from keloa_web.models import Agent, AuthorType, Conversation, Direction, Message


def handoff_keywords(agent: Agent) -> list[str]:
    return [k.strip() for k in re.split(r"[,\n]", agent.handoff_keywords or "") if k.strip()]


def wants_human(agent: Agent, text: str | None) -> str | None:
    """The hand-off keyword in `text`, matched as whole words regardless of case, if any."""
    if not text:
        return None
    for keyword in handoff_keywords(agent):
        if re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", text, flags=re.IGNORECASE):
            return keyword
    return None


@dataclass
class Quiet:
    reason: str
    note: bool = False  # leave an internal note and flag the conversation for a teammate
    pause: bool = False  # also pause the AI in this conversation


def standing_quiet(session: Session, conversation: Conversation, agent: Agent):
    """What keeps the AI quiet in this conversation right now, whatever the customer writes next,
    for the composer: (words, until) with `until` None when it lasts until a teammate acts; or None."""
    if conversation.ai_paused:
        return "AI paused for this conversation", None
    if conversation.assignee_id is not None:
        return "AI quiet: the conversation is assigned to a teammate", None
    if agent.quiet_minutes > 0:
        last = session.scalar(select(func.max(Message.sent_at)).where(
            Message.conversation_id == conversation.id, Message.direction == Direction.OUT,
            Message.author_type.in_((AuthorType.USER, AuthorType.INSTAGRAM))))
        until = last + timedelta(minutes=agent.quiet_minutes) if last is not None else None
        if until is not None and until > utcnow():
            return "AI quiet: a teammate replied", until
    return None


def quiet_reason(session: Session, conversation: Conversation, inbound: Message, agent: Agent, question: str,
                 max_per_hour: int) -> Quiet | None:
    """Why the AI must not answer `inbound` now, or None. Checked before and after generating."""
    if conversation.ai_paused:
        return Quiet("AI is paused for this conversation.")
    if conversation.assignee_id is not None:
        return Quiet("The conversation is assigned to a teammate.")
    newer = session.scalar(
        select(Message.id).where(
            Message.conversation_id == conversation.id, Message.direction == Direction.IN, Message.id != inbound.id,
            (Message.sent_at > inbound.sent_at) | ((Message.sent_at == inbound.sent_at) & (Message.id > inbound.id)),
        ).limit(1))
    if newer is not None:
        return Quiet("A newer customer message will be answered instead.")
    now = utcnow()
    if agent.quiet_minutes > 0 and session.scalar(
        select(Message.id).where(
            Message.conversation_id == conversation.id, Message.direction == Direction.OUT,
            Message.author_type.in_((AuthorType.USER, AuthorType.INSTAGRAM)),
            Message.sent_at >= now - timedelta(minutes=agent.quiet_minutes),
        ).limit(1)) is not None:
        return Quiet(f"A teammate replied in the last {agent.quiet_minutes} minutes.")
    keyword = wants_human(agent, question)
    if keyword:
        return Quiet(f"The customer asked for a person (\u201c{keyword}\u201d). AI is paused for this "
                     "conversation; resume it from the thread when you are done.", note=True, pause=True)
    sent = session.scalar(
        select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation.id, Message.direction == Direction.OUT, Message.author_type == AuthorType.AI,
            Message.sent_at >= now - timedelta(hours=1),
        ))
    if sent >= max_per_hour:
        return Quiet(f"The AI already sent {sent} replies here in the last hour (the limit is {max_per_hour}).",
                     note=not conversation.needs_human)
    return None
