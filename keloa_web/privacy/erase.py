"""Deleting a person's data: a customer's (an admin's "Delete this contact's data", or Meta's data
deletion callback), or a Meta user's who connected accounts (the same callback).

A customer's data is their messages (text, links, story links), media files, reactions, read
receipts, profile (name, username, picture, signals) and the raw webhook bodies that carried them.
The conversation stays, emptied, with one line saying when and by whom it was deleted, and the
Instagram-scoped id stays on the contact: it is what routes a new message from them, should they
write again, and it identifies nobody outside this Instagram account.
"""
from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from keloa_web import changes
from keloa_web.db import utcnow
from keloa_web.media import storage
from keloa_web.models import (
    Attachment, AuthorType, Channel, ChannelStatus, Contact, Conversation, Direction, EventStatus, Message, MessageKind,
    MessageStatus, PendingRead, Reaction, WebhookEvent,
)

TOMBSTONE = "This customer's data was deleted{by} on {when} UTC: messages, media and profile."


def erase_contact(session: Session, contact: Contact, by: str | None = None) -> int:
    """Delete one customer's data; returns how many messages went. The caller commits; stored files
    are removed after the caller's commit by `remove_files(...)` with the returned paths."""
    conversation = session.scalar(select(Conversation).where(Conversation.contact_id == contact.id))
    files = [p for p in (contact.picture_path,) if p]
    removed = 0
    if conversation is not None:
        message_ids = select(Message.id).where(Message.conversation_id == conversation.id)
        files += session.scalars(select(Attachment.local_path).where(
            Attachment.message_id.in_(message_ids), Attachment.local_path.is_not(None))).all()
        mids = session.scalars(select(Message.mid).where(Message.conversation_id == conversation.id,
                                                         Message.mid.is_not(None))).all()
        for chunk in _chunks(mids):
            session.execute(delete(Reaction).where(Reaction.channel_id == contact.channel_id,
                                                   Reaction.mid.in_(chunk)))
            session.execute(delete(PendingRead).where(PendingRead.channel_id == contact.channel_id,
                                                      PendingRead.mid.in_(chunk)))
        session.execute(update(Message).where(Message.answers_message_id.in_(message_ids))
                        .values(answers_message_id=None))
        session.execute(delete(Attachment).where(Attachment.message_id.in_(message_ids)))
        removed = session.execute(delete(Message).where(Message.conversation_id == conversation.id)).rowcount
        now = utcnow()
        session.add(Message(
            conversation_id=conversation.id, channel_id=conversation.channel_id, direction=Direction.NOTE,
            kind=MessageKind.NOTE, author_type=AuthorType.SYSTEM, status=MessageStatus.RECEIVED, sent_at=now,
            text=TOMBSTONE.format(by=f" by {by}" if by else "", when=now.strftime("%Y-%m-%d %H:%M")),
            extra={"erased": True}))
        conversation.last_message_preview = "Data deleted"
        conversation.unread_count = 0
        conversation.needs_human = False
        changes.touch(session, conversation.id)
    _erase_events(session, contact.igsid)
    contact.name = contact.username = contact.picture_path = contact.profile_error = None
    contact.follower_count = contact.is_verified_user = None
    contact.is_user_follow_business = contact.is_business_follow_user = None
    contact.profile_fetched_at = utcnow()  # and not looked up again unless they write again
    session.info.setdefault("keloa_files_to_remove", []).extend(files)
    return removed


def erase_meta_user(session: Session, meta_user_id: str) -> int:
    """The Meta sign-in a person used to connect channels: their id and token go; the channels need
    reconnecting by someone else. Returns how many channels it touched."""
    channels = session.scalars(select(Channel).where(Channel.meta_user_id == meta_user_id)).all()
    for channel in channels:
        channel.meta_user_id = None
        channel.meta_user_token_enc = None
        channel.page_token_enc = None  # obtained through that person's sign-in
        if channel.status != ChannelStatus.DISCONNECTED:
            channel.status = ChannelStatus.NEEDS_RECONNECT
            channel.status_reason = ("The Meta account that connected this channel asked Meta to delete its "
                                     "data from Keloa. Reconnect it with another admin's Meta account.")
    return len(channels)


def remove_files(session: Session) -> None:
    """After the commit: the stored files of what `erase_contact` deleted."""
    for path in session.info.pop("keloa_files_to_remove", []):
        storage.delete(path)


def _erase_events(session: Session, igsid: str) -> None:
    """Raw webhook bodies already applied that name this person (done or ignored; pending and
    failed ones are left to be applied, and erase again then)."""
    if session.get_bind().dialect.name == "postgresql":  # bytea: searched as its escaped text
        found = func.strpos(func.encode(WebhookEvent.body, "escape"), igsid)
    else:
        found = func.instr(WebhookEvent.body, igsid.encode())
    session.execute(delete(WebhookEvent).where(WebhookEvent.status.in_((EventStatus.DONE, EventStatus.IGNORED)), found > 0))


def _chunks(items: list, size: int = 400):
    for i in range(0, len(items), size):
        yield items[i:i + size]
