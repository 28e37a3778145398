"""Access tokens: issuing, resolving, revoking. Errors follow Graph's 190 + subcode scheme."""
import hashlib
import hmac

from flask import request

from .errors import GraphError, no_token
from .state import iso

REVOKE_SUBCODES = {
    "expired": (463, "Error validating access token: Session has expired on {when}. The current time is {now}."),
    "logout": (467, "Error validating access token: The session is invalid because the user logged out."),
    "invalid": (467, "Error validating access token: The session is invalid because the user logged out."),
    "password": (460, "Error validating access token: The session has been invalidated because the user "
                      "changed their password or Facebook has changed the session for security reasons."),
    "app_removed": (458, "Error validating access token: The user has not authorized application {app}."),
}


def issue_user_token(store, user, long_lived=False):
    s = store.settings
    with store.lock:
        tok = store.new_token("EAA")
        life = s["SANDBOX_LONG_TOKEN_SECONDS"] if long_lived else s["SANDBOX_SHORT_TOKEN_SECONDS"]
        rec = {"token": tok, "kind": "user", "user_id": user["id"], "page_id": None,
               "created": store.now(), "expires_at": store.now() + life, "long_lived": long_lived,
               "revoked": None}
        store.tokens[tok] = rec
        return rec


def issue_page_token(store, user_token_rec, page):
    """Page token derived from a user token: 1 h from a short-lived one, no expiry from a long-lived one."""
    with store.lock:
        tok = store.new_token("EAAP")
        expires = None if user_token_rec["long_lived"] else store.now() + 3600
        rec = {"token": tok, "kind": "page", "user_id": user_token_rec["user_id"], "page_id": page["id"],
               "created": store.now(), "expires_at": expires, "long_lived": expires is None,
               "revoked": None, "parent": user_token_rec["token"]}
        store.tokens[tok] = rec
        return rec


def issue_ig_token(store, ig, scopes, long_lived=False, life=None):
    """An Instagram User access token (Instagram Login): short-lived 1 h, long-lived ~60 days."""
    s = store.settings
    with store.lock:
        tok = store.new_token("IGAA")
        if life is None:
            life = s["SANDBOX_LONG_TOKEN_SECONDS"] if long_lived else s["SANDBOX_SHORT_TOKEN_SECONDS"]
        rec = {"token": tok, "kind": "ig", "user_id": None, "page_id": None, "ig_id": ig["id"],
               "scopes": list(scopes), "created": store.now(), "expires_at": store.now() + life,
               "long_lived": long_lived, "revoked": None}
        store.tokens[tok] = rec
        return rec


def page_token_for(store, user_token_rec, page):
    """Reuse an existing live page token for this (user token, page) pair, else issue one."""
    for rec in store.tokens.values():
        if rec["kind"] == "page" and rec.get("parent") == user_token_rec["token"] \
                and rec["page_id"] == page["id"] and not rec["revoked"]:
            return rec
    return issue_page_token(store, user_token_rec, page)


def revoke(store, reason="logout", user=None, page=None, token=None, ig=None):
    """Invalidate tokens; returns how many."""
    n = 0
    with store.lock:
        for rec in store.tokens.values():
            if rec["kind"] == "app" or rec["revoked"]:
                continue
            hit = (token and rec["token"] == token) or (ig and rec.get("ig_id") == ig["id"]) or \
                  (user and rec["user_id"] == user["id"] and (page is None or rec["page_id"] == page["id"])) or \
                  (page and not user and rec["page_id"] == page["id"])
            if hit:
                rec["revoked"] = reason
                if reason == "expired":
                    rec["expires_at"] = min(rec["expires_at"] or store.now(), store.now()) - 1
                n += 1
    return n


def token_from_request():
    tok = request.args.get("access_token") or request.form.get("access_token")
    if not tok and request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            tok = body.get("access_token")
    if not tok:
        auth = request.headers.get("Authorization", "")
        for scheme in ("Bearer ", "OAuth "):
            if auth.startswith(scheme):
                tok = auth[len(scheme):].strip()
    return tok


def _err(store, reason, rec):
    code, msg = REVOKE_SUBCODES[reason]
    when = iso(rec["expires_at"]) if rec.get("expires_at") else iso(store.now())
    return GraphError(190, msg.format(when=when, now=iso(store.now()), app=store.settings["SANDBOX_APP_ID"]),
                      subcode=code)


def _expired_or_revoked(store, rec):
    if rec["revoked"]:
        raise _err(store, rec["revoked"], rec)
    if rec["expires_at"] is not None and store.now() >= rec["expires_at"]:
        raise _err(store, "expired", rec)


def check_ig(store, tok):
    """graph.instagram.com: only Instagram User tokens (Facebook tokens cannot be parsed there)."""
    if not tok:
        raise GraphError(190, "Invalid OAuth access token - Cannot parse access token", type_="IGApiException")
    with store.lock:
        rec = store.tokens.get(tok)
        if rec is None or rec["kind"] != "ig":
            raise GraphError(190, "Invalid OAuth access token - Cannot parse access token", type_="IGApiException")
        ig = store.igs.get(rec["ig_id"])
        _expired_or_revoked(store, rec)
        if ig is None or ig.get("ig_app_removed") or ig["kind"] == "personal":
            raise _err(store, "app_removed", rec)
        return rec


def check(store, tok):
    """Resolve a token string to its record or raise Meta's 190 errors."""
    if not tok:
        raise no_token()
    s = store.settings
    if tok == f"{s['SANDBOX_APP_ID']}|{s['SANDBOX_APP_SECRET']}":
        return {"token": tok, "kind": "app", "user_id": None, "page_id": None}
    proof = request.values.get("appsecret_proof")
    if proof is not None:
        want = hmac.new(s["SANDBOX_APP_SECRET"].encode(), tok.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(proof, want):
            raise GraphError(100, "Invalid appsecret_proof provided in the API argument", type_="GraphMethodException")
    with store.lock:
        rec = store.tokens.get(tok)
        if rec is None or rec["kind"] == "ig":  # an Instagram Login token is for graph.instagram.com only
            raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")
        user = store.users.get(rec["user_id"])
        if rec["revoked"]:
            raise _err(store, rec["revoked"], rec)
        if user is None or user.get("app_removed"):
            raise _err(store, "app_removed", rec)
        if rec["expires_at"] is not None and store.now() >= rec["expires_at"]:
            raise _err(store, "expired", rec)
        if rec["kind"] == "page":
            if not store.tasks(user, rec["page_id"]) or rec["page_id"] not in store.pages:
                raise GraphError(190, "Error validating access token: The user associated with the Page access "
                                      "token does not have an appropriate role on the Page", subcode=492)
        return rec
