"""Files a teammate attaches to a reply: type sniffed from the bytes (never the name), size checked
against Meta's limits, then stored in Keloa's media storage for Meta to fetch by a signed URL."""
from __future__ import annotations

from dataclasses import dataclass

from werkzeug.datastructures import FileStorage

from keloa_web.media import sniff as media_sniff
from keloa_web.models import AttachmentStatus, AttachmentType

MB = 1024 * 1024
LIMITS = {AttachmentType.IMAGE: 8 * MB, AttachmentType.VIDEO: 25 * MB, AttachmentType.AUDIO: 25 * MB}
ACCEPT = ("image/png,image/jpeg,video/mp4,video/quicktime,video/webm,"
          "audio/aac,audio/mp4,audio/x-m4a,audio/wav,audio/x-wav")
ACCEPTED_WORDS = "PNG or JPEG images (8 MB), MP4, MOV or WebM videos and AAC, M4A, WAV or MP4 audio (25 MB)"


@dataclass
class Upload:
    kind: str  # an AttachmentType: image, video or audio
    content_type: str
    data: bytes


class UploadError(ValueError):
    pass


# What Instagram's Send API takes, by the type media.sniff reads from the bytes.
SENDABLE = {"image/png": AttachmentType.IMAGE, "image/jpeg": AttachmentType.IMAGE, "video/mp4": AttachmentType.VIDEO,
            "video/quicktime": AttachmentType.VIDEO, "video/webm": AttachmentType.VIDEO,
            "audio/mp4": AttachmentType.AUDIO, "audio/wav": AttachmentType.AUDIO, "audio/aac": AttachmentType.AUDIO}


def sniff(head: bytes) -> tuple[str, str] | None:
    """(kind, content type) from a file's first bytes, or None if Instagram would not take it."""
    content_type = media_sniff.sniff(head)
    return (SENDABLE[content_type], content_type) if content_type in SENDABLE else None


def read_upload(file: FileStorage | None) -> Upload | None:
    """The checked upload, None if no file was chosen; raises UploadError with what to do."""
    if file is None or not file.filename:
        return None
    data = file.read(max(LIMITS.values()) + 1)
    if not data:
        raise UploadError(f"“{file.filename}” is empty. Choose another file.")
    found = sniff(data[:64])
    if found is None:
        raise UploadError(f"“{file.filename}” is not a file Instagram accepts. Send {ACCEPTED_WORDS}.")
    kind, content_type = found
    if len(data) > LIMITS[kind]:
        raise UploadError(f"“{file.filename}” is {len(data) / MB:.1f} MB or more; Instagram accepts {kind}s up to "
                          f"{LIMITS[kind] // MB} MB. Send a smaller file.")
    return Upload(kind, content_type, data)


def store(upload: Upload):
    """Save the file in Keloa's media storage; returns an unsaved Attachment for the outbox."""
    from keloa_web.media import storage
    from keloa_web.models import Attachment

    path = storage.save(upload.data, upload.content_type, folder="outgoing")
    return Attachment(type=upload.kind, local_path=path, content_type=upload.content_type, size=len(upload.data),
                      status=AttachmentStatus.STORED)
