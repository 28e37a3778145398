"""The `ai` job: answer a customer's message with the channel's agent, or hand it to a teammate.

    customer_message (ingest) -> reply_to_message(message_id) on the `ai` queue
      1. window policy (keloa_web/window.py): outside, never reply; note + flag for a teammate
      2. quiet rules (keloa_web/agents/rules.py): paused, assigned, a newer message, a teammate
         replied recently, the customer asked for a person, too many AI replies this hour
      3. retrieve + generate, outside any transaction (a model may take seconds)
      4. the checks again, then outbox.create_outgoing(author_type="ai"); the send job re-checks
         the window before calling Meta.

Every outcome that writes (a reply or a note) records the inbound message it answers in
`Message.answers_message_id` (unique), so a retried or duplicated job never answers twice.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import redis
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keloa_web.reports import events as report_events
from keloa_web import changes, window
from keloa_web.agents import context, gaps, rules
from keloa_web.agents.backends import Answer, generate, retrieve
from keloa_web.db import db, utcnow
from keloa_web.inbox import assignment
from keloa_web.notifications import notify
from keloa_web.models import Agent, AuthorType, Channel, Conversation, Direction, Message, MessageKind, MessageStatus
from keloa_web.jobs import enqueue_once, job, job_exists
from keloa_web.mids import latest_customer_mid
from keloa_web.sends.outbox import TEXT_MAX_BYTES, SendRefused, create_outgoing
from keloa_web.sends.sender_actions import enqueue_mark_seen, typing

log = logging.getLogger(__name__)


# Ingest emits one event per conversation per batch: a fresh query each time would cost the
# drain about half its speed, so each process remembers a channel's answer for a moment. A
# change to the channel's AI settings reaches the workers within this many seconds.
_ELIGIBILITY_TTL = 2.0
_eligibility: dict[tuple[int, int], tuple[float, bool]] = {}


def _channel_answers(channel_id: int) -> bool:
    now, key = time.monotonic(), (db.generation, channel_id)
    cached = _eligibility.get(key)
    if cached and now - cached[0] < _ELIGIBILITY_TTL:
        return cached[1]
    with db.session_scope(write=False) as s:
        channel = s.get(Channel, channel_id)
        answers = bool(channel and channel.agent_id is not None and channel.ai_enabled and channel.can_send)
    _eligibility[key] = (now, answers)
    return answers


def queue_reply(message_id: int, conversation_id: int, channel_id: int | None = None, **_ignored) -> None:
    """Queue the ai job when the conversation's channel has an agent, AI on, and can send."""
    if channel_id is None:
        with db.session_scope(write=False) as s:
            channel_id = s.scalar(select(Conversation.channel_id).where(Conversation.id == conversation_id))
    if channel_id is None or not _channel_answers(channel_id):
        return
    delay = current_app.config["AI_REPLY_DELAY_SECONDS"]
    try:  # with a delay, a burst of messages gets one answer: the newest message's job answers them all
        enqueue_once(reply_to_message, message_id, job_id=f"ai-{message_id}", delay=delay)
    except redis.RedisError:  # the message is stored; only the automatic answer is lost, so say so
        log.error("could not queue the AI reply to message %s: Redis unavailable", message_id)


@dataclass
class _Turn:
    agent: Agent
    question: str
    history: list[tuple[str, str]]
    resolved: str | None = None


