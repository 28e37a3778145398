"""Downloading customer media from Meta's CDN: listed hosts only, public addresses only, size- and
time-capped, and typed by its bytes.

A URL from a webhook is attacker-controlled (a customer cannot forge Meta's signature, but Meta's
payload carries what the customer's client sent, and a leaked app secret or a bug elsewhere would
make it so), so each one, and each redirect target, is checked the way the HTTP client will use it:
- no backslash, whitespace, control character or userinfo (`http://127.0.0.1:9300\\@fbcdn.net/x`
  reads as fbcdn.net to `urlsplit` and as 127.0.0.1 to urllib3: refused before either parses it);
- `urlsplit` and urllib3's own parser must agree on scheme, host and port;
- the host is one of META_CDN_HOSTS or a subdomain of one (with the entry's port, if it names
  one); IP literals only if listed exactly;
- the connection goes to an address resolved once and checked: never private, loopback,
  link-local, multicast or reserved, unless the host is listed exactly in META_CDN_HOSTS (the
  sandbox's `127.0.0.1:port` is). The check is made inside urllib3's connect, on the address it
  then connects to, so a DNS answer that changes between check and use cannot slip through;
- the whole download, redirects included, has one deadline (MEDIA_DOWNLOAD_SECONDS): a server that
  trickles bytes is cut off when it passes, not only when one read stalls.
"""
from __future__ import annotations

import contextvars
import ipaddress
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from flask import current_app
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util import connection as urllib3_connection
from urllib3.util import parse_url

from keloa_web.media import sniff
from keloa_web.models import AttachmentType

MAX_REDIRECTS = 3
_BAD_CHARS = re.compile(r"[\\\s\x00-\x1f\x7f]")
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9.]+)$", re.I)


class MediaRefused(Exception):
    """Keloa will not store this file (host, size, type): final, shown on the attachment."""


class MediaUnavailable(Exception):
    """The download failed in a way worth trying again (network, Meta's 5xx, too slow)."""


# --- which URLs and addresses -------------------------------------------------------------------

def _entries(hosts: list[str]) -> list[str]:
    return [entry.strip().lower() for entry in hosts if entry.strip()]


def _netloc(host: str, port: int | None) -> str:
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port is not None else host


def listed_exactly(host: str, port: int | None, hosts: list[str]) -> bool:
    """The host (with its port, if the URL names one) is itself an entry of META_CDN_HOSTS."""
    return _netloc(host, port) in _entries(hosts)


def host_allowed(url: str, hosts: list[str]) -> bool:
    """True if Keloa may download from `url`: see the module's docstring for the rules."""
    return refusal(url, hosts) is None


def refusal(url: str, hosts: list[str]) -> str | None:
    """Why `url` may not be fetched, or None if it may."""
    if not url or _BAD_CHARS.search(url):
        return "an invalid link"
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "an invalid link"
    if "@" in parts.netloc:
        return "a link with a user name in it"
    try:
        port = parts.port
        theirs = parse_url(url)
    except ValueError:
        return "an invalid link"
    host = parts.hostname.lower()
    if (theirs.scheme, (theirs.host or "").lower().strip("[]"), theirs.port) != (parts.scheme, host, port):
        return "an ambiguous link"
    if _is_ip_literal(host):
        return None if listed_exactly(host, port, hosts) else host
    for entry in _entries(hosts):
        name, _, entry_port = entry.rpartition(":") if ":" in entry else (entry, "", "")
        if (port is None and not entry_port) or (entry_port and str(port) == entry_port):
            if host == name or host.endswith("." + name):
                return None
    return _netloc(host, port)


def _is_ip_literal(host: str) -> bool:
    if ":" in host or _NUMERIC_HOST.match(host):
        return True  # IPv6, dotted or bare decimal/hex forms (127.1, 2130706433, 0x7f000001)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def address_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


# --- one download's state: its deadline, its sockets, why a connection was refused --------------

@dataclass
class _Download:
    hosts: list[str]
    deadline: float
    sockets: list[socket.socket] = field(default_factory=list)
    refused: str | None = None
    expired: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def cut_off(self) -> None:
        """Called by the watchdog at the deadline: a read blocked on a trickling server wakes up."""
        with self.lock:
            self.expired = True
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


_current: contextvars.ContextVar[_Download | None] = contextvars.ContextVar("keloa_media_download", default=None)


