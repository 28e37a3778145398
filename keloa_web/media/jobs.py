"""Jobs that download customer media right away, since Meta's CDN links expire."""
from __future__ import annotations

from datetime import timedelta

from rq import Retry, get_current_job
from sqlalchemy import select

from keloa_web import changes
from keloa_web.db import db, utcnow
from keloa_web.media import download, storage
from keloa_web.jobs import enqueue_once, job
from keloa_web.models import Attachment, AttachmentStatus, Message


@job("default", retry=Retry(max=2, interval=[3, 15]))
def fetch_media(attachment_id: int) -> str:
    """Download one attachment into MEDIA_DIR, or record on it why not."""
    with db.session_scope(write=False) as session:
        att = session.get(Attachment, attachment_id)
        if att is None or att.status != AttachmentStatus.PENDING:
            return "skipped"
        url, kind = att.source_url, att.type
    try:
        data, content_type = download.fetch(url, kind)
    except download.MediaRefused as exc:
        return _fail(attachment_id, str(exc))
    except download.MediaUnavailable as exc:
        current = get_current_job()
        if current is not None and current.retries_left:
            raise  # RQ tries again after a pause
        return _fail(attachment_id, f"{exc} Keloa gave up after three tries.")
    path = storage.save(data, content_type)
    with db.session_scope() as session:
        att = session.get(Attachment, attachment_id)
        if att is None or att.status != AttachmentStatus.PENDING:
            storage.delete(path)  # unsent (deleted) while we were downloading
            return "discarded"
        att.local_path, att.content_type, att.size = path, content_type, len(data)
        att.status, att.error = AttachmentStatus.STORED, None
        changes.touch(session, att.message.conversation_id)
    return "stored"


def _fail(attachment_id: int, error: str) -> str:
    with db.session_scope() as session:
        att = session.get(Attachment, attachment_id)
        if att is not None and att.status == AttachmentStatus.PENDING:
            att.status, att.error = AttachmentStatus.FAILED, error
            changes.touch(session, att.message.conversation_id)
    return "failed"


def sweep_pending_media() -> None:
    """Attachments whose download job was never queued (Redis was down after the commit)."""
    now = utcnow()
    with db.session_scope(write=False) as session:
        ids = session.scalars(
            select(Attachment.id).join(Message, Message.id == Attachment.message_id)
            .where(Attachment.status == AttachmentStatus.PENDING, Message.created_at < now - timedelta(minutes=2),
                   Message.created_at > now - timedelta(days=2))
            .limit(500)).all()
    for attachment_id in ids:
        enqueue_once(fetch_media, attachment_id, job_id=f"media-{attachment_id}")