# A finished turn's job record is kept for an hour: a duplicate event for the same message finds it
# (DuplicateJobError), and `requeue_lost_turns` below can tell a turn that ran from one that was lost.
@job("ai", timeout=300, result_ttl=3600)
def reply_to_message(message_id: int) -> None:
    """Answer one inbound message (once), or leave a note and flag the conversation."""
    max_per_hour = int(current_app.config["AI_MAX_REPLIES_PER_HOUR"])
    with db.session_scope(write=False) as s:
        turn = _check(s, message_id, max_per_hour, write=False)
        if turn is None:
            return
        question, hits, parts = retrieve(s, turn.agent, turn.question, turn.resolved)
        conversation = s.get(Conversation, s.get(Message, message_id).conversation_id)
        conversation_id = conversation.id
        # The AI has read it: "Seen" (if read receipts are on) and "typing…" while the model works.
        enqueue_mark_seen(conversation, s.get(Channel, conversation.channel_id), latest_customer_mid(s, conversation_id))
    shown = typing(conversation_id, True)
    try:
        result = generate(turn.agent, question, turn.history, hits, parts=parts)
    finally:
        if shown:
            typing(conversation_id, False)
    with db.session_scope() as s:
        # The world may have moved while the model thought: a teammate replied, a newer message came.
        if _check(s, message_id, max_per_hour, write=True) is None:
            return
        _deliver(s, message_id, turn.agent, result)


def _check(s: Session, message_id: int, max_per_hour: int, write: bool) -> _Turn | None:
    """The agent and what to answer, or None when the AI must not answer (after writing any note)."""
    inbound = s.get(Message, message_id)
    if inbound is None or inbound.direction != Direction.IN or _answered(s, message_id):
        return None
    conversation = s.get(Conversation, inbound.conversation_id)
    channel = s.get(Channel, conversation.channel_id)
    agent = s.get(Agent, channel.agent_id) if channel.agent_id else None
    if agent is None or not channel.ai_enabled or not channel.can_send:
        return None  # the channel's settings changed since the message arrived
    decision = window.for_conversation(conversation, "ai")
    if not decision.allowed:
        return _note_later(s, write, conversation, inbound, agent, f"AI did not reply: {decision.reason}")
    ctx = context.read(s, conversation.id, inbound)
    if not ctx.has_text:
        return None  # photos, stickers and story mentions wait for a teammate in the inbox
    quiet = rules.quiet_reason(s, conversation, inbound, agent, ctx.said, max_per_hour)
    if quiet is not None:
        if quiet.note:
            return _note_later(s, write, conversation, inbound, agent, f"AI did not reply: {quiet.reason}",
                               pause=quiet.pause)
        log.info("AI quiet on message %s: %s", message_id, quiet.reason)
        return None
    return _Turn(agent=agent, question=ctx.question, history=ctx.history, resolved=ctx.resolved)


def _answered(s: Session, message_id: int) -> bool:
    return s.scalar(select(Message.id).where(Message.answers_message_id == message_id).limit(1)) is not None


def _note_later(s: Session, write: bool, conversation: Conversation, inbound: Message, agent: Agent, text: str,
                pause: bool = False) -> None:
    """Notes are written by a write session; the read-only first pass hands over to one."""
    if write:
        note(s, conversation, inbound, agent, text, pause=pause)
        return None
    with db.session_scope() as ws:
        if not _answered(ws, inbound.id):
            note(ws, ws.get(Conversation, conversation.id), ws.get(Message, inbound.id), agent, text, pause=pause)
    return None


def note(s: Session, conversation: Conversation, inbound: Message, agent: Agent, text: str,
         pause: bool = False, answering: bool = True) -> Message:
    """An internal note (never sent) answering `inbound` (unless the AI's reply already does), and the
    conversation flagged for a person."""
    message = Message(conversation_id=conversation.id, channel_id=conversation.channel_id, direction=Direction.NOTE,
                      kind=MessageKind.NOTE, text=text, author_type=AuthorType.SYSTEM, author_agent_id=agent.id,
                      status=MessageStatus.SENT,
                      sent_at=utcnow(), answers_message_id=inbound.id if answering else None)
    s.add(message)
    conversation.needs_human = True
    if pause:
        conversation.ai_paused = True
    s.flush()
    assignment.on_handoff(s, conversation)
    notify.handed_off(s, conversation, text)
    report_events.handed_off(s, conversation, text)
    changes.touch(s, conversation.id)
    return message


