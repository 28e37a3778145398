"""Rows a batch of events touches, loaded with a handful of IN queries instead of one per event.

A miss that was not prefetched falls back to a query, so handlers never see a stale answer; after
a SAVEPOINT rollback the drain calls `clear()` because rolled-back objects are no longer valid.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from keloa_web.models import Contact, Conversation, Message, PendingRead, Reaction
from keloa_web.webhooks import parse

_CHUNK = 400


class Lookup:
    def __init__(self, session: Session) -> None:
        self.session = session
        # PostgreSQL: rows a batch updates are locked as they are read, so that two drains in
        # parallel never overwrite each other's counters (a no-op on SQLite, which has one writer).
        self.lock = session.get_bind().dialect.name == "postgresql"
        self.clear()

    def clear(self) -> None:
        self.messages: dict[tuple[int, str], Message | None] = {}
        self.contacts: dict[tuple[int, str], Contact | None] = {}
        self.conversations: dict[int, Conversation | None] = {}  # by contact id
        self.conversations_by_id: dict[int, Conversation] = {}
        self.by_customer: dict[tuple[int, str], Conversation] = {}  # includes ones not flushed yet
        self.pending_reads: dict[tuple[int, str], PendingRead | None] = {}
        self.reactions: dict[tuple[int, str, str], Reaction | None] = {}
        # What was prefetched: a miss on these is a known absence, not a reason to query.
        self.known_channels: set[int] = set()
        self.known_mids: set[str] = set()
        self.known_people: set[str] = set()
        self.known_contacts: set[int] = set()

    def prefetch(self, channel_ids: set[int], mids: set[str], people: set[str]) -> None:
        """Load every row the batch may need; absent ones are remembered as absent."""
        if not channel_ids:
            return
        s = self.session
        for chunk in _chunks(mids):
            for m in s.scalars(self._locked(select(Message).where(
                    Message.mid.in_(chunk), Message.channel_id.in_(channel_ids)).order_by(Message.id))):
                self.messages[(m.channel_id, m.mid)] = m
            for p in s.scalars(self._locked(select(PendingRead).where(PendingRead.mid.in_(chunk)).order_by(PendingRead.id))):
                self.pending_reads[(p.channel_id, p.mid)] = p
            for r in s.scalars(self._locked(select(Reaction).where(Reaction.mid.in_(chunk)).order_by(Reaction.id))):
                self.reactions[(r.channel_id, r.mid, r.reactor_igsid)] = r
        contact_ids = []
        for chunk in _chunks(people):
            for c in s.scalars(select(Contact).where(Contact.igsid.in_(chunk), Contact.channel_id.in_(channel_ids))):
                self.contacts[(c.channel_id, c.igsid)] = c
                contact_ids.append(c.id)
        for chunk in _chunks(contact_ids):
            query = select(Conversation).where(Conversation.contact_id.in_(chunk)).order_by(Conversation.id)
            for conv in s.scalars(self._locked(query, of=Conversation)):
                self.conversations[conv.contact_id] = conv
                self.conversations_by_id[conv.id] = conv
        self.known_channels |= set(channel_ids)
        self.known_mids |= mids
        self.known_people |= people
        self.known_contacts |= set(contact_ids)

    def _locked(self, query, of=None):
        return query.with_for_update(of=of) if self.lock else query

    def _known(self, channel_id: int, value: str, known: set) -> bool:
        return channel_id in self.known_channels and value in known

    def message(self, channel_id: int, mid: str) -> Message | None:
        key = (channel_id, mid)
        if key not in self.messages and self._known(channel_id, mid, self.known_mids):
            return None
        if key not in self.messages:
            self.messages[key] = self.session.scalar(self._locked(
                select(Message).where(Message.channel_id == channel_id, Message.mid == mid)))
        return self.messages[key]

    def contact(self, channel_id: int, igsid: str) -> Contact | None:
        key = (channel_id, igsid)
        if key not in self.contacts and self._known(channel_id, igsid, self.known_people):
            return None
        if key not in self.contacts:
            self.contacts[key] = self.session.scalar(
                select(Contact).where(Contact.channel_id == channel_id, Contact.igsid == igsid))
        return self.contacts[key]

    def conversation(self, contact: Contact) -> Conversation | None:
        key = (contact.channel_id, contact.igsid)
        if key in self.by_customer:
            return self.by_customer[key]
        contact_id = contact.id
        if contact_id is None or (contact_id not in self.conversations and contact_id in self.known_contacts):
            return None  # a contact created in this batch, or one known to have no conversation
        if contact_id not in self.conversations:
            self.conversations[contact_id] = self.session.scalar(self._locked(
                select(Conversation).where(Conversation.contact_id == contact_id), of=Conversation))
        conv = self.conversations[contact_id]
        if conv is not None:
            self.by_customer[key] = conv
        return conv

    def conversation_by_id(self, conversation_id: int) -> Conversation:
        if conversation_id not in self.conversations_by_id:
            conv = self.session.scalar(self._locked(
                select(Conversation).where(Conversation.id == conversation_id), of=Conversation))
            self.conversations_by_id[conversation_id] = conv
        return self.conversations_by_id[conversation_id]

    def pending_read(self, channel_id: int, mid: str) -> PendingRead | None:
        key = (channel_id, mid)
        if key not in self.pending_reads and self._known(channel_id, mid, self.known_mids):
            return None
        if key not in self.pending_reads:
            self.pending_reads[key] = self.session.scalar(self._locked(
                select(PendingRead).where(PendingRead.channel_id == channel_id, PendingRead.mid == mid)))
        return self.pending_reads[key]

    def reaction(self, channel_id: int, mid: str, reactor: str) -> Reaction | None:
        key = (channel_id, mid, reactor)
        if key not in self.reactions and self._known(channel_id, mid, self.known_mids):
            return None
        if key not in self.reactions:
            self.reactions[key] = self.session.scalar(self._locked(select(Reaction).where(
                Reaction.channel_id == channel_id, Reaction.mid == mid, Reaction.reactor_igsid == reactor)))
        return self.reactions[key]


def _chunks(values) -> list[list]:
    values = sorted(values)
    return [values[i:i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def ids_in(body) -> tuple[set[str], set[str]]:
    """(message ids, people ids) a body mentions, for `Lookup.prefetch`."""
    mids, people = set(), set()
    for item in parse.items(body):
        data = item.data
        for key in ("message", "reaction", "read", "message_edit", "postback"):
            mid = parse.mid_of(data.get(key))
            if mid:
                mids.add(mid)
        for key in ("sender", "recipient"):
            person = parse.ident(data.get(key))
            if person:
                people.add(person)
    return mids, people
