"""CSRF on every form and htmx request, security headers, and friendly error pages."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from keloa_web.htmx import is_htmx

csrf = CSRFProtect()

# Set on every HTML page and fragment Keloa's own views render. keloa.js lets htmx swap a response
# only if it carries this header, so a customer's file fetched by htmx (a boosted link, say) is
# never put into the page, whatever its bytes. Media responses never carry it.
VIEW_HEADER = "X-Keloa-View"
UNSWAPPABLE_BLUEPRINTS = {"media"}


def _media_origins(app) -> str:
    """Origins the browser may load story previews from: Meta's CDN hosts (META_CDN_HOSTS) and
    their subdomains, nothing else, so a URL in a webhook cannot make a teammate's browser call
    another server (a tracking pixel); the sandbox's loopback host over http in development."""
    origins = set()
    for entry in app.config["META_CDN_HOSTS"]:
        host = entry.strip().lower()
        if not host:
            continue
        if host.startswith(("127.", "localhost", "[")):
            origins.add(f"http://{host}")
        else:
            origins.update({f"https://{host}", f"https://*.{host}"})
    base = urlsplit(app.config["GRAPH_API_BASE"])
    if base.scheme == "http":
        origins.add(f"http://{base.netloc}")
    return " ".join(sorted(origins))


def same_origin_request() -> bool:
    """True unless the browser says another site started this request.

    For GETs that change state as a side effect (opening a conversation marks it read and tells
    Instagram it was seen): a link or redirect from another site must not do that. Every current
    browser sends Sec-Fetch-Site; "none" is the teammate's own address bar or bookmark. Without it
    (an older browser, a script), a Referer from another origin is refused too."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    referer = request.headers.get("Origin") or request.headers.get("Referer")
    return not referer or _origin(referer) == _origin(request.host_url)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def init_app(app) -> None:
    csrf.init_app(app)
    media = _media_origins(app)
    # The connect buttons post to Keloa, which redirects to the login window: CSP's form-action
    # covers that redirect, so the window's origin is listed for each login that is configured.
    windows = [app.config["META_AUTHORIZE_URL"]]
    if app.config.get("INSTAGRAM_APP_ID") and app.config.get("INSTAGRAM_APP_SECRET"):
        windows.append(app.config["INSTAGRAM_AUTHORIZE_URL"])
    form_action = " ".join(dict.fromkeys(["'self'", *(_origin(url) for url in windows)]))
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: blob: {media}; media-src 'self' {media}; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
        f"form-action {form_action}"
    )

    always = [
        ("Content-Security-Policy", csp),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
    ]
    if app.config["SESSION_COOKIE_SECURE"]:
        always.append(("Strict-Transport-Security", "max-age=31536000"))

    @app.after_request
    def _headers(resp):
        # A view may set its own (media sets a stricter CSP); every other response gets these.
        headers = resp.headers
        headers.extend([(name, value) for name, value in always if name not in headers])
        if resp.mimetype == "text/html" and request.blueprint not in UNSWAPPABLE_BLUEPRINTS:
            headers[VIEW_HEADER] = "1"
            # Pages hold customers' conversations: no browser or proxy cache keeps a copy.
            headers.setdefault("Cache-Control", "no-store")
        else:
            headers.pop(VIEW_HEADER, None)
        return resp

    def _error(status: int, title: str, detail: str):
        template = "errors/_panel.html" if is_htmx() else "errors/error.html"
        resp = app.make_response((render_template(template, status=status, title=title, detail=detail), status))
        if is_htmx():
            # Show the message where the user acted instead of swallowing a 4xx.
            resp.headers["HX-Retarget"] = "#flash"
            resp.headers["HX-Reswap"] = "innerHTML"
        return resp

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return _error(400, "Your form expired", "Reload the page and try again. Nothing was changed.")

    @app.errorhandler(403)
    def _forbidden(exc):
        return _error(403, "Not allowed", getattr(exc, "description", "") or "You do not have access to this page.")

    @app.errorhandler(404)
    def _not_found(exc):
        return _error(404, "Not found", "This page does not exist or was removed.")

    @app.errorhandler(413)
    def _too_large(exc):
        return _error(413, "Too large", "The upload is larger than this server accepts.")

    @app.errorhandler(500)
    def _server_error(exc):
        return _error(500, "Something went wrong", "The error was logged. Try again in a moment.")
