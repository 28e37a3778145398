"""Every route of the app, tried anonymously and as an agent: the expected ones refuse."""
from __future__ import annotations

from tests import helpers
from tests.security.routes import (
    ADMIN_BLUEPRINTS, AGENT_MAY_VIEW, PUBLIC_BLUEPRINTS, PUBLIC_ENDPOINTS, all_routes, route_id,
)


def _send(client: helpers.Client, method: str, url: str, htmx: bool = False):
    if method == "GET":
        return client.get(url, htmx=htmx)
    return client.http.open(url, method=method, headers={
        "X-CSRFToken": client.csrf(), **({"HX-Request": "true"} if htmx else {})})


def _sent_to_login(resp, htmx: bool) -> bool:
    if resp.status_code in (401, 403):
        return True
    if htmx:
        return resp.headers.get("HX-Redirect", "").startswith("/login")
    return resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_only_the_allowlisted_views_are_public(app):
    """A view marked @public that is not on the list (or the reverse) is a decision to review."""
    problems = []
    for route in all_routes(app):
        marked = getattr(app.view_functions[route.endpoint], "_keloa_public", False)
        if marked and not route.public:
            problems.append(f"{route_id(route)} ({route.endpoint}) is @public but not allowlisted")
        if route.public and not marked and route.endpoint != "static":
            problems.append(f"{route_id(route)} ({route.endpoint}) is allowlisted but needs a login")
    assert not problems, "\n".join(problems)


def test_every_private_route_refuses_anonymous_visitors(app, admin):
    client = helpers.Client(app)
    refused, leaks = 0, []
    for route in all_routes(app):
        if route.public:
            continue
        for htmx in (False, True):
            resp = _send(client, route.method, route.url(), htmx)
            if _sent_to_login(resp, htmx):
                refused += 1
            else:
                leaks.append(f"{route_id(route)} htmx={htmx}: {resp.status_code} {resp.headers.get('Location', '')}")
    assert not leaks, "reachable without signing in:\n" + "\n".join(leaks)
    assert refused >= 20


def test_public_endpoints_answer_anonymous_visitors_without_a_server_error(app, admin):
    client = helpers.Client(app)
    for route in all_routes(app):
        if route.public and route.method == "GET":
            resp = _send(client, "GET", route.url())
            assert resp.status_code < 500, route_id(route)


def test_agents_are_refused_in_admin_areas(app, agent_client):
    allowed, problems = [], []
    for route in all_routes(app):
        if route.blueprint not in ADMIN_BLUEPRINTS:
            continue
        if route.method == "GET" and route.endpoint in AGENT_MAY_VIEW:
            continue
        for htmx in (False, True):
            resp = _send(agent_client, route.method, route.url(), htmx)
            if resp.status_code != 403:
                problems.append(f"{route_id(route)} htmx={htmx}: {resp.status_code}")
            else:
                allowed.append(route)
                body = resp.get_data(as_text=True)
                if "admin" not in body.lower():
                    problems.append(f"{route_id(route)}: the 403 does not say that admins can do this")
    assert not problems, "agents got through (or were refused without a reason):\n" + "\n".join(problems)
    assert allowed, "no admin routes found"


def test_agents_keep_their_own_areas(app, agent_client):
    """The inbox and own settings stay open to agents (the refusals above are not blanket ones)."""
    for route in all_routes(app):
        if route.method == "GET" and route.blueprint in {"inbox", "accounts"} and "<" not in route.rule:
            if route.endpoint in PUBLIC_ENDPOINTS or route.blueprint in PUBLIC_BLUEPRINTS:
                continue
            resp = agent_client.get(route.url())
            assert resp.status_code in (200, 204, 302), route_id(route)  # 204: the live poll, nothing new
            if resp.status_code == 302:
                assert not resp.headers["Location"].startswith("/login"), route_id(route)


def test_sign_in_never_redirects_off_site(app, admin):
    for target in ("//evil.example", "https://evil.example", "/\\evil.example", "/\tevil.example",
                   "///evil.example", "javascript:alert(1)"):
        client = helpers.Client(app)
        resp = client.post(f"/login?next={target}", data={"email": "owner@example.com",
                                                          "password": "correct horse battery"})
        location = resp.headers["Location"]
        assert resp.status_code == 302 and location.startswith("/"), target
        assert not location.startswith(("//", "/\\")) and "javascript:" not in location, (target, location)
