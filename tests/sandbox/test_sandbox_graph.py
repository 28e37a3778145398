"""Graph nodes and edges, token errors and scenario data."""
import json

import pytest

from .conftest import (BAKERY_PAGE, BOOKS_PAGE, COFFEE_IG, COFFEE_PAGE, PERSONAL_IG, PERSONAL_PAGE, QUIET_PAGE)
from .test_sandbox_oauth import assert_meta_error

pytestmark = pytest.mark.timeout(30)
FIELDS = "id,name,access_token,tasks,category,instagram_business_account{id,username,name,profile_picture_url}"


def test_me_accounts_scenarios(sb):
    tok = sb.issue("ana")["access_token"]
    pages = {p["id"]: p for p in sb.graph("GET", "me/accounts", tok, fields=FIELDS + ",connected_instagram_account").json()["data"]}
    assert set(pages) == {COFFEE_PAGE, BOOKS_PAGE, BAKERY_PAGE, PERSONAL_PAGE, QUIET_PAGE}
    coffee = pages[COFFEE_PAGE]
    assert coffee["instagram_business_account"]["username"] == "keloa.coffee"
    assert coffee["instagram_business_account"]["profile_picture_url"].startswith(sb.url + "/ig_messaging_cdn/")
    assert "MESSAGING" in coffee["tasks"] and coffee["access_token"]
    assert "instagram_business_account" not in pages[BAKERY_PAGE]
    assert "connected_instagram_account" not in pages[BAKERY_PAGE]
    # consumer account: no instagram_business_account, only connected_instagram_account{id}
    assert "instagram_business_account" not in pages[PERSONAL_PAGE]
    assert pages[PERSONAL_PAGE]["connected_instagram_account"] == {"id": PERSONAL_IG}
    assert_meta_error(sb.graph("GET", PERSONAL_IG, tok, fields="username"), 100, 33)


def test_me_accounts_paging_and_default_fields(sb):
    tok = sb.issue("ana")["access_token"]
    first = sb.graph("GET", "me/accounts", tok, limit=2).json()
    assert len(first["data"]) == 2 and set(first["data"][0]) == {
        "access_token", "category", "category_list", "name", "id", "tasks"}
    seen = [p["id"] for p in first["data"]]
    nxt = first["paging"]["next"]
    import requests
    while nxt:
        page = requests.get(nxt, timeout=5).json()
        seen += [p["id"] for p in page["data"]]
        nxt = page.get("paging", {}).get("next")
    assert len(seen) == 5 and len(set(seen)) == 5


def test_limited_users(sb):
    sam = sb.issue("sam")["access_token"]
    pages = sb.graph("GET", "me/accounts", sam, fields="id,tasks").json()["data"]
    assert pages == [{"id": COFFEE_PAGE, "tasks": ["ANALYZE", "ADVERTISE", "PROFILE_PLUS_ANALYZE"]}]
    pat = sb.issue("pat")["access_token"]
    pages = sb.graph("GET", "me/accounts", pat, fields="id,tasks,access_token").json()["data"]
    assert pages[0]["id"] == BOOKS_PAGE and "PROFILE_PLUS_MESSAGING" in pages[0]["tasks"]
    nora = sb.issue("nora")["access_token"]
    assert sb.graph("GET", "me/accounts", nora).json() == {"data": []}
    # Sam cannot send (no messaging task); Pat can read Keloa Books' conversations
    sam_page = sb.issue("sam")["page_tokens"][COFFEE_PAGE]
    maya = [t for t in sb.state()["threads"] if t["customer"] == "maya"][0]
    r = sb.graph("POST", "me/messages", sam_page, json_body={"recipient": {"id": maya["igsid"]}, "message": {"text": "x"}})
    assert_meta_error(r, 10)


def test_declined_scope_effects(sb):
    tok = sb.issue("ana")["access_token"]
    sb.control("users/ana/permissions", {"declined": ["pages_show_list"]})
    assert sb.graph("GET", "me/accounts", tok).json() == {"data": []}
    perms = sb.graph("GET", "me/permissions", tok).json()["data"]
    assert {"permission": "pages_show_list", "status": "declined"} in perms


def test_page_and_ig_nodes(sb):
    toks = sb.issue("ana")
    tok = toks["access_token"]
    page = sb.graph("GET", COFFEE_PAGE, tok, fields="name,access_token,instagram_business_account{id,username}").json()
    assert page["name"] == "Keloa Coffee" and page["access_token"] and page["id"] == COFFEE_PAGE
    assert page["instagram_business_account"] == {"id": COFFEE_IG, "username": "keloa.coffee"}
    ig = sb.graph("GET", COFFEE_IG, tok, fields="username,name,profile_picture_url").json()
    assert ig["username"] == "keloa.coffee" and ig["id"] == COFFEE_IG
    # with the Page token too, and /me is the Page
    pt = toks["page_tokens"][COFFEE_PAGE]
    assert sb.graph("GET", "me", pt).json() == {"id": COFFEE_PAGE, "name": "Keloa Coffee"}
    assert_meta_error(sb.graph("GET", "me/accounts", pt), 100)


