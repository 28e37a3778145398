"""Connecting Instagram through the Meta sandbox: sign-in, Page picker, checks, connect, reconnect, disconnect."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from keloa_web import crypto
from keloa_web.db import db
from keloa_web.models import Channel
from tests import factories


def _channels() -> dict[str, Channel]:
    return {c.ig_username: c for c in db.session.scalars(select(Channel))}


def _page_id(sandbox, key: str) -> str:
    return next(p["id"] for p in sandbox.state()["pages"] if p["key"] == key)


def _sign_in(client, sandbox, **kw):
    resp = client.get(factories.meta_dialog(client, sandbox, **kw))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return resp


def _pick(client, sandbox, key: str, **data):
    return client.post(f"/integrations/meta/pages/{_page_id(sandbox, key)}/connect", data=data)


def test_picker_lists_every_page_with_its_instagram_account(sandbox, app, admin_client):
    assert _sign_in(admin_client, sandbox).headers["Location"].endswith("/integrations/meta/pages")
    body = admin_client.get("/integrations/meta/pages").get_data(as_text=True)
    assert "Signed in with Meta as <strong>Ana Admin</strong>" in body
    for name in ("Keloa Coffee", "Keloa Books", "Corner Bakery", "Ana Personal", "Quiet Studio"):
        assert name in body
    assert "@keloa.coffee" in body and "@keloa.books" in body and "@quiet.studio" in body
    assert "No Instagram account linked" in body and "Not professional" in body


def test_ana_connects_two_accounts_and_each_gets_a_card(sandbox, app, admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    _sign_in(admin_client, sandbox)
    resp = _pick(admin_client, sandbox, "coffee")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/integrations/")
    resp = _pick(admin_client, sandbox, "books")
    assert resp.status_code == 302
    chans = _channels()
    assert set(chans) == {"keloa.coffee", "keloa.books"}
    coffee = chans["keloa.coffee"]
    assert coffee.status == "active" and coffee.page_name == "Keloa Coffee" and coffee.meta_user_id == "100089000000001"
    token = crypto.decrypt(coffee.page_token_enc)
    assert token and token not in coffee.page_token_enc

    pages = {p["key"]: p for p in sandbox.state()["pages"]}
    assert pages["coffee"]["subscribed_fields"] == ["messages", "message_reactions", "messaging_postbacks",
                                                    "messaging_referrals", "message_reads"]
    assert pages["books"]["subscribed_fields"]

    index = admin_client.get("/integrations/").get_data(as_text=True)
    assert "is connected" in index and "@keloa.coffee" in index and "@keloa.books" in index
    picker = admin_client.get("/integrations/meta/pages").get_data(as_text=True)
    assert picker.count(">Connected<") == 2
    # Tokens never leave the server: not in pages, not in logs.
    user_token = crypto.decrypt(coffee.meta_user_token_enc)
    for secret in (token, user_token, crypto.decrypt(chans["keloa.books"].page_token_enc)):
        assert secret not in index and secret not in picker and secret not in caplog.text


def test_connecting_again_updates_the_same_channel(sandbox, app, admin_client):
    _sign_in(admin_client, sandbox)
    _pick(admin_client, sandbox, "coffee")
    first = _channels()["keloa.coffee"]
    _sign_in(admin_client, sandbox)
    resp = _pick(admin_client, sandbox, "coffee")
    assert resp.status_code == 302
    assert list(_channels()) == ["keloa.coffee"] and _channels()["keloa.coffee"].id == first.id
    assert "is reconnected" in admin_client.get("/integrations/").get_data(as_text=True)


def test_declined_permission_is_explained_with_ask_again(sandbox, app, admin_client):
    _sign_in(admin_client, sandbox, decline=("instagram_manage_messages",))
    picker = admin_client.get("/integrations/meta/pages").get_data(as_text=True)
    assert "Permissions declined" in picker and "instagram_manage_messages" in picker and "Ask again" in picker
    resp = _pick(admin_client, sandbox, "coffee")
    assert resp.status_code == 409 and "instagram_manage_messages" in resp.get_data(as_text=True)
    assert _channels() == {}
    # "Ask again" opens the dialog with auth_type=rerequest; granting everything then works.
    resp = admin_client.post("/integrations/meta/login", data={"rerequest": "1"})
    assert "auth_type=rerequest" in resp.headers["Location"]
    _sign_in(admin_client, sandbox, rerequest=True)
    assert _pick(admin_client, sandbox, "coffee").status_code == 302
    assert _channels()["keloa.coffee"].status == "active"


def test_sam_without_messaging_tasks_is_told_to_ask_an_admin(sandbox, app, admin_client):
    _sign_in(admin_client, sandbox, user="sam")
    resp = _pick(admin_client, sandbox, "coffee")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "Missing permissions" in body
    assert "Ask for admin access to the Page" in body and "have an admin connect it" in body
    assert _channels() == {}


def test_pat_with_profile_plus_tasks_can_connect(sandbox, app, admin_client):
    _sign_in(admin_client, sandbox, user="pat")
    assert _pick(admin_client, sandbox, "books").status_code == 302
    assert _channels()["keloa.books"].status == "active"


def test_page_not_shared_or_no_longer_managed_is_missing_permissions(sandbox, app, admin_client):
    _sign_in(admin_client, sandbox, pages=["books"])
    picker = admin_client.get("/integrations/meta/pages").get_data(as_text=True)
    assert "Keloa Books" in picker and "Keloa Coffee" not in picker
    resp = _pick(admin_client, sandbox, "coffee")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "Missing permissions" in body and "not among the Pages" in body
    # Lost the role between listing and picking.
    sandbox.control("POST", "users/ana/tasks", json={"page": "books", "tasks": []})
    resp = _pick(admin_client, sandbox, "books")
    assert resp.status_code == 409 and "Missing permissions" in resp.get_data(as_text=True)
    assert _channels() == {}


def test_page_without_instagram_and_personal_account_are_refused(sandbox, app, admin_client):
    _sign_in(admin_client, sandbox)
    resp = _pick(admin_client, sandbox, "bakery")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "No Instagram account linked" in body and "Add Facebook" in body
    resp = _pick(admin_client, sandbox, "personal")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "Personal Instagram account" in body and "professional" in body
    assert _channels() == {}
    assert not any(p["subscribed_fields"] for p in sandbox.state()["pages"])


def test_cancelled_dialog_bad_state_and_replayed_code(sandbox, app, admin_client):
    resp = admin_client.get(factories.meta_dialog(admin_client, sandbox, cancel=True))
    assert resp.status_code == 302
    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "You cancelled the Meta sign-in" in page

    callback = factories.meta_dialog(admin_client, sandbox)
    assert admin_client.get(callback).status_code == 302
    admin_client.get("/integrations/")  # consume the flash
    admin_client.get(callback)  # the same code and state again (back button, reload)
    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "already used or has expired" in page

    callback = factories.meta_dialog(admin_client, sandbox)
    admin_client.get(callback.replace("state=", "state=forged"))
    assert "already used or has expired" in admin_client.get("/integrations/").get_data(as_text=True)


def test_used_code_refused_by_meta_is_explained(sandbox, app, admin_client):
    callback = factories.meta_dialog(admin_client, sandbox)
    # Somebody else redeems the code first (Meta accepts a code once).
    code = callback.split("code=", 1)[1].split("&", 1)[0]
    import requests
    from urllib.parse import unquote

    requests.get(f"{sandbox.base}/v25.0/oauth/access_token", timeout=10, params={
        "client_id": app.config["META_APP_ID"], "client_secret": app.config["META_APP_SECRET"],
        "redirect_uri": f"{app.config['PUBLIC_BASE_URL']}/integrations/meta/callback", "code": unquote(code)})
    admin_client.get(callback)
    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "Meta refused the sign-in code" in page and "has been used" in page


def test_picker_without_sign_in_sends_back(sandbox, app, admin_client):
    resp = admin_client.get("/integrations/meta/pages")
    assert resp.status_code == 302
    assert "Meta sign-in has expired" in admin_client.get("/integrations/").get_data(as_text=True)


def test_picker_follows_paging_to_list_every_page(sandbox, app, admin_client):
    for n in range(105):
        sandbox.control("POST", "pages", json={"key": f"shop{n}", "name": f"Shop {n:03d}",
                                               "admins": {"ana": ["MANAGE", "MESSAGING", "MODERATE"]}})
    _sign_in(admin_client, sandbox)
    body = admin_client.get("/integrations/meta/pages").get_data(as_text=True)
    missing = [n for n in ("Shop 000", "Shop 104", "Keloa Coffee") if n not in body]
    assert not missing, missing
    assert body.count('class="card page-row"') == 110


def test_the_picker_says_which_page_tasks_are_missing_before_connecting(sandbox, app, admin_client):
    """Meta asks for both MESSAGING and MODERATE (MANAGE covers both): a role with only one of them
    is shown, before Connect, with what it lacks, and Connect is off for that Page."""
    sandbox.control("POST", "users/ana/tasks", json={"page": "coffee", "tasks": ["MESSAGING", "ADVERTISE"]})
    sandbox.control("POST", "users/ana/tasks", json={"page": "books", "tasks": ["MODERATE"]})
    _sign_in(admin_client, sandbox)
    html = admin_client.get("/integrations/meta/pages").get_data(as_text=True)
    coffee = html[html.index('id="page-104000000000101"'):]
    coffee = coffee[:coffee.index("</li>")]
    assert "lacks Community activity (MODERATE)" in coffee and "disabled" in coffee
    books = html[html.index('id="page-104000000000102"'):]
    books = books[:books.index("</li>")]
    assert "lacks Messages (MESSAGING)" in books and "Connect Keloa Books" in books
    resp = _pick(admin_client, sandbox, "coffee")  # a POST anyway is refused before any call to Meta
    assert resp.status_code == 409 and "Community activity" in resp.get_data(as_text=True)
    assert _channels() == {}


@pytest.mark.solo  # it backfills through the Conversations API limit, as tests/test_backfill.py does
def test_tokens_and_the_app_secret_never_travel_in_a_url(sandbox, app, admin_client, settings):
    """Every Graph call Keloa makes while connecting, checking and backfilling: the token in the
    Authorization header, the app secret in a POST body; no URL that someone logs holds either."""
    from tests import helpers

    factories.connect_account(admin_client, sandbox, backfill=True)
    helpers.run_worker_burst(settings)
    channel = db.session.scalar(select(Channel))
    admin_client.post(f"/integrations/channels/{channel.id}/diagnostics", htmx=True)
    calls = [c for c in sandbox.control("GET", "calls")["data"] if not c["path"].endswith("/dialog/oauth")]
    assert len(calls) > 10
    for call in calls:
        assert not {"access_token", "client_secret", "fb_exchange_token", "code"} & set(call["query_keys"]), call
