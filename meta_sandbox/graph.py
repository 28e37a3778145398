"""Graph API routing: /{ver}/{object}[/{edge}] with token check, nodes and the /me edges."""
import base64
import json

from flask import Blueprint, current_app, jsonify, request

from . import conversations, media, profile, send, subscriptions, tokens
from .errors import GraphError, missing_permission, nonexisting_field, unknown_object
from .fields import parse_fields
from .state import LISTING_TASKS, normalise_task

bp = Blueprint("graph", __name__)
SECRET_PARAMS = {"access_token", "client_secret", "fb_exchange_token", "appsecret_proof", "code",
                 "code_verifier", "input_token"}


def sandbox():
    return current_app.extensions["meta_sandbox"]


class Ctx:
    """One Graph request: store, settings, the token record and who it belongs to."""

    def __init__(self, sb, rec):
        self.sb, self.store, self.settings, self.token = sb, sb.store, sb.settings, rec
        self.user = sb.store.users.get(rec.get("user_id")) if rec.get("user_id") else None
        self.page = sb.store.pages.get(rec.get("page_id")) if rec.get("page_id") else None
        self.fields = parse_fields(request.values.get("fields"))

    def perm(self, name):
        return self.user is not None and self.store.perm_granted(self.user, name)

    def require_perms(self, *names):
        for n in names:
            if not self.perm(n):
                raise missing_permission(f"(#10) Application does not have permission for this action: "
                                         f"requires the {n} permission")

    def page_visible(self, page):
        """A Page the token may act on: its own page token, or a user with a role who shared it."""
        if self.page is not None:
            return self.page["id"] == page["id"]
        if self.user is None:
            return False
        if not self.store.tasks(self.user, page["id"]):
            return False
        granted = self.user.get("granted_pages")
        return granted is None or page["id"] in granted


def redact(values):
    return {k: ("[redacted]" if k in SECRET_PARAMS else v) for k, v in values.items()}


def record_call(sb, status, error=None):
    body = None
    if request.is_json:
        raw = request.get_json(silent=True)
        body = redact(raw) if isinstance(raw, dict) else raw
    params = redact(request.values.to_dict())
    if request.authorization:
        params["authorization"] = "[redacted]"
    with sb.store.lock:
        sb.store.calls.append({"time": sb.store.now(), "method": request.method, "path": request.path,
                               "params": params, "body": body, "status": status, "error": error,
                               # which parameters came in the URL (what a proxy or server would log)
                               "query_keys": sorted(request.args.keys())})


# --- node renderers ----------------------------------------------------------------------

def select(full, fields, default):
    """Keep the requested fields (unknown ones are left out), default set when none asked.
    Like Graph, a node always carries its id."""
    wanted = list(fields) if fields else list(default)
    if "id" in full and "id" not in wanted:
        wanted.append("id")
    return {k: full[k] for k in wanted if k in full}


def render_ig(ctx, ig, fields=None, default=("id",)):
    if ig["kind"] == "personal":
        return {"id": ig["id"]}
    pic = media.shared_asset(ctx.store, ig["picture"], ctx.settings["SANDBOX_PROFILE_PIC_TTL_SECONDS"], "profile_pic")
    full = {"id": ig["id"], "ig_id": int(ig["id"][-8:]), "username": ig["username"], "name": ig["name"],
            "profile_picture_url": media.asset_url(ctx.settings, pic), "followers_count": ig["followers_count"],
            "follows_count": 12, "media_count": 42, "biography": f"{ig['name']} (sandbox)", "website": None}
    return select(full, fields, list(default))


def render_page(ctx, page, fields=None, default=("id", "name")):
    store = ctx.store
    full = {"id": page["id"], "name": page["name"], "category": page["category"],
            "category_list": [{"id": "2200", "name": page["category"]}],
            "link": f"{ctx.settings['SANDBOX_PUBLIC_URL']}/pages/{page['id']}"}
    if ctx.user is not None:
        full["tasks"] = store.tasks(ctx.user, page["id"])
        if ctx.token["kind"] == "user" and ctx.page_visible(page):
            full["access_token"] = tokens.page_token_for(store, ctx.token, page)["token"]
    ig = store.igs.get(page["ig_id"]) if page["ig_id"] else None
    if ig and (ctx.perm("instagram_basic") or ctx.token["kind"] == "page"):
        sub = (fields or {}).get("instagram_business_account") or (fields or {}).get("connected_instagram_account")
        if ig["kind"] in ("business", "creator"):
            full["instagram_business_account"] = render_ig(ctx, ig, sub)
        full["connected_instagram_account"] = {"id": ig["id"]} if ig["kind"] == "personal" \
            else render_ig(ctx, ig, sub)
    return select(full, fields, list(default))


def paginate(items, default_limit=25):
    try:
        limit = max(1, min(int(request.args.get("limit", default_limit) or default_limit), 100))
        after = request.args.get("after")
        start = int(base64.b64decode(after).decode()) if after else 0
    except ValueError:
        raise GraphError(100, "(#100) Invalid limit or cursor")
    chunk = items[start:start + limit]
    out = {"data": chunk}
    if items:
        out["paging"] = {"cursors": {"before": base64.b64encode(str(start).encode()).decode(),
                                     "after": base64.b64encode(str(start + len(chunk)).encode()).decode()}}
        if start + limit < len(items):
            args = request.args.to_dict()
            args["after"] = out["paging"]["cursors"]["after"]
            args["limit"] = str(limit)
            from urllib.parse import urlencode
            out["paging"]["next"] = (f"{sandbox().settings['SANDBOX_PUBLIC_URL']}{request.path}?"
                                     + urlencode(args))
    return out


