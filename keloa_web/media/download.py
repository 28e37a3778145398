"""Downloading customer media from Meta's CDN: only listed hosts, size-capped, type-checked."""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import requests
from flask import current_app

IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif", "image/bmp"}
# Never accepted, whatever Meta says the file is: browsers would run them as pages or scripts.
ACTIVE_TYPES = {"text/html", "application/xhtml+xml", "image/svg+xml", "text/javascript", "application/javascript"}
MAX_REDIRECTS = 3
_http = requests.Session()


class MediaRefused(Exception):
    """Keloa will not store this file (host, size, type): final, shown on the attachment."""


class MediaUnavailable(Exception):
    """The download failed in a way worth trying again (network, Meta's 5xx)."""


def host_allowed(url: str, hosts: list[str]) -> bool:
    """True if the URL's host is one of META_CDN_HOSTS (or a subdomain of one); ports must match."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return False
    host = parts.hostname.lower()
    for entry in hosts:
        entry = entry.strip().lower()
        if ":" in entry:
            if parts.netloc.lower() == entry:
                return True
        elif parts.port is None and (host == entry or host.endswith("." + entry)):
            return True
    return False


def type_allowed(kind: str, content_type: str) -> bool:
    if content_type in ACTIVE_TYPES or not content_type:
        return False
    if kind == "image":
        return content_type in IMAGE_TYPES
    if kind == "video":
        return content_type.startswith("video/")
    if kind == "audio":  # Instagram voice messages often come as MP4 audio
        return content_type.startswith("audio/") or content_type in ("video/mp4", "application/ogg")
    return True  # files are served as downloads only


def fetch(url: str | None, kind: str, max_bytes: int | None = None) -> tuple[bytes, str]:
    """(bytes, content type) of `url`, or MediaRefused / MediaUnavailable with a clear reason."""
    if not url:
        raise MediaRefused("Instagram sent no link for this file.")
    hosts = current_app.config["META_CDN_HOSTS"]
    limit = max_bytes or current_app.config["MEDIA_MAX_BYTES"]
    for _ in range(MAX_REDIRECTS + 1):
        if not host_allowed(url, hosts):
            raise MediaRefused(f"Refused to download from {urlsplit(url).netloc or 'an invalid link'}: "
                               "not one of Meta's media hosts (META_CDN_HOSTS).")
        try:
            resp = _http.get(url, stream=True, timeout=(5, 30), allow_redirects=False)
        except requests.RequestException as exc:
            raise MediaUnavailable(f"Could not download the file: {type(exc).__name__}.") from None
        with resp:
            if resp.is_redirect:
                url = urljoin(url, resp.headers.get("Location", ""))
                continue
            return _body(resp, kind, limit)
    raise MediaRefused("Too many redirects while downloading the file.")


def _body(resp: requests.Response, kind: str, limit: int) -> tuple[bytes, str]:
    if resp.status_code >= 500:
        raise MediaUnavailable(f"Instagram's media server answered HTTP {resp.status_code}.")
    if resp.status_code != 200:
        raise MediaRefused(f"Instagram's media server answered HTTP {resp.status_code}; the link may have expired.")
    content_type = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not type_allowed(kind, content_type):
        raise MediaRefused(f"Refused: the server sent {content_type or 'no content type'} for {_a(kind)}.")
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise MediaRefused(f"Refused: the file is {_mb(int(declared))}, over the {_mb(limit)} limit (MEDIA_MAX_BYTES).")
    chunks, size = [], 0
    try:
        for chunk in resp.iter_content(65536):
            size += len(chunk)
            if size > limit:
                raise MediaRefused(f"Refused: the file is over the {_mb(limit)} limit (MEDIA_MAX_BYTES).")
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise MediaUnavailable(f"The download broke off: {type(exc).__name__}.") from None
    return b"".join(chunks), content_type


def _a(kind: str) -> str:
    return {"image": "an image", "audio": "an audio message"}.get(kind, f"a {kind}")


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size} bytes"
