"""Facebook Login: the authorize dialog, the code -> token exchange, fb_exchange_token, debug_token."""
import base64
import hashlib
import secrets
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, redirect, render_template, request

from . import tokens
from .errors import GraphError
from .seed import ALL_SCOPES

bp = Blueprint("oauth", __name__)
VER = "<ver:ver>"


def _sb():
    return current_app.extensions["meta_sandbox"]


def _redirect_allowed(settings, uri):
    allowed = [u.strip() for u in settings["SANDBOX_REDIRECT_URIS"].split(",") if u.strip()]
    return uri.startswith(("http://", "https://")) and (not allowed or uri in allowed)


def _with_params(uri, params):
    sep = "&" if "?" in uri else "?"
    return uri + sep + urlencode(params) + "#_=_"


@bp.route(f"/{VER}/dialog/oauth", methods=["GET", "POST"])
@bp.route("/dialog/oauth", methods=["GET", "POST"])
def dialog(ver=None):
    sb = _sb()
    store, s = sb.store, sb.settings
    p = request.values
    client_id, redirect_uri, state = p.get("client_id", ""), p.get("redirect_uri", ""), p.get("state")
    if client_id != s["SANDBOX_APP_ID"]:
        return render_template("dialog_error.html", message="Invalid App ID: the provided app ID does not "
                               "look like a valid app ID."), 400
    if not redirect_uri or not _redirect_allowed(s, redirect_uri):
        return render_template("dialog_error.html", message="URL Blocked: This redirect failed because the "
                               "redirect URI is not whitelisted in the app's Client OAuth Settings."), 400
    scopes = [x for x in p.get("scope", "").replace(" ", ",").split(",") if x]
    if not scopes and p.get("config_id"):
        scopes = list(ALL_SCOPES)  # Facebook Login for Business: the configuration carries the permissions
    rerequest = p.get("auth_type") == "rerequest"
    if request.method == "GET":
        with store.lock:
            users = [{"u": u, "pages": [store.pages[pid] for pid in u["page_tasks"] if pid in store.pages],
                      "declined": [k for k, v in u["perms"].items() if v == "declined"]}
                     for u in store.users.values()]
        return render_template("dialog.html", users=users, scopes=scopes, params=p, rerequest=rerequest,
                               app_name=s["SANDBOX_APP_NAME"])
    base = {} if state is None else {"state": state}
    if p.get("action") == "cancel":
        return redirect(_with_params(redirect_uri, {"error": "access_denied", "error_code": "200",
                                                    "error_description": "Permissions error",
                                                    "error_reason": "user_denied", **base}))
    with store.lock:
        user = store.users.get(p.get("user", ""))
        if user is None:
            return render_template("dialog_error.html", message="Pick who you are."), 400
        ticked = set(request.form.getlist("perm"))
        for scope in scopes:
            previously_declined = user["perms"].get(scope) == "declined"
            if previously_declined and not rerequest:
                continue  # Meta does not ask again for a declined permission without auth_type=rerequest
            user["perms"][scope] = "granted" if scope in ticked else "declined"
        user["app_removed"] = False
        chosen = request.form.getlist(f"pages_{user['id']}")
        user["granted_pages"] = [pid for pid in chosen if pid in user["page_tasks"]]
        code = "AQ" + secrets.token_urlsafe(96)
        store.codes[code] = {"code": code, "user_id": user["id"], "client_id": client_id,
                             "redirect_uri": redirect_uri, "created": store.now(), "used": False,
                             "challenge": p.get("code_challenge"),
                             "method": p.get("code_challenge_method", "plain")}
    return redirect(_with_params(redirect_uri, {"code": code, **base}))


def _client_credentials():
    cid, secret = request.values.get("client_id"), request.values.get("client_secret")
    if request.authorization and request.authorization.type == "basic":
        cid = cid or request.authorization.username
        secret = secret or request.authorization.password
    return cid, secret


def _check_client(s, cid, secret):
    if cid != s["SANDBOX_APP_ID"]:
        raise GraphError(101, "Error validating application. Invalid application ID.")
    if secret != s["SANDBOX_APP_SECRET"]:
        raise GraphError(1, "Error validating client secret.")


