"""The Instagram API with Instagram Login: the authorization window, the token endpoints and
graph.instagram.com, for professional accounts with or without a Facebook Page.

Where Meta's hosts differ, the sandbox serves them under its own prefixes:

* `www.instagram.com/oauth/authorize`      -> `/instagram/oauth/authorize`
* `api.instagram.com/oauth/access_token`   -> `/instagram/oauth/access_token`
* `graph.instagram.com/...`                -> `/instagram/graph/...`

What each answers, and Meta's page it follows, is in README.md ("Instagram Login").
"""
import secrets
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, redirect, render_template, request

from . import conversations, profile, send, tokens
from .errors import GraphError, nonexisting_field, param_error, unknown_object
from .fields import parse_fields
from .subscriptions import parse_field_list

bp = Blueprint("instagram", __name__, url_prefix="/instagram")

# Instagram-object webhook fields a Business Login account subscribes to (Meta's "Instagram webhook
# fields and permissions" page); `messaging_seen` is valid here, unlike on a Page.
INSTAGRAM_FIELDS = ["comments", "live_comments", "mentions", "message_edit", "message_reactions", "messages",
                    "messaging_handover", "messaging_optins", "messaging_postbacks", "messaging_referral",
                    "messaging_seen", "standby", "story_insights"]
ACCOUNT_TYPES = {"business": "BUSINESS", "creator": "MEDIA_CREATOR"}


def _sb():
    return current_app.extensions["meta_sandbox"]


def _oauth_error(message, status=400, error_type="OAuthException"):
    """api.instagram.com's error shape: {"error_type", "code", "error_message"}."""
    return jsonify({"error_type": error_type, "code": status, "error_message": message}), status


def _with_params(uri, params):
    sep = "&" if "?" in uri else "?"
    return uri + sep + urlencode(params) + "#_"  # Meta appends #_ to the redirect


# --- the authorization window -------------------------------------------------------------------

@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize():
    from .oauth import _redirect_allowed

    sb = _sb()
    store, s = sb.store, sb.settings
    p = request.values
    client_id, redirect_uri, state = p.get("client_id", ""), p.get("redirect_uri", ""), p.get("state")
    if client_id != s["SANDBOX_IG_APP_ID"]:
        return render_template("dialog_error.html", message="Invalid platform app: the client_id is not an "
                               "Instagram app ID."), 400
    if not redirect_uri or not _redirect_allowed(s, redirect_uri):
        return render_template("dialog_error.html", message="Invalid redirect_uri: it is not one of the app's "
                               "Valid OAuth Redirect URIs."), 400
    if p.get("response_type", "code") != "code":
        return render_template("dialog_error.html", message="response_type must be code."), 400
    scopes = [x for x in p.get("scope", "").replace(" ", ",").split(",") if x]
    if "instagram_business_basic" not in scopes:
        return render_template("dialog_error.html", message="Invalid scope: instagram_business_basic is "
                               "required."), 400
    if request.method == "GET":
        with store.lock:
            accounts = [ig for ig in store.igs.values()]
        return render_template("instagram_dialog.html", accounts=accounts, scopes=scopes, params=p,
                               app_name=s["SANDBOX_APP_NAME"])
    base = {} if state is None else {"state": state}
    if p.get("action") == "cancel":
        return redirect(_with_params(redirect_uri, {"error": "access_denied", "error_reason": "user_denied",
                                                    "error_description": "The user denied your request.", **base}))
    with store.lock:
        ig = store.igs.get(p.get("account", ""))
        if ig is None:
            return render_template("dialog_error.html", message="Pick the account to log in with."), 400
        if ig["kind"] == "personal":
            return render_template("dialog_error.html", message="This is a personal account. Switch it to a "
                                   "professional account (business or creator) in the Instagram app first."), 400
        ticked = set(request.form.getlist("perm"))
        for scope in scopes:
            ig["ig_perms"][scope] = "granted" if scope in ticked or scope == "instagram_business_basic" \
                else "declined"
        ig["ig_app_removed"] = False
        code = "AQ" + secrets.token_urlsafe(96)
        store.codes[code] = {"code": code, "ig_id": ig["id"], "user_id": None, "client_id": client_id,
                             "redirect_uri": redirect_uri, "created": store.now(), "used": False,
                             "scopes": [sc for sc in scopes if ig["ig_perms"].get(sc) == "granted"]}
    return redirect(_with_params(redirect_uri, {"code": code, **base}))