# --- edges of /me -------------------------------------------------------------------------

def me_accounts(ctx):
    if ctx.user is None or ctx.token["kind"] != "user":
        raise nonexisting_field("accounts", "Page")
    if not ctx.perm("pages_show_list"):
        return {"data": []}
    pages = []
    for pid, tasks in ctx.user["page_tasks"].items():
        page = ctx.store.pages.get(pid)
        if page and {normalise_task(t) for t in tasks} & LISTING_TASKS and ctx.page_visible(page):
            pages.append(render_page(ctx, page, ctx.fields,
                                     ("access_token", "category", "category_list", "name", "id", "tasks")))
    return paginate(pages)


def permissions(ctx, user):
    if request.method == "DELETE":
        perm = request.view_args["rest"].strip("/").split("/")[2:3]
        with ctx.store.lock:
            if perm:
                user["perms"][perm[0]] = "declined"
            else:
                user["perms"] = {}
                user["app_removed"] = True
        return {"success": True}
    return {"data": [{"permission": k, "status": v} for k, v in user["perms"].items()]}


# --- the dispatcher ----------------------------------------------------------------------

@bp.route("/<ver:ver>/<path:rest>", methods=["GET", "POST", "DELETE"])
def graph(ver, rest):
    sb = sandbox()
    try:
        rec = tokens.check(sb.store, tokens.token_from_request())
        ctx = Ctx(sb, rec)
        body = dispatch(ctx, [s for s in rest.strip("/").split("/") if s])
        resp = jsonify(body) if not isinstance(body, tuple) else _with_headers(*body)
        record_call(sb, resp.status_code)
        return resp
    except GraphError as e:
        record_call(sb, e.status, {"code": e.code, "error_subcode": e.subcode, "message": e.message})
        return e.response()
    except Exception:  # a sandbox bug: answer like Graph's unknown error, keep the traceback in the log
        current_app.logger.exception("sandbox error on %s %s", request.method, request.path)
        e = GraphError(1, "An unknown error occurred", status=500)
        record_call(sb, 500, {"code": 1, "message": "sandbox exception (see its log)"})
        return e.response()


def _with_headers(body, headers):
    resp = jsonify(body)
    for k, v in headers.items():
        resp.headers[k] = v if isinstance(v, str) else json.dumps(v)
    return resp


def dispatch(ctx, segs):
    store, method = ctx.store, request.method
    obj, edge = segs[0], (segs[1] if len(segs) > 1 else None)
    if method == "POST" and edge in ("messages", "message_attachments") and len(segs) == 2:
        # Sends fetch media over the network: they take the lock only around state changes.
        with store.lock:
            page = ctx.page if obj == "me" else store.pages.get(obj)
            if obj == "me" and page is None:
                raise GraphError(190, "(#190) This method must be called with a Page Access Token")
            if page is None:
                raise unknown_object(obj, "post")
            if not ctx.page_visible(page):
                raise unknown_object(obj, "post")
        ig = send.page_access(ctx, page)
        return send.handle(ctx, ig) if edge == "messages" else send.upload(ctx, ig)
    with store.lock:
        if obj == "me":
            if ctx.page is not None:
                obj = ctx.page["id"]
            elif ctx.user is not None:
                obj = ctx.user["id"]
            else:
                raise GraphError(2500, "An active access token must be used to query information about the current user.")
        if obj in store.users:
            user = store.users[obj]
            if ctx.user is None or ctx.user["id"] != user["id"]:
                raise unknown_object(obj, method.lower())
            if edge is None and method == "GET":
                return select({"id": user["id"], "name": user["name"]}, ctx.fields, ["id", "name"])
            if edge == "accounts" and method == "GET":
                return me_accounts(ctx)
            if edge == "permissions":
                return permissions(ctx, user)
            if edge == "messages":
                raise GraphError(190, "(#190) This method must be called with a Page Access Token")
            raise nonexisting_field(edge, "User")
        if obj in store.pages:
            return page_node(ctx, store.pages[obj], edge)
        if obj in store.igs:
            ig = store.igs[obj]
            page = store.pages.get(ig["page_id"])
            if ig["kind"] == "personal" or page is None or not ctx.page_visible(page) or method != "GET":
                raise unknown_object(obj, method.lower())
            if edge is not None:
                raise nonexisting_field(edge, "IGUser")
            if ctx.token["kind"] == "user":
                ctx.require_perms("instagram_basic")
            return render_ig(ctx, ig, ctx.fields, ("id",))
        if obj in store.igsids:
            return conversations.profile(ctx, obj, edge)
        if obj in store.threads:
            return conversations.conversation_node(ctx, store.threads[obj], edge)
        if obj in store.messages:
            return conversations.message_node(ctx, store.messages[obj], edge)
    raise unknown_object(obj, method.lower())


def page_node(ctx, page, edge):
    method = request.method
    if not ctx.page_visible(page):
        raise unknown_object(page["id"], method.lower())
    if edge is None:
        if method != "GET":
            raise unknown_object(page["id"], method.lower())
        return render_page(ctx, page, ctx.fields, ("id", "name"))
    if edge == "subscribed_apps":
        return subscriptions.handle(ctx, page)
    if edge == "messenger_profile":
        return profile.handle(ctx, page)
    if edge == "conversations" and method == "GET":
        return conversations.list_conversations(ctx, page)
    raise nonexisting_field(edge, "Page")
