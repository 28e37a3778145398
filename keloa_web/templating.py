"""Jinja filters and globals every template may use, registered once by the app factory."""
from __future__ import annotations

import re
from datetime import datetime

from flask import Flask, current_app
from markupsafe import Markup, escape

from keloa_web import describe
from keloa_web.db import utcnow

_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("HeadlessChrome", "Headless Chrome"),
             ("Chromium/", "Chromium"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def safe_href(url: str | None) -> str:
    """Only http(s) links from Instagram become clickable (never javascript: or data:)."""
    return url if url and url.startswith(("https://", "http://")) else ""


def filesize(size: int | None) -> str:
    if not size:
        return ""
    if size < 1000:
        return f"{size} bytes"
    return f"{size / 1000:.0f} KB" if size < 1_000_000 else f"{size / 1_000_000:.1f} MB"


def cdn_src(url: str | None) -> str:
    """A story preview's URL if it is on one of Meta's media hosts, else "" (shown as gone): the
    teammate's browser loads it directly, so it must not be a pixel on someone else's server."""
    from keloa_web.media.download import host_allowed

    return url if url and host_allowed(url, current_app.config["META_CDN_HOSTS"]) else ""


def day_label(at: datetime) -> str:
    today = utcnow().date()
    days = (today - at.date()).days
    if days == 0:
        return "Today"
    if days == 1:
        return "Yesterday"
    return at.strftime("%A %d %B %Y" if days > 300 else "%A %d %B")


def short_time(at: datetime, now: datetime | None = None) -> str:
    now = now or utcnow()
    if at.date() == now.date():
        return at.strftime("%H:%M")
    if (now - at).days < 7:
        return at.strftime("%a")
    return at.strftime("%d %b")


def time_ago(when: datetime) -> str:
    seconds = max(0, int((utcnow() - when).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'} ago"
    return "just now"


def mentions(text: str | None, names: list[str]) -> Markup:
    """A note's text with each @mention of a teammate (full or first name) marked; all of it escaped."""
    text = text or ""
    candidates = sorted({n for full in names for n in (full, (full.split() or [""])[0]) if n}, key=len, reverse=True)
    if "@" not in text or not candidates:
        return escape(text)
    pattern = re.compile(r"@(?:" + "|".join(re.escape(c) for c in candidates) + r")(?!\w)", re.IGNORECASE)
    parts, last = [], 0
    for found in pattern.finditer(text):
        parts += [escape(text[last:found.start()]), Markup('<mark class="mention">'), escape(found.group(0)),
                  Markup("</mark>")]
        last = found.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def duration(span) -> str:
    """"42 min", "3 h 5 min", "2 days": how long something has waited."""
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h" + (f" {rest} min" if rest else "")
    return f"{minutes // 1440} days"


def device(user_agent: str | None) -> str:
    """"Firefox on Linux" from a User-Agent header, for the list of one's sessions."""
    ua = user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in ua), None)
    system = next((name for mark, name in _SYSTEMS if mark in ua), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (ua[:40] or "Unknown browser")


FILTERS = {f.__name__: f for f in (safe_href, filesize, cdn_src, day_label, short_time, time_ago, device, mentions,
                                        duration)}
# One vocabulary for messages (keloa_web/describe.py): the thread says what the list and the AI say.
FILTERS.update(message_label=describe.label, message_words=describe.describe, kind_label=describe.kind_label)


def init_app(app: Flask) -> None:
    from keloa_web.inbox.assignment import waiting_for

    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.globals["waiting_for"] = waiting_for
    app.context_processor(_notifications)


def _notifications() -> dict:
    """For the page's bell and live stream (base.html): called only where the page asks."""
    from flask_login import current_user

    from keloa_web.live.views import latest_notification_id, unseen_count
    from keloa_web.notifications import prefs

    if not current_user.is_authenticated:
        return {}
    return {"notify_count": lambda: unseen_count(current_user.id), "notify_events": prefs.EVENTS,
            "notify_sounds": prefs.SOUNDS, "notify_settings": lambda: prefs.of(current_user),
            "notify_latest": lambda: latest_notification_id(current_user.id),
            "notify_prefs": lambda: prefs.of(current_user).as_json()}