@bp.post("/oauth/access_token")
def access_token():
    """api.instagram.com: the code for a short-lived Instagram User token (1 hour)."""
    sb = _sb()
    store, s = sb.store, sb.settings
    p = request.form
    if p.get("client_id") != s["SANDBOX_IG_APP_ID"]:
        return _oauth_error("Invalid platform app")
    if p.get("client_secret") != s["SANDBOX_IG_APP_SECRET"]:
        return _oauth_error("Error validating client secret.")
    if p.get("grant_type") != "authorization_code":
        return _oauth_error("Unsupported grant_type: must be authorization_code")
    with store.lock:
        rec = store.codes.get((p.get("code") or "").removesuffix("#_"))
        if rec is None or not rec.get("ig_id"):
            return _oauth_error("Invalid authorization code")
        if rec["used"]:
            return _oauth_error("This authorization code has been used")
        if store.now() - rec["created"] > s["SANDBOX_CODE_TTL_SECONDS"]:
            return _oauth_error("This authorization code has expired")
        if p.get("redirect_uri", "") != rec["redirect_uri"]:
            return _oauth_error("Error validating verification code. Please make sure your redirect_uri is "
                                "identical to the one you used in the OAuth dialog request")
        rec["used"] = True
        new = tokens.issue_ig_token(store, store.igs[rec["ig_id"]], rec["scopes"], long_lived=False)
    _record(sb, 200)
    return jsonify({"data": [{"access_token": new["token"], "user_id": rec["ig_id"],
                              "permissions": ",".join(rec["scopes"])}]})


# --- graph.instagram.com ------------------------------------------------------------------------

def _record(sb, status, error=None):
    from .graph import record_call
    record_call(sb, status, error)


def _answer(sb, fn):
    try:
        body = fn()
        if isinstance(body, tuple):
            from .graph import _with_headers
            resp = _with_headers(*body)
        else:
            resp = jsonify(body)
        _record(sb, resp.status_code)
        return resp
    except GraphError as e:
        _record(sb, e.status, {"code": e.code, "error_subcode": e.subcode, "message": e.message})
        return e.response()


def _token_answer(rec, store):
    return {"access_token": rec["token"], "token_type": "bearer",
            "expires_in": int(round(rec["expires_at"] - store.now()))}


@bp.get("/graph/access_token")
@bp.get("/graph/<ver:ver>/access_token")
def exchange(ver=None):
    """GET ?grant_type=ig_exchange_token&client_secret&access_token: a long-lived token (60 days)."""
    sb = _sb()
    store, s = sb.store, sb.settings

    def run():
        if request.args.get("grant_type") != "ig_exchange_token":
            raise param_error("Unsupported grant_type: must be ig_exchange_token")
        if request.args.get("client_secret") != s["SANDBOX_IG_APP_SECRET"]:
            raise GraphError(101, "Error validating client secret.", type_="IGApiException")
        rec = tokens.check_ig(store, request.args.get("access_token"))
        if rec["long_lived"]:
            raise param_error("(#100) The access token is already long-lived: refresh it instead")
        new = tokens.issue_ig_token(store, store.igs[rec["ig_id"]], rec["scopes"], long_lived=True)
        return _token_answer(new, store)
    return _answer(sb, run)


@bp.get("/graph/refresh_access_token")
@bp.get("/graph/<ver:ver>/refresh_access_token")
def refresh(ver=None):
    """GET ?grant_type=ig_refresh_token&access_token: a long-lived token at least 24 hours old and not
    expired is renewed for 60 days from now."""
    sb = _sb()
    store, s = sb.store, sb.settings

    def run():
        if request.args.get("grant_type") != "ig_refresh_token":
            raise param_error("Unsupported grant_type: must be ig_refresh_token")
        rec = tokens.check_ig(store, request.args.get("access_token"))
        if not rec["long_lived"]:
            raise param_error("(#100) Only a long-lived access token can be refreshed")
        if store.now() - rec["created"] < s["SANDBOX_IG_REFRESH_MIN_AGE_SECONDS"]:
            raise param_error("(#100) The access token can be refreshed once it is at least 24 hours old")
        if store.faults["ig_refresh_fails"]:
            raise GraphError(2, "An unexpected error has occurred. Please retry your request later.",
                             status=500, type_="IGApiException")
        if store.faults["ig_refresh_refused"]:
            raise param_error("(#100) This access token cannot be refreshed")
        new = tokens.issue_ig_token(store, store.igs[rec["ig_id"]], rec["scopes"], long_lived=True)
        return _token_answer(new, store)
    return _answer(sb, run)


