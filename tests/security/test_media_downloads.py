"""Customer media downloads: URLs read the way the HTTP client reads them, only public addresses
(unless listed exactly), one deadline for the whole download, and types decided from the bytes."""
from __future__ import annotations

import socket
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from keloa_web.media import download, sniff
from tests import helpers

MEDIA = Path(__file__).resolve().parents[2] / "meta_sandbox" / "static" / "media"
MP4 = (MEDIA / "video.mp4").read_bytes()
M4A = (MEDIA / "audio.m4a").read_bytes()
PNG = (MEDIA / "image.png").read_bytes()
HTML = b"<!doctype html><script>fetch('/team')</script>"


class _CDN(helpers.QuietHandler):
    hits: list[str] = []
    routes = {
        "/video.mp4": ("video/mp4, text/html", MP4),
        "/page.mp4": ("video/mp4, text/html", HTML),
        "/script.m4a": ("audio/mp4, text/javascript", b"alert(document.cookie)//" + b" " * 64),
        "/voice.m4a": ("video/mp4", M4A),
        "/photo.png": ("image/png", PNG),
        "/svg.png": ("image/png", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
    }

    def do_GET(self):  # noqa: N802
        type(self).hits.append(self.path)
        if self.path == "/trickle.png":  # 8 bytes over many seconds: every read succeeds, the whole never ends
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "8")
            self.end_headers()
            for byte in PNG[:8]:
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(4)
            return
        if self.path.startswith("/to-local"):
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.2:{self.server.server_port}/photo.png")
            self.end_headers()
            return
        content_type, data = self.routes.get(self.path, ("text/plain", b"?"))
        self.reply(200 if self.path in self.routes else 404, content_type, data)


@pytest.fixture()
def cdn():
    _CDN.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CDN)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()


@pytest.fixture()
def listed(app, cdn):
    app.config["META_CDN_HOSTS"] = [f"127.0.0.1:{cdn}", "fbcdn.net", "cdninstagram.com"]
    return cdn


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9300\\@fbcdn.net/x",          # urllib3 connects to 127.0.0.1, urlsplit says fbcdn.net
    "https://127.0.0.1:9300\\@scontent.fbcdn.net/x",
    "https://user:pw@scontent.fbcdn.net/x.jpg",    # userinfo
    "https://fbcdn.net@127.0.0.1/x.jpg",
    "https://scontent.fbcdn.net /x.jpg",            # whitespace
    "https://scontent.fbcdn.net\t.evil.com/x.jpg",
    "https://127.1/x.jpg", "https://2130706433/x.jpg", "https://0x7f000001/x.jpg",  # numeric hosts
    "https://[::1]/x.jpg", "https://[::ffff:127.0.0.1]/x.jpg", "https://169.254.169.254/latest/meta-data",
    "https://fbcdn.net.evil.com/x.jpg", "https://evilfbcdn.net/x.jpg",
    "https://scontent.fbcdn.net:8443/x.jpg",        # a port the entry does not name
    "file:///etc/passwd", "gopher://fbcdn.net/x", "//fbcdn.net/x",
])
def test_urls_that_only_look_like_metas_are_refused(app, listed, url):
    assert not download.host_allowed(url, app.config["META_CDN_HOSTS"])
    with pytest.raises(download.MediaRefused):
        download.fetch(url, "image")


def test_metas_hosts_and_the_listed_sandbox_pass_the_url_check(app, listed):
    hosts = app.config["META_CDN_HOSTS"]
    for url in ("https://scontent.cdninstagram.com/v/t51/abc.jpg?stp=dst-jpg&oh=00_x",
                "https://lookaside.fbcdn.net/ig_messaging_cdn/?asset_id=1&signature=x",
                f"http://127.0.0.1:{listed}/photo.png"):
        assert download.host_allowed(url, hosts), url


def test_a_listed_name_that_resolves_to_a_local_address_is_not_fetched(app, listed, monkeypatch):
    """scontent.fbcdn.net is allowed by name; if DNS answers 127.0.0.1 (rebinding, a poisoned
    resolver), Keloa refuses before connecting, although a server is listening there."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "scontent.fbcdn.net":
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    app.config["META_CDN_HOSTS"].append(f"fbcdn.net:{listed}")  # subdomains on that port, by name only
    app.config["META_CDN_HOSTS"].remove(f"127.0.0.1:{listed}")
    with pytest.raises(download.MediaRefused, match="private or local address"):
        download.fetch(f"http://scontent.fbcdn.net:{listed}/photo.png", "image")
    assert _CDN.hits == []


def test_a_redirect_to_an_unlisted_local_address_is_refused(app, listed):
    with pytest.raises(download.MediaRefused, match="127.0.0.2"):
        download.fetch(f"http://127.0.0.1:{listed}/to-local", "image")
    assert _CDN.hits == ["/to-local"]


def test_the_type_comes_from_the_bytes_never_from_the_header(app, listed):
    data, content_type = download.fetch(f"http://127.0.0.1:{listed}/video.mp4", "video")
    assert (data, content_type) == (MP4, "video/mp4")
    data, content_type = download.fetch(f"http://127.0.0.1:{listed}/voice.m4a", "audio")
    assert content_type == "audio/mp4"
    with pytest.raises(download.MediaRefused, match=r"server said video/mp4, text/html\), not a video"):
        download.fetch(f"http://127.0.0.1:{listed}/page.mp4", "video")
    with pytest.raises(download.MediaRefused, match="not an audio message"):
        download.fetch(f"http://127.0.0.1:{listed}/script.m4a", "audio")
    with pytest.raises(download.MediaRefused, match="not an image"):
        download.fetch(f"http://127.0.0.1:{listed}/svg.png", "image")
    # A file of any other kind is kept as an opaque download.
    assert download.fetch(f"http://127.0.0.1:{listed}/page.mp4", "file")[1] == "application/octet-stream"


def test_a_trickling_server_is_cut_off_at_the_deadline(app, listed):
    app.config["MEDIA_DOWNLOAD_SECONDS"] = 2
    with pytest.raises(download.MediaUnavailable, match=r"took longer than 2 s \(MEDIA_DOWNLOAD_SECONDS\)"):
        download.fetch(f"http://127.0.0.1:{listed}/trickle.png", "image")


@pytest.mark.parametrize("stored,data,served,inline", [
    ("image/png", PNG, "image/png", True),
    ("video/mp4, text/html", HTML, "application/octet-stream", False),   # a row stored before the fix
    ("video/mp4, text/html", MP4, "video/mp4", True),
    ("text/html", HTML, "application/octet-stream", False),
    ("image/svg+xml", b"<svg onload=alert(1)>", "application/octet-stream", False),
    ("application/pdf", b"%PDF-1.4\n<div hx-post='/team' hx-trigger='load'>", "application/pdf", False),
    ("image/png", HTML, "application/octet-stream", False),                # the bytes disagree
    ("audio/mp4", M4A, "audio/mp4", True),
    ("application/xml", b"<?xml version='1.0'?><x/>", "application/octet-stream", False),
])
def test_serving_never_gives_a_browser_a_page_or_a_script(stored, data, served, inline):
    assert sniff.serving(stored, data[:64]) == (served, inline)