def _pkce_ok(rec, verifier):
    if not rec.get("challenge"):
        return True
    if not verifier:
        return False
    if (rec.get("method") or "plain").upper() == "S256":
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        return digest == rec["challenge"]
    return verifier == rec["challenge"]


@bp.route(f"/{VER}/oauth/access_token", methods=["GET", "POST"])
@bp.route("/oauth/access_token", methods=["GET", "POST"])
def access_token(ver=None):
    sb = _sb()
    store, s = sb.store, sb.settings
    p = request.values
    try:
        cid, secret = _client_credentials()
        grant = p.get("grant_type", "authorization_code")
        if grant == "fb_exchange_token":
            _check_client(s, cid, secret)
            rec = tokens.check(store, p.get("fb_exchange_token"))
            if rec["kind"] != "user":
                raise GraphError(100, "Invalid fb_exchange_token: a user access token is required")
            user = store.users[rec["user_id"]]
            new = tokens.issue_user_token(store, user, long_lived=True)
        elif grant == "client_credentials":
            _check_client(s, cid, secret)
            return jsonify({"access_token": f"{cid}|{secret}", "token_type": "bearer"})
        elif grant == "authorization_code":
            _check_client(s, cid, secret)
            code = p.get("code", "")
            with store.lock:
                rec = store.codes.get(code)
                if rec is None:
                    raise GraphError(100, "Invalid verification code format.", type_="OAuthException")
                if rec["used"]:
                    raise GraphError(100, "This authorization code has been used.", subcode=36009)
                if store.now() - rec["created"] > s["SANDBOX_CODE_TTL_SECONDS"]:
                    raise GraphError(100, "This authorization code has expired.", subcode=36007)
                if p.get("redirect_uri", "") != rec["redirect_uri"]:
                    raise GraphError(100, "Error validating verification code. Please make sure your redirect_uri "
                                          "is identical to the one you used in the OAuth dialog request", subcode=36008)
                if not _pkce_ok(rec, p.get("code_verifier")):
                    raise GraphError(100, "Invalid code verifier.", subcode=36008)
                rec["used"] = True
                user = store.users[rec["user_id"]]
            new = tokens.issue_user_token(store, user, long_lived=False)
        else:
            raise GraphError(100, f"Unsupported grant_type: {grant}")
    except GraphError as e:
        _record(sb, e.status)
        return e.response()
    _record(sb, 200)
    return jsonify({"access_token": new["token"], "token_type": "bearer",
                    "expires_in": int(round(new["expires_at"] - store.now()))})


def _record(sb, status):
    from .graph import record_call
    record_call(sb, status)


@bp.route(f"/{VER}/debug_token")
@bp.route("/debug_token")
def debug_token(ver=None):
    """GET /debug_token?input_token=...&access_token={app-id}|{app-secret} (or a valid user token)."""
    sb = _sb()
    store, s = sb.store, sb.settings
    try:
        tokens.check(store, tokens.token_from_request())
        tok = request.args.get("input_token", "")
        rec = store.tokens.get(tok)
        data = {"app_id": s["SANDBOX_APP_ID"], "application": s["SANDBOX_APP_NAME"], "is_valid": False}
        if rec:
            try:
                tokens.check(store, tok)
                data["is_valid"] = True
            except GraphError as e:
                data["error"] = {"code": e.code, "subcode": e.subcode, "message": e.message}
            user = store.users.get(rec["user_id"], {})
            granted = [k for k, v in user.get("perms", {}).items() if v == "granted"]
            data.update({"type": rec["kind"].upper(), "user_id": rec["user_id"],
                         "expires_at": int(rec["expires_at"]) if rec["expires_at"] else 0,
                         "data_access_expires_at": int(rec["created"] + 90 * 86400), "scopes": granted,
                         "granular_scopes": [{"scope": g} for g in granted]})
            if rec["page_id"]:
                data["profile_id"] = rec["page_id"]
        else:
            data["error"] = {"code": 190, "message": "Invalid OAuth access token - Cannot parse access token"}
    except GraphError as e:
        _record(sb, e.status)
        return e.response()
    _record(sb, 200)
    return jsonify({"data": data})

