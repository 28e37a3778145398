"""Control API for tests and demos, under /_sandbox/ (JSON in, JSON out)."""
from flask import Blueprint, current_app, jsonify, request

from . import seed, tokens
from .config import update_settings
from .seed import ALL_SCOPES

bp = Blueprint("control", __name__, url_prefix="/_sandbox")


def _sb():
    return current_app.extensions["meta_sandbox"]


def _json():
    return request.get_json(silent=True) or {}


def _bad(msg, status=400):
    return jsonify({"error": msg}), status


def _public(rec):
    return {k: v for k, v in rec.items() if k != "raw"}


def _fresh_id(st, taken, prefix, length):
    """A new id that no seeded or created object already has (the seed uses the same prefixes)."""
    while True:
        candidate = st.new_digits(prefix, length)
        if candidate not in taken:
            return candidate


@bp.post("/reset")
def reset():
    _sb().reset(settings=bool(_json().get("settings")))
    return jsonify({"ok": True, "state": _state()})


def _state():
    sb = _sb()
    st = sb.store
    with st.lock:
        threads = [{"conversation_id": t["id"], "account": t["ig_id"], "customer": t["customer"],
                    "igsid": t["igsid"], "consent": t["consent"], "last_customer_ts": t["last_customer_ts"],
                    "messages": len(st.thread_messages(t))} for t in st.threads.values()]
        settings = dict(sb.settings)
        return {"now": st.now(), "clock_offset": st.clock_offset, "app": st.app, "users": list(st.users.values()),
                "pages": list(st.pages.values()), "accounts": list(st.igs.values()),
                "customers": list(st.customers.values()), "threads": threads, "faults": dict(st.faults),
                "app_fields": list(st.app_fields), "settings": settings}


@bp.get("/state")
def state():
    return jsonify(_state())


@bp.post("/config")
def config():
    try:
        update_settings(_sb().settings, _json())
    except (KeyError, ValueError) as e:
        return _bad(f"bad setting: {e}")
    return jsonify(_sb().settings)


@bp.post("/clock")
def clock():
    st = _sb().store
    body = _json()
    st.advance(float(body.get("advance_seconds", 0)) + 3600 * float(body.get("advance_hours", 0))
               + 86400 * float(body.get("advance_days", 0)))
    return jsonify({"now": st.now(), "now_ms": st.now_ms(), "clock_offset": st.clock_offset})


@bp.post("/users")
def create_user():
    st, b = _sb().store, _json()
    with st.lock:
        uid = b.get("id") or _fresh_id(st, st.users, "100089", 15)
        user = {"id": uid, "key": b.get("key") or uid, "name": b.get("name") or "New User", "perms": {},
                "granted_pages": None, "page_tasks": {}, "app_removed": False}
        st.users[uid] = user
    return jsonify(user), 201


@bp.post("/pages")
def create_page():
    st, b = _sb().store, _json()
    with st.lock:
        pid = b.get("id") or _fresh_id(st, st.pages, "1040", 15)
        page = {"id": pid, "key": b.get("key") or pid, "name": b.get("name") or "New Page",
                "category": b.get("category") or "Business", "ig_id": None, "subscribed_fields": [],
                "first_failure_at": None, "unsubscribed_reason": None}
        ig = b.get("ig")
        if ig:
            iid = ig.get("id") or _fresh_id(st, st.igs, "17841", 17)
            seed.add_ig(st, page["key"], (iid, ig.get("username") or f"page{pid[-4:]}", ig.get("name") or page["name"],
                                          ig.get("kind", "business"), ig.get("dm_access", True)), pid)
            st.igs[iid]["followers_count"] = 10
            page["ig_id"] = iid
        st.pages[pid] = page
        for ukey, tasks in (b.get("admins") or {}).items():
            user = st.user_by_key(ukey)
            if user is None:
                return _bad(f"unknown user {ukey}")
            user["page_tasks"][pid] = list(tasks)
        return jsonify({"page": page, "account": st.igs.get(page["ig_id"])}), 201


@bp.post("/customers")
def create_customer():
    st, b = _sb().store, _json()
    key = b.get("key") or b.get("username")
    if not key:
        return _bad("key or username required")
    with st.lock:
        st.customers[key] = {"key": key, "name": b.get("name"), "username": b.get("username") or key,
                             "picture": b.get("picture") or "avatar_leo.png", "follower_count": b.get("follower_count", 0),
                             "is_verified_user": bool(b.get("is_verified_user")), "follows": {}, "blocked": []}
        return jsonify(st.customers[key]), 201


@bp.post("/users/<key>/permissions")
def set_permissions(key):
    st, b = _sb().store, _json()
    with st.lock:
        user = st.user_by_key(key)
        if user is None:
            return _bad("unknown user", 404)
        if "perms" in b:
            user["perms"] = dict(b["perms"])
        for p in b.get("granted", []):
            user["perms"][p] = "granted"
        for p in b.get("declined", []):
            user["perms"][p] = "declined"
        if "pages" in b:
            user["granted_pages"] = b["pages"]
        return jsonify(user)