def test_unknown_object_and_missing_token(sb):
    tok = sb.issue("ana")["access_token"]
    err = assert_meta_error(sb.graph("GET", "123456789", tok), 100, 33)
    assert "Object with ID '123456789' does not exist" in err["message"]
    # another user's page is invisible
    nora = sb.issue("nora")["access_token"]
    assert_meta_error(sb.graph("GET", COFFEE_PAGE, nora), 100, 33)
    assert_meta_error(sb.graph("GET", "me"), 2500)
    assert_meta_error(sb.graph("GET", "me", "EAAnonsense"), 190)
    assert sb.graph("GET", "me", tok, ver="v21.0").status_code == 200
    r = __import__("requests").get(f"{sb.url}/v25.0/me", headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 200


@pytest.mark.parametrize("reason,subcode", [("logout", 467), ("password", 460), ("expired", 463)])
def test_revoked_tokens(sb, reason, subcode):
    toks = sb.issue("ana")
    sb.control("tokens/revoke", {"user": "ana", "reason": reason})
    assert_meta_error(sb.graph("GET", "me", toks["access_token"]), 190, subcode)
    assert_meta_error(sb.graph("GET", "me", toks["page_tokens"][COFFEE_PAGE]), 190, subcode)


def test_revoke_one_page(sb):
    toks = sb.issue("ana")
    sb.control("tokens/revoke", {"page": COFFEE_PAGE, "reason": "logout"})
    assert_meta_error(sb.graph("GET", "me", toks["page_tokens"][COFFEE_PAGE]), 190, 467)
    assert sb.graph("GET", "me", toks["access_token"]).status_code == 200


def test_app_removed_from_business_integrations(sb, receiver):
    toks = sb.issue("ana")
    res = sb.control("integrations/remove", {"user": "ana"})
    assert res["deauthorize"]["status_code"] == 200
    assert_meta_error(sb.graph("GET", "me", toks["access_token"]), 190, 458)
    assert_meta_error(sb.graph("GET", "me", toks["page_tokens"][COFFEE_PAGE]), 190, 458)
    deauth = receiver.posts("/deauth")[0]
    sig, payload = deauth["form"]["signed_request"].split(".")
    import base64, hashlib, hmac, json
    from .conftest import APP_SECRET
    want = base64.urlsafe_b64encode(hmac.new(APP_SECRET.encode(), payload.encode(), hashlib.sha256).digest()).decode().rstrip("=")
    assert sig == want
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert data["user_id"] == "100089000000001" and data["algorithm"] == "HMAC-SHA256"


def test_page_token_from_short_lived_user_token_expires(sb):
    toks = sb.issue("ana", long_lived=False)
    pt = toks["page_tokens"][COFFEE_PAGE]
    assert sb.graph("GET", "me", pt).status_code == 200
    sb.control("clock", {"advance_seconds": 3601})
    assert_meta_error(sb.graph("GET", "me", pt), 190, 463)
    long_pt = sb.issue("ana", long_lived=True)["page_tokens"][COFFEE_PAGE]
    sb.control("clock", {"advance_days": 100})
    assert sb.graph("GET", "me", long_pt).status_code == 200


def test_losing_page_role_invalidates_page_token(sb):
    pt = sb.issue("sam")["page_tokens"][COFFEE_PAGE]
    sb.control("users/sam/tasks", {"page": COFFEE_PAGE, "tasks": []})
    assert_meta_error(sb.graph("GET", "me", pt), 190, 492)


def test_subscribed_apps(sb, receiver):
    toks = sb.issue("ana")
    pt = toks["page_tokens"][COFFEE_PAGE]
    assert sb.graph("GET", f"{COFFEE_PAGE}/subscribed_apps", pt).json() == {"data": []}
    err = assert_meta_error(sb.graph("POST", f"{COFFEE_PAGE}/subscribed_apps", pt,
                                     subscribed_fields="messages,message_reactions,messaging_seen"), 100)
    assert err["message"].startswith("(#100) Param subscribed_fields[2] must be one of {")
    assert "message_reads" in err["message"]
    r = sb.graph("POST", f"{COFFEE_PAGE}/subscribed_apps", pt, subscribed_fields="messages,message_reactions")
    assert r.json() == {"success": True}
    data = sb.graph("GET", f"{COFFEE_PAGE}/subscribed_apps", pt).json()["data"]
    assert data[0]["id"] == "sandbox-app-id" and data[0]["subscribed_fields"] == ["messages", "message_reactions"]
    # verification handshake happened in the background
    ver = sb.wait(lambda: sb.control("verifications", method="GET")["data"])
    assert ver[0]["ok"] is True
    got = [r for r in receiver.requests if r["method"] == "GET"][0]["args"]
    assert got["hub.mode"] == "subscribe" and got["hub.verify_token"] == receiver.verify_token
    assert sb.graph("DELETE", f"{COFFEE_PAGE}/subscribed_apps", pt).json() == {"success": True}
    assert sb.graph("GET", f"{COFFEE_PAGE}/subscribed_apps", pt).json() == {"data": []}
    # a user token is not enough; Sam's page token lacks the task
    assert_meta_error(sb.graph("GET", f"{COFFEE_PAGE}/subscribed_apps", toks["access_token"]), 210)
    sam_pt = sb.issue("sam")["page_tokens"][COFFEE_PAGE]
    assert_meta_error(sb.graph("POST", f"{COFFEE_PAGE}/subscribed_apps", sam_pt, subscribed_fields="messages"), 200)


def test_verify_callback_reports_failure(sb, receiver):
    assert sb.control("verify-callback")["ok"] is True
    sb.control("config", {"SANDBOX_VERIFY_TOKEN": "other"})
    res = sb.control("verify-callback")
    assert res["ok"] is False and res["status_code"] == 403


def test_calls_are_recorded_with_tokens_redacted(sb):
    tok = sb.issue("ana")["access_token"]
    sb.graph("GET", "me", tok, fields="id")
    sb.graph("GET", "nope", tok)
    calls = sb.control("calls", method="GET")["data"]
    assert calls[-2]["path"] == "/v25.0/me" and calls[-2]["status"] == 200
    assert calls[-2]["params"]["access_token"] == "[redacted]" and tok not in str(calls)
    assert calls[-1]["status"] == 400 and calls[-1]["error"]["code"] == 100


def test_debug_token(sb):
    tok = sb.issue("ana")["access_token"]
    from .conftest import APP_SECRET
    r = sb.graph("GET", "debug_token", f"sandbox-app-id|{APP_SECRET}", input_token=tok).json()["data"]
    assert r["is_valid"] is True and r["user_id"] == "100089000000001" and "instagram_basic" in r["scopes"]


def test_bad_paging_params(sb):
    tok = sb.issue("ana")["access_token"]
    assert_meta_error(sb.graph("GET", "me/accounts", tok, limit="x"), 100)
    assert_meta_error(sb.graph("GET", "me/accounts", tok, after="!!"), 100)


def test_delete_permissions(sb):
    tok = sb.issue("ana")["access_token"]
    assert sb.graph("DELETE", "me/permissions/instagram_manage_messages", tok).json() == {"success": True}
    perms = {p["permission"]: p["status"] for p in sb.graph("GET", "me/permissions", tok).json()["data"]}
    assert perms["instagram_manage_messages"] == "declined"
    assert sb.graph("DELETE", "me/permissions", tok).json() == {"success": True}
    assert_meta_error(sb.graph("GET", "me", tok), 190, 458)


def test_control_creates_world(sb, receiver):
    sb.control("users", {"key": "kim", "name": "Kim New", "id": "100089000000009"})
    made = sb.control("pages", {"key": "tea", "name": "Tea House", "admins": {"kim": ["MANAGE", "MESSAGING", "MODERATE"]},
                                "ig": {"username": "tea.house", "kind": "business"}})
    sb.control("customers", {"key": "omar", "name": "Omar", "username": "omar.o"})
    toks = sb.issue("kim")
    page_id, ig_id = made["page"]["id"], made["account"]["id"]
    pages = sb.graph("GET", "me/accounts", toks["access_token"], fields="id,instagram_business_account{username}").json()
    assert pages["data"] == [{"id": page_id, "instagram_business_account": {"username": "tea.house", "id": ig_id}}]
    sb.subscribe(toks["page_tokens"][page_id], page_id)
    res = sb.customer(account="tea.house", customer="omar", type="text", text="salam")
    assert res["delivery"]["status"] == "queued"
    body = json.loads(receiver.wait_posts(1)[0]["body"])
    assert body["entry"][0]["id"] == ig_id


def test_account_kind_and_unlink_controls(sb):
    tok = sb.issue("ana")["access_token"]
    sb.control("accounts/keloa.coffee/kind", {"kind": "personal"})
    page = sb.graph("GET", COFFEE_PAGE, tok, fields="instagram_business_account,connected_instagram_account").json()
    assert "instagram_business_account" not in page and page["connected_instagram_account"] == {"id": COFFEE_IG}
    sb.control("accounts/keloa.coffee/kind", {"kind": "business"})
    sb.control("accounts/keloa.coffee/unlink")
    page = sb.graph("GET", COFFEE_PAGE, tok, fields="instagram_business_account,connected_instagram_account").json()
    assert "instagram_business_account" not in page and "connected_instagram_account" not in page


def test_created_pages_and_users_never_take_a_seeded_id(sb):
    seeded = {COFFEE_PAGE, BOOKS_PAGE, BAKERY_PAGE, PERSONAL_PAGE, QUIET_PAGE}
    created = [sb.control("pages", {"key": f"p{n}", "name": f"P{n}"})["page"]["id"] for n in range(110)]
    assert not seeded & set(created) and len(set(created)) == 110
    users = [sb.control("users", {"key": f"u{n}"})["id"] for n in range(5)]
    assert "100089000000001" not in users