class _CheckedConnectionMixin:
    """Resolves the host once, refuses non-public addresses (unless the host is listed exactly),
    and connects to the address it checked."""

    def _new_conn(self):  # urllib3's hook: the one place a socket is made
        state = _current.get()
        if state is None:  # only used inside fetch()
            raise NewConnectionError(self, "media connections are made by keloa_web.media.download.fetch")
        host, port = self._dns_host.rstrip("."), self.port
        exempt = listed_exactly(host.lower(), port if port not in (80, 443) else None, state.hosts) or \
            listed_exactly(host.lower(), port, state.hosts)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NewConnectionError(self, f"could not resolve {host}: {exc}") from exc
        addresses = [info[4][0] for info in infos]
        if not exempt and not all(address_public(a) for a in addresses):
            state.refused = f"{host} resolves to a private or local address"
            raise NewConnectionError(self, state.refused)
        timeout = self.timeout if self.timeout is not None else 10
        last: OSError | None = None
        for address in addresses:
            try:
                sock = urllib3_connection.create_connection(
                    (address, port), min(timeout, max(state.remaining(), 0.1)),
                    source_address=self.source_address, socket_options=self.socket_options)
            except OSError as exc:
                last = exc
                continue
            with state.lock:
                state.sockets.append(sock)
                if state.expired:
                    sock.shutdown(socket.SHUT_RDWR)
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")


class _HTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class _HTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: the checked address is the one used
    adapter = _CheckedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# --- the download ---------------------------------------------------------------------------------

def fetch(url: str | None, kind: str, max_bytes: int | None = None) -> tuple[bytes, str]:
    """(bytes, canonical content type) of `url`, or MediaRefused / MediaUnavailable with a reason."""
    if not url:
        raise MediaRefused("Instagram sent no link for this file.")
    cfg = current_app.config
    limit = max_bytes or cfg["MEDIA_MAX_BYTES"]
    seconds = float(cfg.get("MEDIA_DOWNLOAD_SECONDS", 30))
    state = _Download(hosts=cfg["META_CDN_HOSTS"], deadline=time.monotonic() + seconds)
    token = _current.set(state)
    watchdog = threading.Timer(seconds, state.cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        with _session() as http:
            data, claimed = _follow(http, url, state, limit)
    finally:
        watchdog.cancel()
        _current.reset(token)
    content_type = sniff.accepted_type(kind, data)
    if content_type is None:
        found = sniff.sniff(data)
        said = f" (the server said {claimed})" if claimed else ""
        raise MediaRefused(f"Refused: the file is {_described(found)}{said}, not {_a(kind)} Keloa can show.")
    return data, content_type


def _follow(http: requests.Session, url: str, state: _Download, limit: int) -> tuple[bytes, str]:
    for _ in range(MAX_REDIRECTS + 1):
        problem = refusal(url, state.hosts)
        if problem is not None:
            raise MediaRefused(f"Refused to download from {problem}: not one of Meta's media hosts "
                               "(META_CDN_HOSTS).")
        try:
            resp = http.get(url, stream=True, allow_redirects=False,
                            timeout=(min(5.0, max(state.remaining(), 0.1)), 10))
        except requests.RequestException as exc:
            _raise_for(state, exc)
        with resp:
            if resp.is_redirect:
                url = urljoin(url, resp.headers.get("Location", ""))
                continue
            claimed = resp.headers.get("Content-Type", "")[:80]
            return _body(resp, state, limit), "".join(c for c in claimed if c.isprintable())
    raise MediaRefused("Too many redirects while downloading the file.")


def _raise_for(state: _Download, exc: Exception):
    if state.refused:
        raise MediaRefused(f"Refused to download: {state.refused}.") from None
    if state.expired:
        raise MediaUnavailable(f"The download took longer than {_seconds()} (MEDIA_DOWNLOAD_SECONDS).") from None
    raise MediaUnavailable(f"Could not download the file: {type(exc).__name__}.") from None


def _body(resp: requests.Response, state: _Download, limit: int) -> bytes:
    if resp.status_code >= 500:
        raise MediaUnavailable(f"Instagram's media server answered HTTP {resp.status_code}.")
    if resp.status_code != 200:
        raise MediaRefused(f"Instagram's media server answered HTTP {resp.status_code}; the link may have expired.")
    declared = resp.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise MediaRefused(f"Refused: the file is {_mb(int(declared))}, over the {_mb(limit)} limit (MEDIA_MAX_BYTES).")
    chunks, size = [], 0
    try:
        for chunk in resp.iter_content(65536):
            size += len(chunk)
            if size > limit:
                raise MediaRefused(f"Refused: the file is over the {_mb(limit)} limit (MEDIA_MAX_BYTES).")
            chunks.append(chunk)
            if state.remaining() <= 0:
                state.expired = True
                break
    except requests.RequestException as exc:
        _raise_for(state, exc)
    if state.expired:
        raise MediaUnavailable(f"The download took longer than {_seconds()} (MEDIA_DOWNLOAD_SECONDS).")
    return b"".join(chunks)


def _seconds() -> str:
    return f"{float(current_app.config.get('MEDIA_DOWNLOAD_SECONDS', 30)):g} s"


def _described(found: str | None) -> str:
    if found is None:
        return "of a kind Keloa does not recognise"
    return {"application/pdf": "a PDF document", "application/zip": "a ZIP archive"}.get(found, found)


def _a(kind: str) -> str:
    return {AttachmentType.IMAGE: "an image", AttachmentType.AUDIO: "an audio message"}.get(kind, f"a {kind}")


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size} bytes"