@bp.post("/users/<key>/tasks")
def set_tasks(key):
    st, b = _sb().store, _json()
    with st.lock:
        user, page = st.user_by_key(key), st.page_by_key(b.get("page", ""))
        if user is None or page is None:
            return _bad("unknown user or page", 404)
        if b.get("tasks"):
            user["page_tasks"][page["id"]] = list(b["tasks"])
        else:
            user["page_tasks"].pop(page["id"], None)
        return jsonify(user)


@bp.post("/tokens/issue")
def issue():
    """Skip the dialog: grant scopes and return a user token plus Page tokens."""
    st, b = _sb().store, _json()
    with st.lock:
        user = st.user_by_key(b.get("user", ""))
        if user is None:
            return _bad("unknown user", 404)
        for p in b.get("scopes", ALL_SCOPES):
            user["perms"][p] = "granted"
        user["app_removed"] = False
        rec = tokens.issue_user_token(st, user, long_lived=bool(b.get("long_lived", True)))
        pages = {pid: tokens.page_token_for(st, rec, st.pages[pid])["token"]
                 for pid in user["page_tasks"] if pid in st.pages}
        return jsonify({"access_token": rec["token"], "expires_at": rec["expires_at"], "page_tokens": pages})


@bp.post("/tokens/revoke")
def revoke():
    st, b = _sb().store, _json()
    reason = b.get("reason", "logout")
    if reason not in tokens.REVOKE_SUBCODES:
        return _bad(f"reason must be one of {sorted(tokens.REVOKE_SUBCODES)}")
    user = st.user_by_key(b["user"]) if b.get("user") else None
    page = st.page_by_key(b["page"]) if b.get("page") else None
    account = st.ig_by_key(b["account"]) if b.get("account") else None  # its Instagram Login tokens
    if not (user or page or account or b.get("token")):
        return _bad("give user, page, account or token")
    return jsonify({"revoked": tokens.revoke(st, reason, user=user, page=page, token=b.get("token"), ig=account)})


@bp.post("/instagram/tokens/issue")
def issue_ig():
    """Skip Instagram's window: an account's Instagram User token (long-lived unless said)."""
    st, b = _sb().store, _json()
    with st.lock:
        ig = st.ig_by_key(b.get("account", ""))
        if ig is None or ig["kind"] == "personal":
            return _bad("unknown professional account", 404)
        scopes = b.get("scopes", seed.IG_SCOPES)
        for sc in scopes:
            ig["ig_perms"][sc] = "granted"
        ig["ig_app_removed"] = False
        rec = tokens.issue_ig_token(st, ig, scopes, long_lived=bool(b.get("long_lived", True)))
        return jsonify({"access_token": rec["token"], "expires_at": rec["expires_at"], "user_id": ig["id"]})


@bp.post("/instagram/remove")
def remove_ig_app():
    """The account owner removes the Instagram app (Settings > Website permissions > Apps)."""
    st, b = _sb().store, _json()
    with st.lock:
        ig = st.ig_by_key(b.get("account", ""))
        if ig is None:
            return _bad("unknown account", 404)
        n = tokens.revoke(st, "app_removed", ig=ig)
        ig["ig_app_removed"], ig["ig_perms"], ig["ig_subscribed_fields"] = True, {}, []
        return jsonify({"revoked": n})


@bp.post("/integrations/remove")
def remove_integration():
    sb, b = _sb(), _json()
    user = sb.store.user_by_key(b.get("user", ""))
    if user is None:
        return _bad("unknown user", 404)
    n = tokens.revoke(sb.store, "app_removed", user=user)
    with sb.store.lock:
        user["app_removed"] = True
        user["perms"] = {}
    return jsonify({"revoked": n, "deauthorize": sb.webhooks.deauthorize(user)})


@bp.post("/accounts/<key>/dm_access")
def dm_access(key):
    st = _sb().store
    with st.lock:
        ig = st.ig_by_key(key)
        if ig is None:
            return _bad("unknown account", 404)
        ig["dm_access"] = bool(_json().get("enabled", True))
        return jsonify(ig)


@bp.post("/pages/<key>/subscription")
def page_subscription(key):
    st = _sb().store
    with st.lock:
        page = st.page_by_key(key)
        if page is None:
            return _bad("unknown page", 404)
        page["subscribed_fields"] = list(_json().get("fields", []))
        return jsonify(page)


@bp.post("/app/subscriptions")
def app_subscriptions():
    st = _sb().store
    with st.lock:
        st.app_fields = list(_json().get("fields", []))
        return jsonify({"fields": st.app_fields})


@bp.post("/accounts/<key>/kind")
def account_kind(key):
    """Switch an Instagram account between business, creator and personal (as its owner can in the app)."""
    st, kind = _sb().store, _json().get("kind")
    if kind not in ("business", "creator", "personal"):
        return _bad("kind must be business, creator or personal")
    with st.lock:
        ig = st.ig_by_key(key)
        if ig is None:
            return _bad("unknown account", 404)
        ig["kind"] = kind
        return jsonify(ig)


@bp.post("/accounts/<key>/unlink")
def account_unlink(key):
    """Unlink an Instagram account from its Facebook Page."""
    st = _sb().store
    with st.lock:
        ig = st.ig_by_key(key)
        if ig is None:
            return _bad("unknown account", 404)
        page = st.pages.get(ig.get("page_id"))
        if page is not None:
            page["ig_id"] = None
        ig["page_id"] = None
        return jsonify(ig)
