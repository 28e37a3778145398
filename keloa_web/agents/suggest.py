""""Suggest a reply": the channel's agent drafts an answer to the customer's latest message for a
teammate to edit and send (it sends nothing). The same context, retrieval and backend as the ai job,
without its quiet rules: a person decides, so it works outside the AI's 24-hour window too."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from keloa_web.agents import context
from keloa_web.agents.backends import generate, retrieve
from keloa_web.db import db
from keloa_web.models import Agent, Channel, Conversation, Direction, Message


@dataclass
class Suggestion:
    text: str | None = None
    problem: str | None = None  # why there is no draft, in the teammate's words


def suggest(s: Session, conv: Conversation) -> Suggestion:
    channel = s.get(Channel, conv.channel_id)
    agent = s.get(Agent, channel.agent_id) if channel is not None and channel.agent_id else None
    if agent is None:
        return Suggestion(problem=f"No AI agent is attached to {channel.label if channel else 'this account'}: an "
                                  "admin attaches one under Integrations.")
    latest = s.scalar(select(Message).where(Message.conversation_id == conv.id, Message.direction == Direction.IN,
                                            Message.deleted.is_(False))
                      .order_by(Message.sent_at.desc(), Message.id.desc()).limit(1))
    if latest is None:
        return Suggestion(problem="The customer has not written yet: there is nothing to answer.")
    ctx = context.read(s, conv.id, latest)
    if not ctx.has_text:
        return Suggestion(problem="The customer's latest message has no text (a photo or a sticker) to answer.")
    question, hits, parts = retrieve(s, agent, ctx.question, ctx.resolved)
    with db.released():  # never wait for a model while holding a database lock
        result = generate(agent, question, ctx.history, hits, parts=parts)
    if result.text:
        return Suggestion(text=result.text)
    if result.handoff:
        return Suggestion(problem=f"{agent.name} has no answer to suggest: {result.handoff}")
    return Suggestion(problem=f"{agent.name} could not answer: {result.error}")
