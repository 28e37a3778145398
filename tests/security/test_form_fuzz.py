"""Junk into every POST route (missing, oversize, wrong types, odd encodings): a clear 4xx or a
normal answer, never a server error."""
from __future__ import annotations

import re
import traceback

from werkzeug.datastructures import MultiDict

from tests import factories, helpers
from tests.security.routes import all_routes, route_id

ROOT = helpers.ROOT
FIELD = re.compile(r"""\bname=["']([A-Za-z_][\w\-\[\]]*)["']""")


def _field_names() -> list[str]:
    """Every form field name any template uses (grows as areas land)."""
    names = set()
    for path in (ROOT / "templates").rglob("*.html"):
        names.update(FIELD.findall(path.read_text()))
    names.discard("csrf_token")
    return sorted(names)


def _payloads(fields: list[str]) -> list[tuple[str, dict]]:
    def each(value):
        return {name: value for name in fields}

    return [
        ("nothing", {"data": {}}),
        ("empty strings", {"data": each("")}),
        ("oversize", {"data": each("x" * 30_000)}),
        ("not numbers", {"data": each("not-a-number")}),
        ("negative and huge numbers", {"data": {**each("-1"), **{f: "1e309" for f in fields[::2]}}}),
        ("nul bytes and markup", {"data": each("a\x00b<script>alert(1)</script>\u202e")}),
        ("repeated fields", {"data": MultiDict([(name, v) for name in fields for v in ("1", "2")])}),
        ("json body", {"json": {"name": ["x"], "id": {"$gt": 0}}}),
        ("binary body", {"data": b"\xff\xfe\x00garbage", "content_type": "application/octet-stream"}),
    ]


def _seed():
    from keloa_web.db import db

    with db.session_scope() as s:
        factories.gen_message(s, factories.gen_conversation(s), text="hello")
        factories.gen_entry(s, factories.gen_agent(s), "Hours", "We open at 8.")


def test_every_post_route_answers_junk_without_a_server_error(app, admin):
    _seed()
    fields = _field_names()
    payloads = _payloads(fields)
    problems, tried = [], 0
    client = helpers.Client(app)
    for route in all_routes(app):
        if route.method != "POST":
            continue
        if route.endpoint == "accounts.logout" or client.get("/settings").status_code != 200:
            client = helpers.Client(app)  # signed out (or the junk changed the password): sign in again
            client.login("owner@example.com")
        token = client.csrf()
        for label, kw in payloads:
            for htmx in (False, True) if label in ("nothing", "oversize") else (False,):
                headers = {"X-CSRFToken": token, **({"HX-Request": "true"} if htmx else {})}
                try:
                    resp = client.http.post(route.url(), headers=headers, **kw)
                except Exception:  # the test client re-raises what would have been a 500
                    problems.append(f"{route_id(route)} [{label}] raised:\n{traceback.format_exc(limit=-3)}")
                    continue
                finally:
                    from keloa_web.db import db

                    db.session.rollback()
                tried += 1
                body = resp.get_data(as_text=True)
                if resp.status_code >= 500:
                    problems.append(f"{route_id(route)} [{label}] htmx={htmx}: {resp.status_code}")
                elif resp.status_code in (400, 422) and not body.strip():
                    problems.append(f"{route_id(route)} [{label}] htmx={htmx}: {resp.status_code} without a message")
    assert tried > 50
    assert not problems, "\n".join(problems)


def test_missing_csrf_token_is_a_clear_400(app, admin_client):
    resp = admin_client.post("/settings", data={"current": "x"}, csrf=False)
    assert resp.status_code == 400
    assert "Your form expired" in resp.get_data(as_text=True)


JUNK_QUERY = ("?cursor=abc&before=not-a-cursor_x&status=%3Cscript%3E&q=" + "x" * 5000 +
              "&channel=-1&unread=maybe&mine=2&c=abc&page=NaN&next=//evil.example&code=%00&state=%FF")


def test_every_get_route_answers_junk_query_strings_without_a_server_error(app, admin):
    _seed()
    client = helpers.Client(app)
    client.login("owner@example.com")
    problems = []
    for route in all_routes(app):
        if route.method != "GET" or route.endpoint == "static":
            continue
        for htmx in (False, True):
            try:
                resp = client.get(route.url() + JUNK_QUERY, htmx=htmx)
            except Exception:
                problems.append(f"{route_id(route)} htmx={htmx} raised:\n{traceback.format_exc(limit=-3)}")
                continue
            if resp.status_code >= 500:
                problems.append(f"{route_id(route)} htmx={htmx}: {resp.status_code}")
            location = resp.headers.get("Location", "")
            if "evil.example" in location:
                problems.append(f"{route_id(route)}: redirects off-site to {location}")
    assert not problems, "\n".join(problems)
