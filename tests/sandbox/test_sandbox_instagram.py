"""Instagram Login in the sandbox: the window, the code and token exchanges, refresh after 24 hours,
graph.instagram.com with the account's own token, and webhooks signed with the Instagram app secret."""
import hashlib
import hmac
import re

import pytest
import requests

from .test_sandbox_oauth import assert_meta_error

pytestmark = pytest.mark.timeout(30)
STUDIO_IG = "17841400000000106"  # no Facebook Page
IG_ID, IG_SECRET = "sandbox-ig-app-id", "sandbox-ig-app-secret"
REDIRECT = "https://keloa.example/integrations/instagram/callback"
SCOPE = "instagram_business_basic,instagram_business_manage_messages"


def _code(sb, account=STUDIO_IG, perms=("instagram_business_manage_messages",), action="allow"):
    r = requests.post(f"{sb.url}/instagram/oauth/authorize", allow_redirects=False, timeout=5, data={
        "client_id": IG_ID, "redirect_uri": REDIRECT, "scope": SCOPE, "state": "s1", "response_type": "code",
        "account": account, "perm": list(perms), "action": action})
    assert r.status_code == 302, r.text
    return r.headers["Location"]


def _exchange(sb, code, **over):
    return requests.post(f"{sb.url}/instagram/oauth/access_token", timeout=5, data={
        "client_id": IG_ID, "client_secret": IG_SECRET, "grant_type": "authorization_code",
        "redirect_uri": REDIRECT, "code": code, **over})


def _ig(sb, method, path, token, **params):
    return requests.request(method, f"{sb.url}/instagram/graph/v25.0/{path}", timeout=5,
                            headers={"Authorization": f"Bearer {token}"}, params=params)


def _long_lived(sb, account=STUDIO_IG):
    location = _code(sb, account)
    short = _exchange(sb, re.search(r"code=([^&#]+)", location).group(1)).json()["data"][0]["access_token"]
    r = requests.get(f"{sb.url}/instagram/graph/access_token", timeout=5, params={
        "grant_type": "ig_exchange_token", "client_secret": IG_SECRET, "access_token": short})
    return r.json()


def test_the_window_the_code_and_the_long_lived_token(sb):
    page = requests.get(f"{sb.url}/instagram/oauth/authorize", timeout=5, params={
        "client_id": IG_ID, "redirect_uri": REDIRECT, "scope": SCOPE, "response_type": "code"})
    assert page.status_code == 200 and "@keloa.studio" in page.text and "no Facebook Page" in page.text
    wrong = requests.get(f"{sb.url}/instagram/oauth/authorize", timeout=5, params={
        "client_id": "sandbox-app-id", "redirect_uri": REDIRECT, "scope": SCOPE, "response_type": "code"})
    assert wrong.status_code == 400  # the Facebook app's id is not an Instagram app id
    location = _code(sb)
    assert location.startswith(REDIRECT + "?code=") and "state=s1" in location and location.endswith("#_")
    code = re.search(r"code=([^&#]+)", location).group(1)
    body = _exchange(sb, code).json()
    assert set(body) == {"data"} and body["data"][0]["user_id"] == STUDIO_IG
    assert body["data"][0]["permissions"] == SCOPE and body["data"][0]["access_token"].startswith("IGAA")
    again = _exchange(sb, code)  # a code is used once
    assert again.status_code == 400 and again.json() == {
        "error_type": "OAuthException", "code": 400, "error_message": "This authorization code has been used"}
    assert _exchange(sb, "nope", client_secret="wrong").json()["error_message"] == "Error validating client secret."

    long_lived = _long_lived(sb)
    assert long_lived["token_type"] == "bearer" and long_lived["expires_in"] == 5183944
    me = _ig(sb, "GET", "me", long_lived["access_token"], fields="user_id,username,account_type,id").json()
    assert me == {"user_id": STUDIO_IG, "username": "keloa.studio", "account_type": "BUSINESS",
                  "id": "27841400000000106"}


