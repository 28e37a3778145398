"""Facebook Login: dialog, code exchange, long-lived exchange and Meta's error shapes."""
import base64
import hashlib
import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from .conftest import APP_SECRET

pytestmark = pytest.mark.timeout(30)
REDIRECT = "http://127.0.0.1:5000/auth/meta/callback"
SCOPES = "instagram_basic,instagram_manage_messages,pages_show_list,pages_manage_metadata,pages_messaging"


def login(sb, user="100089000000001", perms=None, action="allow", extra=None, pages=None):
    params = {"client_id": "sandbox-app-id", "redirect_uri": REDIRECT, "state": "st4te", "scope": SCOPES}
    params.update(extra or {})
    page = requests.get(f"{sb.url}/v25.0/dialog/oauth", params=params, timeout=5)
    assert page.status_code == 200
    assert "Ana Admin" in page.text and "instagram_manage_messages" in page.text
    form = dict(params, user=user, action=action)
    form["perm"] = perms if perms is not None else SCOPES.split(",")
    if pages is not None:
        form[f"pages_{user}"] = pages
    r = requests.post(f"{sb.url}/v25.0/dialog/oauth", data=form, allow_redirects=False, timeout=5)
    assert r.status_code == 302
    loc = r.headers["Location"]
    assert loc.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlparse(loc).query).items()}


def exchange(sb, code, secret=APP_SECRET, redirect_uri=REDIRECT, method="GET", **extra):
    params = dict(client_id="sandbox-app-id", client_secret=secret, redirect_uri=redirect_uri, code=code, **extra)
    if method == "GET":
        return requests.get(f"{sb.url}/v25.0/oauth/access_token", params=params, timeout=5)
    return requests.post(f"{sb.url}/v25.0/oauth/access_token", data=params, timeout=5)


def assert_meta_error(r, code, subcode=None):
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] and err["message"] and err["fbtrace_id"]
    assert err["code"] == code, err
    if subcode is not None:
        assert err.get("error_subcode") == subcode, err
    return err


