"""Retention: each account may keep conversations (or only their media files) for a number of days.

`sweep` finds, per account with `retention_days` set, the conversations whose last activity is
older than that (scope "conversations": the conversation, its messages, media files, reactions,
read receipts, notes and the contact go), or the stored media files of messages older than that
(scope "media": the files go, each message says so). Without `apply` it only counts: that is the
dry-run report an admin sees on the account's settings before saving, and what
`python -m keloa_web purge` prints. The worker runs it daily with `apply` (`daily_purge`), logs each
account's deletions and keeps the report on the account.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from keloa_web.db import db, utcnow
from keloa_web.jobs import job
from keloa_web.media import storage
from keloa_web.models import (
    Attachment, AttachmentStatus, Channel, Contact, Conversation, Message, PendingRead, Reaction, RetentionScope,
)

log = logging.getLogger(__name__)
BATCH = 200  # conversations deleted per transaction step
MAX_DAYS = 3650


@dataclass
class Report:
    channel_id: int
    account: str
    days: int
    scope: str
    conversations: int = 0
    messages: int = 0
    files: int = 0
    bytes: int = 0

    def sentence(self, applied: bool) -> str:
        verb = "Deleted" if applied else "Would delete"
        files = _count(self.files, "media file") + (f" ({_size(self.bytes)})" if self.bytes else "")
        if self.scope == RetentionScope.MEDIA:
            return f"{self.account}: {verb} {files} older than {_count(self.days, 'day')}."
        return (f"{self.account}: {verb} {_count(self.conversations, 'conversation')} "
                f"({_count(self.messages, 'message')}, {files}) with no activity for {_count(self.days, 'day')}.")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _size(n: int) -> str:
    for unit, step in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= step:
            return f"{n / step:.1f} {unit}"
    return f"{n} bytes"


def _cutoff(days: int):
    return utcnow() - timedelta(days=days)


def preview(s: Session, channel: Channel, days: int, scope: str) -> Report:
    """What a retention of `days` and `scope` would delete now (nothing is changed)."""
    report = Report(channel.id, channel.label, days, scope)
    cutoff = _cutoff(days)
    if scope == RetentionScope.MEDIA:
        files = select(Attachment.size).join(Message).where(
            Message.channel_id == channel.id, Message.sent_at < cutoff, Attachment.local_path.is_not(None))
    else:
        old = select(Conversation.id).where(Conversation.channel_id == channel.id,
                                            Conversation.last_activity_at < cutoff)
        report.conversations = s.scalar(select(func.count()).select_from(old.subquery())) or 0
        report.messages = s.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id.in_(old))) or 0
        files = select(Attachment.size).join(Message).where(Message.conversation_id.in_(old),
                                                            Attachment.local_path.is_not(None))
    row = s.execute(select(func.count(), func.coalesce(func.sum(func.coalesce(files.subquery().c.size, 0)), 0))).one()
    report.files, report.bytes = int(row[0]), int(row[1])
    if scope != RetentionScope.MEDIA:  # the contacts' profile pictures go with their conversations
        report.files += s.scalar(select(func.count()).select_from(Contact).where(
            Contact.id.in_(select(Conversation.contact_id).where(Conversation.id.in_(old))),
            Contact.picture_path.is_not(None))) or 0
    return report


def _delete_conversations(s: Session, channel: Channel, cutoff, report: Report) -> None:
    while True:
        ids = s.scalars(select(Conversation.id).where(Conversation.channel_id == channel.id,
                                                      Conversation.last_activity_at < cutoff).limit(BATCH)).all()
        if not ids:
            return
        message_ids = select(Message.id).where(Message.conversation_id.in_(ids))
        paths = s.execute(select(Attachment.local_path, Attachment.size).where(
            Attachment.message_id.in_(message_ids), Attachment.local_path.is_not(None))).all()
        mids = s.scalars(select(Message.mid).where(Message.conversation_id.in_(ids), Message.mid.is_not(None))).all()
        for i in range(0, len(mids), 400):
            chunk = mids[i:i + 400]
            s.execute(delete(Reaction).where(Reaction.channel_id == channel.id, Reaction.mid.in_(chunk)))
            s.execute(delete(PendingRead).where(PendingRead.channel_id == channel.id, PendingRead.mid.in_(chunk)))
        contact_ids = s.scalars(select(Conversation.contact_id).where(Conversation.id.in_(ids))).all()
        pictures = [p for p in s.scalars(select(Contact.picture_path).where(Contact.id.in_(contact_ids))).all() if p]
        report.messages += s.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id.in_(ids))) or 0
        s.execute(update(Message).where(Message.answers_message_id.in_(message_ids)).values(answers_message_id=None))
        s.execute(delete(Attachment).where(Attachment.message_id.in_(message_ids)))
        s.execute(delete(Message).where(Message.conversation_id.in_(ids)))
        s.execute(delete(Conversation).where(Conversation.id.in_(ids)))
        s.execute(delete(Contact).where(Contact.id.in_(contact_ids)))  # their fields and notes cascade
        s.commit()
        for path, size in paths:
            storage.delete(path)
            report.files += 1
            report.bytes += size or 0
        for path in pictures:
            storage.delete(path)
            report.files += 1
        report.conversations += len(ids)


def _delete_media(s: Session, channel: Channel, cutoff, days: int, report: Report) -> None:
    while True:
        rows = s.execute(select(Attachment.id, Attachment.local_path, Attachment.size).join(Message).where(
            Message.channel_id == channel.id, Message.sent_at < cutoff, Attachment.local_path.is_not(None))
            .limit(BATCH * 5)).all()
        if not rows:
            return
        s.execute(update(Attachment).where(Attachment.id.in_([r.id for r in rows])).values(
            local_path=None, status=AttachmentStatus.FAILED,
            error=f"Removed after {days} days, by this account's retention setting"))
        s.commit()
        for r in rows:
            storage.delete(r.local_path)
            report.files += 1
            report.bytes += r.size or 0


def purge_channel(s: Session, channel: Channel) -> Report:
    days, scope = channel.retention_days, channel.retention_scope
    report = Report(channel.id, channel.label, days, scope)
    cutoff = _cutoff(days)
    if scope == RetentionScope.MEDIA:
        _delete_media(s, channel, cutoff, days, report)
    else:
        _delete_conversations(s, channel, cutoff, report)
    channel = s.get(Channel, report.channel_id)
    channel.retention_ran_at = utcnow()
    channel.retention_report = report.sentence(applied=True)
    s.commit()
    log.info("Retention: %s", report.sentence(applied=True))
    return report


def sweep(s: Session, apply: bool) -> list[Report]:
    channels = s.scalars(select(Channel).where(Channel.retention_days.is_not(None)).order_by(Channel.id)).all()
    if not apply:
        return [preview(s, c, c.retention_days, c.retention_scope) for c in channels]
    return [purge_channel(s, c) for c in channels]


def daily_purge() -> None:
    """The worker's daily task (keloa_web/jobs.py SCHEDULE)."""
    with db.session_scope() as s:
        sweep(s, apply=True)


@job("default", timeout=3600)
def purge_now(channel_id: int) -> None:
    """Right after an admin saved a retention that deletes something: that account's purge."""
    with db.session_scope() as s:
        channel = s.get(Channel, channel_id)
        if channel is not None and channel.retention_days is not None:
            purge_channel(s, channel)