def test_cancel_and_a_declined_permission(sb):
    location = _code(sb, action="cancel")
    assert "error=access_denied" in location and "error_reason=user_denied" in location
    code = re.search(r"code=([^&#]+)", _code(sb, perms=())).group(1)
    token = _exchange(sb, code).json()["data"][0]
    assert token["permissions"] == "instagram_business_basic"
    r = _ig(sb, "POST", "me/subscribed_apps", token["access_token"], subscribed_fields="messages")
    assert_meta_error(r, 10)


def test_tokens_refresh_after_24_hours_and_each_host_takes_only_its_own(sb):
    token = _long_lived(sb)["access_token"]
    refresh = {"grant_type": "ig_refresh_token", "access_token": token}
    early = requests.get(f"{sb.url}/instagram/graph/refresh_access_token", params=refresh, timeout=5)
    assert_meta_error(early, 100)
    sb.control("clock", {"advance_days": 2})
    fresh = requests.get(f"{sb.url}/instagram/graph/refresh_access_token", params=refresh, timeout=5).json()
    assert fresh["expires_in"] == 5183944 and fresh["access_token"] != token
    assert _ig(sb, "GET", "me", fresh["access_token"]).status_code == 200
    # an Instagram token on graph.facebook.com, a Facebook token on graph.instagram.com: 190
    assert_meta_error(sb.graph("GET", "me", fresh["access_token"]), 190)
    assert_meta_error(_ig(sb, "GET", "me", sb.issue("ana")["access_token"]), 190)
    sb.control("clock", {"advance_days": 61})  # expired
    assert_meta_error(requests.get(f"{sb.url}/instagram/graph/refresh_access_token", params={
        "grant_type": "ig_refresh_token", "access_token": fresh["access_token"]}, timeout=5), 190, 463)


def test_an_instagram_login_subscription_gets_webhooks_signed_with_the_instagram_secret(sb, receiver):
    token = _long_lived(sb)["access_token"]
    r = _ig(sb, "POST", "me/subscribed_apps", token, subscribed_fields="messages,messaging_seen")
    assert r.json() == {"success": True}
    assert_meta_error(_ig(sb, "POST", "me/subscribed_apps", token, subscribed_fields="message_reads"), 100)
    got = sb.customer(account="keloa.studio", customer="maya", type="text", text="Hello studio")
    assert got["delivery"]["apps"] == ["instagram"]
    post = receiver.wait_posts(1)[0]
    want = "sha256=" + hmac.new(IG_SECRET.encode(), post["body"], hashlib.sha256).hexdigest()
    assert post["headers"]["X-Hub-Signature-256"] == want
    assert b'"id":"17841400000000106"' in post["body"]
    # the account answers with its own token, on either node
    igsid = got["igsid"]
    for node in ("me", STUDIO_IG):
        sent = requests.post(f"{sb.url}/instagram/graph/v25.0/{node}/messages", timeout=5,
                             headers={"Authorization": f"Bearer {token}"},
                             json={"recipient": {"id": igsid}, "message": {"text": "Hi Maya"}})
        assert sent.status_code == 200 and sent.json()["recipient_id"] == igsid
    convs = _ig(sb, "GET", "me/conversations", token, platform="instagram").json()["data"]
    assert len(convs) == 1
    assert _ig(sb, "GET", igsid, token, fields="name,username").json()["username"] == "maya.lopez"
    # another account's customer is not reachable with this token
    other = sb.customer(account="keloa.coffee", customer="leo", type="text", text="hi")
    assert_meta_error(_ig(sb, "GET", other["igsid"], token, fields="name"), 100, 33)
    assert _ig(sb, "DELETE", "me/subscribed_apps", token).json() == {"success": True}
    assert sb.customer(account="keloa.studio", customer="maya", type="text", text="anyone?")["delivery"][
        "status"] == "suppressed"
