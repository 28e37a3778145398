"""Security headers on every page, pages that work under that CSP, and production cookies."""
from __future__ import annotations

import re
import secrets

from tests import factories, helpers
from tests.security.routes import all_routes, route_id

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
SCRIPT_SRC = re.compile(r"<script[^>]*\bsrc=\"([^\"]+)\"", re.I)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\s(on[a-z]+)\s*=", re.I)
INLINE_STYLE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I)


def _csp(resp) -> dict[str, str]:
    policy = resp.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def _pages(app, client) -> list[tuple[str, object]]:
    """Every GET page an admin can open, with ids of real rows where the URL takes one."""
    from keloa_web.db import db

    with db.session_scope() as s:
        factories.gen_message(s, factories.gen_conversation(s), text="hello")
        factories.gen_agent(s)
    out = []
    for route in all_routes(app):
        if route.method != "GET" or route.endpoint in ("static", "accounts.logout"):
            continue
        resp = client.get(route.url())
        if resp.status_code == 200 and resp.mimetype == "text/html":
            out.append((route_id(route), resp))
    return out


def test_every_page_sends_the_security_headers_and_needs_no_inline_code(app, admin_client):
    pages = _pages(app, admin_client)
    assert len(pages) >= 4
    problems = []
    for name, resp in pages:
        csp = _csp(resp)
        if csp.get("script-src") != "script-src 'self'":
            problems.append(f"{name}: script-src is {csp.get('script-src')!r}")
        if "'unsafe-inline'" in resp.headers["Content-Security-Policy"]:
            problems.append(f"{name}: CSP allows unsafe-inline")
        if csp.get("frame-ancestors") != "frame-ancestors 'none'":
            problems.append(f"{name}: frame-ancestors missing")
        if resp.headers.get("X-Content-Type-Options") != "nosniff":
            problems.append(f"{name}: no nosniff")
        html = resp.get_data(as_text=True)
        # The CSP blocks these silently in the browser: the feature would just not work.
        for pattern, what in ((INLINE_SCRIPT, "inline <script>"), (INLINE_HANDLER, "inline event handler"),
                              (INLINE_STYLE, "inline style attribute")):
            found = pattern.search(html)
            if found:
                problems.append(f"{name}: {what}: {found.group(0)[:80]}")
        for src in SCRIPT_SRC.findall(html):
            if not src.startswith("/static/"):
                problems.append(f"{name}: script from {src} (only the app's own scripts may load)")
    assert not problems, "\n".join(problems)


def test_error_pages_carry_the_headers_too(client):
    resp = client.get("/no-such-page")
    assert resp.status_code in (302, 404)
    assert _csp(resp)["frame-ancestors"] == "frame-ancestors 'none'"
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_the_connect_buttons_may_lead_to_both_login_windows(settings, monkeypatch):
    """Each connect button posts to Keloa, which redirects to Facebook's or Instagram's window: the
    browser follows that redirect only if form-action lists the window's origin."""
    settings.update({"META_AUTHORIZE_URL": "https://www.facebook.com/v25.0/dialog/oauth",
                     "INSTAGRAM_AUTHORIZE_URL": "https://www.instagram.com/oauth/authorize"})
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    from keloa_web import create_app

    app = create_app({"TESTING": True})
    form_action = _csp(app.test_client().get("/login"))["form-action"].split()
    assert form_action == ["form-action", "'self'", "https://www.facebook.com", "https://www.instagram.com"]
    from keloa_web.db import db

    db.engine.dispose()

    monkeypatch.delenv("INSTAGRAM_APP_SECRET")  # Instagram Login not configured: its window is not listed
    app = create_app({"TESTING": True})
    assert "instagram" not in _csp(app.test_client().get("/login"))["form-action"]
    db.engine.dispose()


def test_production_session_cookie_is_secure_httponly_and_samesite(settings, monkeypatch):
    settings.update({"KELOA_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48),
                     "PUBLIC_BASE_URL": "https://keloa.example", "GRAPH_API_BASE": "https://graph.facebook.com",
                     "META_AUTHORIZE_URL": "https://www.facebook.com/v25.0/dialog/oauth",
                     "INSTAGRAM_AUTHORIZE_URL": "https://www.instagram.com/oauth/authorize",
                     "INSTAGRAM_OAUTH_TOKEN_URL": "https://api.instagram.com/oauth/access_token",
                     "INSTAGRAM_GRAPH_BASE": "https://graph.instagram.com"})
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("KELOA_TESTING", raising=False)
    from keloa_web import create_app

    app = create_app()
    with app.app_context():
        helpers.make_user(app, email="owner@example.com", role="admin")
        http = app.test_client()
        page = http.get("/login", base_url="https://keloa.example")
        token = helpers.CSRF_RE.search(page.get_data(as_text=True)).group(1)
        resp = http.post("/login", base_url="https://keloa.example", headers={
            "X-CSRFToken": token, "Referer": "https://keloa.example/login"},
            data={"email": "owner@example.com", "password": "correct horse battery"})
        assert resp.status_code == 302
        cookie = resp.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        from keloa_web.db import db

        db.engine.dispose()
