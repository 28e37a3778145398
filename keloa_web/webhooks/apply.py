"""Applying one stored webhook body: route each event to its channel and hand it to its handler.

Everything here runs inside the drain job's transaction (one SAVEPOINT per stored event) and is
idempotent on Meta's ids, so duplicates change nothing and any order converges. Work that needs
the network is only *collected* in `Effects` and done after the commit (see ingest.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from keloa_web.db import utcnow
from keloa_web.models import Channel, Contact, Conversation, ConversationStatus, Message
from keloa_web.webhooks import parse
from keloa_web.webhooks.lookup import Lookup

PROFILE_MAX_AGE = timedelta(days=1)


class Unprocessable(Exception):
    """The body can never be applied (not JSON, not an object): mark the event failed at once."""


@dataclass
class Effects:
    """What one event changed, acted on only if its SAVEPOINT and the batch commit succeed."""

    touched: set = field(default_factory=set)  # Conversation rows for the change feed (ids after flush)
    attachments: list = field(default_factory=list)  # Attachment rows to download
    profiles: set[int] = field(default_factory=set)  # contact ids whose profile to (re)fetch
    new_contacts: list = field(default_factory=list)  # Contact rows created (ids after flush)
    new_conversations: list = field(default_factory=list)  # Conversation rows created (assignment rules)
    customer_messages: list = field(default_factory=list)  # new inbound Message rows
    files: list[str] = field(default_factory=list)  # stored media to delete (unsent messages)
    channels: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    edits: list = field(default_factory=list)  # edited Message rows whose new text must be fetched
    applied: int = 0  # events a handler applied; a body with none is stored as "ignored"

    def merge(self, other: "Effects") -> None:
        self.touched |= other.touched
        self.attachments += other.attachments
        self.profiles |= other.profiles
        self.new_contacts += other.new_contacts
        self.new_conversations += other.new_conversations
        self.customer_messages += other.customer_messages
        self.files += other.files
        self.channels |= other.channels
        self.edits += other.edits


class Router:
    """Finds a channel by the business's Instagram account id.

    Only Instagram ids: an Instagram channel's Page also has a Facebook Messenger inbox, whose
    events (object "page", ids of the Page and of Facebook users) must never become Instagram
    conversations answered under Instagram's rules."""

    def __init__(self, session: Session) -> None:
        channels = session.scalars(select(Channel)).all()
        self.by_id: dict[str, Channel] = {c.ig_account_id: c for c in channels}
        self.pages: dict[str, Channel] = {c.page_id: c for c in channels if c.page_id}
        self.channel_ids = {c.id for c in channels}

    def find(self, *ids: str | None) -> Channel | None:
        for candidate in ids:
            if candidate and candidate in self.by_id:
                return self.by_id[candidate]
        return None


@dataclass
class Ctx:
    """One event being applied: where it goes, who the customer is, and when it happened."""

    session: Session
    lookup: Lookup
    channel: Channel
    customer: str | None
    outbound: bool
    at: datetime
    ts: int
    data: dict
    fx: Effects
    # In standby[]: another app owns the thread (Conversation Routing). Shown, never answered.
    standby: bool = False
    # Imported from the Conversations API at connect (backfill): old messages, kept like any other
    # but not news: not unread, no reopening, no AI turn, and no word on who owns the thread.
    history: bool = False

    def message(self, mid: str) -> Message | None:
        return self.lookup.message(self.channel.id, mid)

    def add_message(self, m: Message) -> None:
        self.session.add(m)
        self.lookup.messages[(m.channel_id, m.mid)] = m

    def contact(self) -> Contact | None:
        if not self.customer:
            return None
        contact = self.lookup.contact(self.channel.id, self.customer)
        if contact is None:
            contact = Contact(channel_id=self.channel.id, igsid=self.customer)
            self.session.add(contact)
            self.lookup.contacts[(self.channel.id, self.customer)] = contact
            self.fx.new_contacts.append(contact)
        elif contact.profile_fetched_at is not None and contact.profile_fetched_at < utcnow() - PROFILE_MAX_AGE:
            self.fx.profiles.add(contact.id)
        return contact

    def conversation(self, contact: Contact) -> Conversation:
        conv = self.lookup.conversation(contact)
        if conv is None:
            conv = Conversation(channel_id=self.channel.id, contact=contact, status=ConversationStatus.OPEN,
                                last_activity_at=self.at, unread_count=0)
            self.session.add(conv)
            self.lookup.by_customer[(contact.channel_id, contact.igsid)] = conv
            self.fx.new_conversations.append(conv)
        return conv

    def conversation_of(self, m: Message) -> Conversation:
        if m.conversation_id is None:  # created in this batch, not flushed yet
            return m.conversation
        return self.lookup.conversation_by_id(m.conversation_id)


def apply_body(lookup: Lookup, router: Router, body, received_at: datetime, fx: Effects) -> None:
    """Apply every event of one stored body; notes (test event, unknown account...) go to `fx`."""
    from keloa_web.webhooks import handlers

    if not isinstance(body, dict):
        raise Unprocessable("The body is JSON but not an object, so it holds no events.")
    obj = body.get("object")
    if obj == "page":
        pages = {parse.ident(e.get("id")) for e in body.get("entry") or [] if isinstance(e, dict)} - {None}
        known = sorted(router.pages[p].label for p in pages if p in router.pages)
        where = f" for the Page of {', '.join(known)}" if known else ""
        fx.notes.append(f"Ignored: a Facebook Messenger event (object \"page\"){where}. Keloa's channels "
                        "answer Instagram Direct messages only; Messenger conversations stay in Meta's inbox.")
        return
    if obj not in (None, "instagram"):
        fx.notes.append(f"Ignored: object {parse.clean(obj, 40)!r} is not Instagram messaging.")
        return
    count = 0
    for item in parse.items(body):
        count += 1
        if item.source == "test":
            fx.notes.append("Meta dashboard test event (not from a customer): recorded only.")
            continue
        if item.source.startswith("changes:"):
            fx.notes.append(f"Ignored field {item.source[8:]!r}: Keloa handles direct messages only.")
            continue
        kind = parse.classify(item.data)
        message = item.data.get("message") if isinstance(item.data.get("message"), dict) else {}
        sender, recipient = parse.ident(item.data.get("sender")), parse.ident(item.data.get("recipient"))
        outbound = kind == "echo" or parse.truthy(message.get("is_echo"))
        channel = router.find(item.entry_id, sender if outbound else recipient)
        if channel is None:
            fx.notes.append(f"unknown account {item.entry_id or recipient}: no channel with this id, ignored.")
            continue
        fx.channels.add(channel.id)
        customer = recipient if outbound else sender
        if customer in (channel.ig_account_id, channel.page_id):
            customer = None
        at, ts = parse.timestamp(item.data.get("timestamp"), received_at)
        ctx = Ctx(lookup.session, lookup, channel, customer, outbound, at, ts, item.data, fx,
                  standby=item.source == "standby")
        handler = handlers.HANDLERS.get(kind)
        if handler is None:
            keys = ", ".join(sorted(str(k) for k in item.data)[:8])
            fx.notes.append(f"Ignored an event of unknown type (keys: {parse.clean(keys, 200)}).")
            continue
        handler(ctx)
        fx.applied += 1
    if count == 0:
        fx.notes.append("The body holds no entries with events.")
