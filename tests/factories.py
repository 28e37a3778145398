"""Test data factories (gen_* in CTFd's style). Each commits and returns the new row."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from keloa_web.db import db, utcnow

_seq = itertools.count(1)


def gen_agent(**kw):
    from keloa_web.models import Agent

    with db.session_scope() as s:
        agent = Agent(**{"name": f"Agent {next(_seq)}", **kw})
        s.add(agent)
        s.flush()
        return agent


def gen_entry(agent, title: str, body: str):
    from keloa_web.models import KnowledgeEntry

    with db.session_scope() as s:
        entry = KnowledgeEntry(agent_id=agent.id, title=title, body=body)
        s.add(entry)
        s.flush()
        return entry


def gen_channel(**kw):
    from keloa_web.models import Channel

    n = next(_seq)
    with db.session_scope() as s:
        channel = Channel(**{"ig_account_id": f"1784{n:011d}", "ig_username": f"shop{n}", "page_id": f"10{n:08d}",
                             "page_name": f"Shop {n}", **kw})
        s.add(channel)
        s.flush()
        return channel


def gen_conversation(channel, igsid: str | None = None, **kw):
    from keloa_web.models import Contact, Conversation

    with db.session_scope() as s:
        contact = Contact(channel_id=channel.id, igsid=igsid or f"{next(_seq):016d}", name="Maya Lopez")
        s.add(contact)
        s.flush()
        conv = Conversation(channel_id=channel.id, contact_id=contact.id, **kw)
        s.add(conv)
        s.flush()
        return conv


def gen_message(conversation, text: str | None = "hello", *, direction: str = "in", at: datetime | None = None,
                **kw):
    """A message in `conversation`; an inbound one also moves the conversation's window."""
    from keloa_web.models import Conversation, Message

    at = at or utcnow()
    author = {"in": "customer", "out": "user", "note": "system"}[direction]
    with db.session_scope() as s:
        msg = Message(**{"conversation_id": conversation.id, "channel_id": conversation.channel_id,
                         "mid": f"mid.{next(_seq)}" if direction != "note" else None, "direction": direction,
                         "text": text, "author_type": author, "sent_at": at,
                         "status": "received" if direction == "in" else "sent", **kw})
        s.add(msg)
        if direction == "in":
            conv = s.get(Conversation, conversation.id)
            if conv.last_customer_message_at is None or conv.last_customer_message_at < at:
                conv.last_customer_message_at = at
        s.flush()
        return msg


def ago(**kw) -> datetime:
    return utcnow() - timedelta(**kw)
