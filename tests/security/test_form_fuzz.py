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
        ("ids above 2^63", {"data": each(str(2**64))}),
        ("digits that are not ASCII", {"data": each("²³")}),
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


JUNK_QUERIES = {
    "junk": "?cursor=abc&before=not-a-cursor_x&status=%3Cscript%3E&q=" + "x" * 5000 +
            "&channel=-1&unread=maybe&mine=2&c=abc&page=NaN&next=//evil.example&code=%00&state=%FF",
    "ids above 2^63": f"?cursor={2**64}&before={2**64}&c={2**64}&channel={2**63}&before=2026-01-01T00:00:00_{2**64}",
    "digits that are not ASCII": "?channel=%C2%B2&c=%D9%A3&before=%C2%B9&cursor=%C2%B2",
    "nul bytes and search syntax": "?q=a%00b&q=%22x%22%20OR%20y*%20NEAR(z&status=open%00",
    "FTS5 syntax": "?q=%22unterminated%20AND%20(OR%20NOT%20*%20%5E%20NEAR%2F3",
    "CR/LF in next": "?next=%2F%0D%0ALocation:%20http://evil.example&next=%2F%5Cevil.example",
}


def test_every_get_route_answers_junk_query_strings_without_a_server_error(app, admin):
    _seed()
    client = helpers.Client(app)
    client.login("owner@example.com")
    problems = []
    for route in all_routes(app):
        if route.method != "GET" or route.endpoint == "static":
            continue
        for label, query in JUNK_QUERIES.items():
            for htmx in (False, True):
                try:
                    resp = client.get(route.url() + query, htmx=htmx)
                except Exception:
                    problems.append(f"{route_id(route)} [{label}] htmx={htmx} raised:\n{traceback.format_exc(limit=-3)}")
                    continue
                if resp.status_code >= 500:
                    problems.append(f"{route_id(route)} [{label}] htmx={htmx}: {resp.status_code}")
                location = resp.headers.get("Location", "")
                if "evil.example" in location or "\r" in location or "\n" in location:
                    problems.append(f"{route_id(route)} [{label}]: redirects off-site to {location!r}")
    assert not problems, "\n".join(problems)


def test_ids_above_2_63_in_any_route_are_a_clear_404(app, admin):
    _seed()
    client = helpers.Client(app)
    client.login("owner@example.com")
    problems, tried = [], 0
    for route in all_routes(app):
        if "<int:" not in route.rule:
            continue
        for value in (2**63, 2**64, 10**30):
            url = route.url(ids=value)
            kw = {"headers": {"X-CSRFToken": client.csrf()}} if route.method == "POST" else {}
            try:
                resp = client.http.open(url, method=route.method, **kw)
            except Exception:
                problems.append(f"{route_id(route)} {value} raised:\n{traceback.format_exc(limit=-3)}")
                continue
            tried += 1
            if resp.status_code != 404 or "does not exist" not in resp.get_data(as_text=True):
                problems.append(f"{route_id(route)} {value}: {resp.status_code}")
    assert tried > 20
    assert not problems, "\n".join(problems)
