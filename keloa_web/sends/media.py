"""The public, signed, expiring URL Meta downloads an outgoing attachment from."""
from __future__ import annotations

from keloa_web.models import Attachment

# Meta fetches at once (videos within 75 s); an hour leaves room for queued and retried sends.
URL_LIFETIME_SECONDS = 3600


def public_url(attachment: Attachment) -> str:
    from keloa_web.media import storage

    return storage.public_url(attachment.local_path, URL_LIFETIME_SECONDS)