def _deliver(s: Session, message_id: int, agent: Agent, result: Answer) -> None:
    inbound = s.get(Message, message_id)
    conversation = s.get(Conversation, inbound.conversation_id)
    if result.text:
        try:
            texts = _with_disclosure(s, conversation, agent, result.text)
            for text in texts[:-1]:  # a disclosure too long to share the answer's message goes first
                create_outgoing(s, conversation, text=text, author_type=AuthorType.AI, agent_id=agent.id)
            reply = create_outgoing(s, conversation, text=texts[-1], author_type=AuthorType.AI, agent_id=agent.id)
        except SendRefused as exc:
            note(s, conversation, inbound, agent, f"AI did not reply: {exc}")
            return
        reply.answers_message_id = inbound.id
        s.flush()
        if result.handoff:  # part of the message answered, the rest for a person
            note(s, conversation, inbound, agent, f"AI answered part and handed the rest to a teammate: "
                                                  f"{result.handoff}", answering=False)
            gaps.record_unanswered(s, agent, inbound, result)
    elif result.handoff:
        note(s, conversation, inbound, agent, f"AI handed this to a teammate: {result.handoff}")
        gaps.record_unanswered(s, agent, inbound, result)
    else:
        note(s, conversation, inbound, agent, f"AI could not answer: {result.error}")


def _with_disclosure(s: Session, conversation: Conversation, agent: Agent, answer: str) -> list[str]:
    """The message(s) to send: the answer, preceded by the agent's disclosure in the first AI reply
    of the conversation (Meta: automated chat experiences must say so where the law requires)."""
    if not agent.disclose or s.scalar(select(Message.id).where(
            Message.conversation_id == conversation.id, Message.author_type == AuthorType.AI).limit(1)):
        return [answer]
    disclosure = agent.disclosure(s.get(Channel, conversation.channel_id).label)
    joined = f"{disclosure}\n\n{answer}"
    return [joined] if len(joined.encode()) <= TEXT_MAX_BYTES else [disclosure, answer]


LOST_TURNS_WITHIN = timedelta(minutes=15)
RECENT_MESSAGES = 20_000  # the newest message ids looked at (a primary-key range, not a scan)


def requeue_lost_turns() -> None:
    """A worker that died between storing a customer's message and queueing its AI turn, or a Redis
    that lost its data, would leave the message unanswered: queue the turn again.

    A turn answers a conversation's newest customer message (ingest asks once per conversation and
    batch, for its newest: the older ones of a burst never had a job of their own), so only that
    message is looked at, if it was stored and sent in the last 15 minutes (history imported when a
    channel connects is stored now but was sent long ago) and its turn left no job record at all.
    The job still answers at most once and checks the window and the quiet rules again."""
    now = utcnow()
    settle = timedelta(seconds=float(current_app.config["AI_REPLY_DELAY_SECONDS"]) + 60)
    with db.session_scope(write=False) as s:
        newest = s.scalar(select(func.max(Message.id))) or 0
        rows = s.execute(select(Message.id, Message.conversation_id, Message.channel_id, Message.sent_at,
                                Message.created_at).where(
            Message.id > newest - RECENT_MESSAGES, Message.direction == Direction.IN,
            Message.created_at >= now - LOST_TURNS_WITHIN, Message.sent_at >= now - LOST_TURNS_WITHIN,
        )).all()
    latest: dict[int, tuple] = {}
    for row in rows:
        held = latest.get(row.conversation_id)
        if held is None or (row.sent_at, row.id) > (held.sent_at, held.id):
            latest[row.conversation_id] = row
    settled = [row for row in latest.values() if row.created_at < now - settle]  # else its hook may still run
    for message_id, conversation_id, channel_id, _sent, _created in sorted(settled):
        if _channel_answers(channel_id) and not job_exists(f"ai-{message_id}"):
            log.warning("AI turn for message %s was lost; queueing it again", message_id)
            queue_reply(message_id, conversation_id, channel_id)