class IgCtx:
    """One graph.instagram.com request: the account whose token it carries."""

    def __init__(self, sb, rec):
        self.sb, self.store, self.settings, self.token = sb, sb.store, sb.settings, rec
        self.user, self.page = None, None
        self.ig = sb.store.igs[rec["ig_id"]]
        self.fields = parse_fields(request.values.get("fields"))

    def perm(self, name):
        return name in self.token.get("scopes", ())


@bp.route("/graph/<ver:ver>/<path:rest>", methods=["GET", "POST", "DELETE"])
def graph(ver, rest):
    sb = _sb()

    def run():
        ctx = IgCtx(sb, tokens.check_ig(sb.store, tokens.token_from_request()))
        return dispatch(ctx, [x for x in rest.strip("/").split("/") if x])
    try:
        return _answer(sb, run)
    except Exception:  # a sandbox bug: answer like Graph's unknown error
        current_app.logger.exception("sandbox error on %s %s", request.method, request.path)
        return GraphError(1, "An unknown error occurred", status=500).response()


def dispatch(ctx, segs):
    store, method, ig = ctx.store, request.method, ctx.ig
    obj, edge = segs[0], (segs[1] if len(segs) > 1 else None)
    if obj in ("me", ig["id"]) and edge == "messages" and method == "POST" and len(segs) == 2:
        return send.handle(ctx, send.ig_access(ctx, ig))
    with store.lock:
        if obj in ("me", ig["id"]):
            if edge is None and method == "GET":
                return me(ctx)
            if edge == "subscribed_apps":
                return subscribed_apps(ctx)
            if edge == "conversations" and method == "GET":
                if request.args.get("platform") not in (None, "instagram"):
                    return {"data": []}
                return conversations.account_conversations(
                    ctx, ig, conversations.conv_access(ctx, ig["id"], ig["id"]))
            if edge == "messenger_profile":
                if "instagram_business_manage_messages" not in ctx.token["scopes"]:
                    raise GraphError(10, "(#10) Application does not have permission for this action: requires "
                                         "the instagram_business_manage_messages permission")
                return profile.ice_breakers(ig)
            raise nonexisting_field(edge, "IGUser")
        if obj in store.igsids:
            return conversations.profile(ctx, obj, edge)
        if obj in store.threads:
            return conversations.conversation_node(ctx, store.threads[obj], edge)
        if obj in store.messages:
            return conversations.message_node(ctx, store.messages[obj], edge)
    raise unknown_object(obj, method.lower())


def me(ctx):
    """GET /me: `user_id` is the professional account's id (the one webhooks carry as entry.id),
    `id` the app-scoped id of the app user."""
    from .graph import render_ig, select

    ig = ctx.ig
    full = render_ig(ctx, ig, None, ("id", "username", "name", "profile_picture_url", "followers_count",
                                     "follows_count", "media_count", "biography", "website"))
    full.update({"id": ig["app_scoped_id"], "user_id": ig["id"], "account_type": ACCOUNT_TYPES[ig["kind"]]})
    return select(full, ctx.fields, ["id", "username"])


def subscribed_apps(ctx):
    ig, method = ctx.ig, request.method
    if method == "GET":
        fields = ig["ig_subscribed_fields"]
        return {"data": [{"id": ctx.settings["SANDBOX_IG_APP_ID"], "name": ctx.settings["SANDBOX_APP_NAME"],
                          "subscribed_fields": list(fields)}] if fields else []}
    if method == "DELETE":
        ig["ig_subscribed_fields"] = []
        ig["ig_unsubscribed_reason"] = "deleted through the API"
        return {"success": True}
    fields = parse_field_list(request.values.get("subscribed_fields"))
    if not fields:
        raise param_error("(#100) The parameter subscribed_fields is required")
    for i, f in enumerate(fields):
        if f not in INSTAGRAM_FIELDS:
            raise param_error(f"(#100) Param subscribed_fields[{i}] must be one of {{{', '.join(INSTAGRAM_FIELDS)}}}"
                              f" - got \"{f}\".")
    messaging = {"messages", "message_reactions", "messaging_postbacks", "messaging_referral", "messaging_seen",
                 "message_edit", "messaging_handover", "messaging_optins", "standby"}
    if set(fields) & messaging and "instagram_business_manage_messages" not in ctx.token["scopes"]:
        raise GraphError(10, "(#10) Application does not have permission for this action: requires the "
                             "instagram_business_manage_messages permission")
    ig["ig_subscribed_fields"] = list(dict.fromkeys(fields))
    ig["ig_unsubscribed_reason"] = None
    if ctx.settings["SANDBOX_VERIFY_ON_SUBSCRIBE"]:
        ctx.sb.webhooks.verify_async(reason=f"subscribed_apps POST for Instagram account {ig['id']}")
    return {"success": True}
