"""What a stored file really is, decided from its bytes, and how Keloa may serve it.

A CDN's Content-Type header is not trusted: a header such as `video/mp4, text/html` was stored and
served as is, and Chromium ran the file as a page. Keloa accepts one canonical type per format, from
the allowlists below, recognised by the signatures of the WHATWG MIME Sniffing Standard (§6: images,
audio and video) plus the ISO BMFF brands Instagram's media uses. The formats are few and fixed, so a
table of signatures is clearer than a general-purpose detector that guesses among thousands.
"""
from __future__ import annotations

from keloa_web.models import AttachmentType

# Types a browser may show inline: images, video, audio. Never SVG (it is a document with scripts).
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/heic", "image/heif")
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm", "video/3gpp")
AUDIO_TYPES = ("audio/mp4", "audio/mpeg", "audio/aac", "audio/ogg", "audio/wav", "audio/webm")
INLINE_TYPES = frozenset(IMAGE_TYPES + VIDEO_TYPES + AUDIO_TYPES)
# Files served as downloads with their own type; anything else is application/octet-stream.
DOWNLOAD_TYPES = frozenset({"application/pdf", "application/zip"})
OCTET = "application/octet-stream"

_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A "}
_HEIF_BRANDS = {b"heic": "image/heic", b"heix": "image/heic", b"heim": "image/heic", b"heis": "image/heic",
                b"mif1": "image/heif", b"msf1": "image/heif"}


def sniff(data: bytes) -> str | None:
    """The canonical type of `data` if it is one of the formats above, else None."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"BM") and len(head) >= 14:
        return "image/bmp"
    if head[4:8] == b"ftyp":
        return _iso_bmff(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"  # Matroska/WebM; an audio attachment in it is stored as audio/webm
    if head.startswith(b"OggS\x00"):
        return "audio/ogg"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06):
        return "audio/mpeg"  # ID3 tag, or an MPEG audio frame header (layer bits set)
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "audio/aac"  # ADTS frame header (layer bits zero)
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"
    return None


def _iso_bmff(head: bytes) -> str | None:
    brand = head[8:12]
    if brand in _AUDIO_BRANDS:
        return "audio/mp4"
    if brand in _HEIF_BRANDS:
        return _HEIF_BRANDS[brand]
    if brand == b"qt  ":
        return "video/quicktime"
    if brand.startswith(b"3g"):
        return "video/3gpp"
    return "video/mp4"  # isom, mp41, mp42, avc1, dash, iso2…: MP4 video (or audio in an MP4 box)


def accepted_type(kind: str, data: bytes) -> str | None:
    """The type Keloa stores for an attachment of `kind` ("image", "video", "audio", "file"), or
    None if the bytes are not what that kind may be. Files are always served as downloads."""
    found = sniff(data)
    if kind == AttachmentType.IMAGE:
        return found if found in IMAGE_TYPES else None
    if kind == AttachmentType.VIDEO:
        return found if found in VIDEO_TYPES else None
    if kind == AttachmentType.AUDIO:  # Instagram's voice notes come in an MP4 box, usually branded isom
        if found in ("video/mp4", "video/3gpp"):
            return "audio/mp4"
        if found == "video/webm":
            return "audio/webm"
        return found if found in AUDIO_TYPES else None
    return found if found in DOWNLOAD_TYPES else OCTET


def serving(stored_type: str | None, head: bytes) -> tuple[str, bool]:
    """(Content-Type, inline?) for a stored file whose first bytes are `head`.

    Inline only when the stored type is an allowed image, video or audio type and the bytes agree
    with it; a recognised document keeps its type as a download; everything else downloads as
    application/octet-stream. Never HTML, JavaScript, SVG or XML, whatever was stored."""
    found = sniff(head)
    stored = (stored_type or "").split(";")[0].split(",")[0].strip().lower() or found
    if stored in INLINE_TYPES and found in INLINE_TYPES and _same_family(stored, found):
        return stored, True
    if found in DOWNLOAD_TYPES:
        return found, False
    return OCTET, False


def _same_family(stored: str, found: str) -> bool:
    if stored == found:
        return True
    # An MP4 box may be stored as audio/mp4 (a voice note) or video/mp4.
    return {stored, found} <= {"audio/mp4", "video/mp4", "video/3gpp"} or {stored, found} == {"audio/webm", "video/webm"}