def test_login_and_code_exchange(sb):
    q = login(sb)
    assert q["state"] == "st4te" and q["code"]
    r = exchange(sb, q["code"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    me = sb.graph("GET", "me", body["access_token"], fields="id,name").json()
    assert me == {"id": "100089000000001", "name": "Ana Admin"}
    perms = sb.graph("GET", "me/permissions", body["access_token"]).json()["data"]
    assert {"permission": "instagram_manage_messages", "status": "granted"} in perms


def test_long_lived_exchange(sb):
    short = exchange(sb, login(sb)["code"]).json()["access_token"]
    r = requests.get(f"{sb.url}/v25.0/oauth/access_token", timeout=5, params={
        "grant_type": "fb_exchange_token", "client_id": "sandbox-app-id", "client_secret": APP_SECRET,
        "fb_exchange_token": short})
    assert r.status_code == 200, r.text
    assert r.json()["expires_in"] == 5183944
    # the short token expires after an hour, the long-lived one does not
    sb.control("clock", {"advance_seconds": 3700})
    assert_meta_error(sb.graph("GET", "me", short), 190, 463)
    assert sb.graph("GET", "me", r.json()["access_token"]).status_code == 200
    # an expired token cannot be exchanged
    r2 = requests.get(f"{sb.url}/v25.0/oauth/access_token", timeout=5, params={
        "grant_type": "fb_exchange_token", "client_id": "sandbox-app-id", "client_secret": APP_SECRET,
        "fb_exchange_token": short})
    assert_meta_error(r2, 190, 463)


def test_post_with_basic_auth_and_pkce(sb):
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    q = login(sb, extra={"code_challenge": challenge, "code_challenge_method": "S256"})
    r = requests.post(f"{sb.url}/v25.0/oauth/access_token", auth=("sandbox-app-id", APP_SECRET), timeout=5,
                      data={"grant_type": "authorization_code", "code": q["code"], "redirect_uri": REDIRECT,
                            "code_verifier": verifier})
    assert r.status_code == 200, r.text
    q2 = login(sb, extra={"code_challenge": challenge, "code_challenge_method": "S256"})
    assert_meta_error(exchange(sb, q2["code"], method="POST", code_verifier="wrong"), 100)


def test_exchange_errors(sb):
    code = login(sb)["code"]
    assert_meta_error(exchange(sb, code, secret="nope"), 1)
    assert_meta_error(exchange(sb, code, redirect_uri=REDIRECT + "/other"), 100, 36008)
    assert exchange(sb, code).status_code == 200
    assert_meta_error(exchange(sb, code), 100, 36009)  # reused
    code2 = login(sb)["code"]
    sb.control("clock", {"advance_seconds": 3601})
    assert_meta_error(exchange(sb, code2), 100, 36007)  # expired
    assert_meta_error(exchange(sb, "garbage"), 100)
    r = requests.get(f"{sb.url}/v25.0/oauth/access_token", params={"client_id": "other", "client_secret": "x",
                                                                     "code": code, "redirect_uri": REDIRECT})
    assert_meta_error(r, 101)


def test_cancel_redirects_with_meta_error(sb):
    q = login(sb, action="cancel")
    assert q == {"error": "access_denied", "error_code": "200", "error_description": "Permissions error",
                 "error_reason": "user_denied", "state": "st4te"}


def test_unticked_permission_is_declined_and_not_reasked_without_rerequest(sb):
    q = login(sb, perms=["instagram_basic", "pages_show_list", "pages_manage_metadata", "pages_messaging"])
    tok = exchange(sb, q["code"]).json()["access_token"]
    perms = {p["permission"]: p["status"] for p in sb.graph("GET", "me/permissions", tok).json()["data"]}
    assert perms["instagram_manage_messages"] == "declined" and perms["instagram_basic"] == "granted"
    # ticking it again without auth_type=rerequest changes nothing, as on Meta
    tok2 = exchange(sb, login(sb)["code"]).json()["access_token"]
    perms = {p["permission"]: p["status"] for p in sb.graph("GET", "me/permissions", tok2).json()["data"]}
    assert perms["instagram_manage_messages"] == "declined"
    tok3 = exchange(sb, login(sb, extra={"auth_type": "rerequest"})["code"]).json()["access_token"]
    perms = {p["permission"]: p["status"] for p in sb.graph("GET", "me/permissions", tok3).json()["data"]}
    assert perms["instagram_manage_messages"] == "granted"


def test_page_selection_limits_me_accounts(sb):
    q = login(sb, pages=["104000000000101"])
    tok = exchange(sb, q["code"]).json()["access_token"]
    pages = sb.graph("GET", "me/accounts", tok).json()["data"]
    assert [p["id"] for p in pages] == ["104000000000101"]


def test_dialog_rejects_bad_client_and_escapes(sb):
    r = requests.get(f"{sb.url}/v25.0/dialog/oauth", params={"client_id": "x", "redirect_uri": REDIRECT})
    assert r.status_code == 400 and "Invalid App ID" in r.text
    r = requests.get(f"{sb.url}/v19.0/dialog/oauth", params={
        "client_id": "sandbox-app-id", "redirect_uri": REDIRECT, "state": "<script>x</script>", "scope": "a<b"})
    assert r.status_code == 200
    assert "<script>x</script>" not in r.text and "&lt;script&gt;" in r.text
    assert re.search(r"a&lt;b", r.text)


def test_config_id_stands_for_the_permission_set(sb):
    r = requests.get(f"{sb.url}/v25.0/dialog/oauth", timeout=5, params={
        "client_id": "sandbox-app-id", "redirect_uri": REDIRECT, "state": "s", "config_id": "123456"})
    assert r.status_code == 200 and "business_management" in r.text and 'name="config_id"' in r.text


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
def test_authlib_client_can_log_in(sb, method):
    from authlib.integrations.requests_client import OAuth2Session
    client = OAuth2Session("sandbox-app-id", APP_SECRET, scope=SCOPES, redirect_uri=REDIRECT,
                           token_endpoint_auth_method=method)
    url, state = client.create_authorization_url(f"{sb.url}/v25.0/dialog/oauth")
    q = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    form = dict(q, user="100089000000001", action="allow", perm=SCOPES.split(","))
    r = requests.post(f"{sb.url}/v25.0/dialog/oauth", data=form, allow_redirects=False, timeout=5)
    # a browser never sends Meta's "#_=_" fragment to the server, so drop it as the callback would see it
    callback = r.headers["Location"].split("#")[0]
    token = client.fetch_token(f"{sb.url}/v25.0/oauth/access_token", authorization_response=callback)
    assert token["access_token"] and token["token_type"] == "bearer"
    assert sb.graph("GET", "me", token["access_token"]).json()["name"] == "Ana Admin"
