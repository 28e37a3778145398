"""Conversations API (backfill) and the IGSID user-profile lookup, through a Page token (Facebook Login)
or the account's Instagram User token (Instagram Login)."""
from flask import request

from . import media
from .errors import GraphError, missing_permission, nonexisting_field, unknown_object
from .send import rate_check
from .state import MESSAGING_TASKS, MODERATE_TASKS, iso

DETAIL_LIMIT = 20
IG_MESSAGING_SCOPES = ("instagram_business_basic", "instagram_business_manage_messages")


def _page_token_for_ig(ctx, ig_id, obj_id):
    page = ctx.store.page_for_ig(ig_id)
    if ctx.token["kind"] != "page" or page is None or ctx.page is None or ctx.page["id"] != page["id"]:
        raise unknown_object(obj_id)
    return page


def _ig_token_for(ctx, ig_id, obj_id):
    """Instagram Login: the account's own token reaches its own conversations and customers only."""
    if ctx.token.get("ig_id") != ig_id:
        raise unknown_object(obj_id)
    missing = [n for n in IG_MESSAGING_SCOPES if n not in ctx.token.get("scopes", ())]
    if missing:
        raise missing_permission(f"(#10) Application does not have permission for this action: requires the "
                                 f"{missing[0]} permission")
    return ctx.store.igs[ig_id]


def conv_access(ctx, ig_id, obj_id):
    """Who may read an account's conversations; returns the usage headers."""
    ig = ctx.store.igs[ig_id]
    if ctx.token["kind"] == "ig":
        _ig_token_for(ctx, ig_id, obj_id)
    else:
        page = _page_token_for_ig(ctx, ig_id, obj_id)
        ctx.require_perms("instagram_basic", "instagram_manage_messages", "pages_manage_metadata")
        if not ctx.store.has_task(ctx.user, page["id"], MESSAGING_TASKS | MODERATE_TASKS):
            raise missing_permission("(#10) The user must be able to perform the MESSAGING task on this Page")
    if not ig["dm_access"]:
        raise GraphError(200, "The account owner has disabled access to instagram direct messages", subcode=2534041)
    headers = rate_check(ctx, ig["id"], "conversations", ctx.settings["SANDBOX_CONVERSATIONS_RATE_PER_SECOND"])
    ig["conversations_called"] = True
    return headers


def _who(ctx, thread, business):
    ig = ctx.store.igs[thread["ig_id"]]
    if business:
        return {"username": ig["username"], "id": ig["id"]}
    cust = ctx.store.customers[thread["customer"]]
    return {"username": cust["username"], "id": thread["igsid"]}


def render_message(ctx, msg, fields, default=("id", "created_time")):
    store = ctx.store
    th = store.threads[msg["thread"]]
    full = {"id": msg["mid"], "created_time": iso(msg["ts"]),
            "from": _who(ctx, th, msg["from_business"]),
            "to": {"data": [_who(ctx, th, not msg["from_business"])]},
            "message": msg["text"] or ""}
    atts = [a for a in msg["attachments"] if a.get("asset_id") and a["type"] not in ("story_mention",)]
    if atts and fields and "attachments" in fields:
        data = []
        for a in atts:
            # Graph hands out a freshly signed CDN URL each time (the webhook's URL may have expired)
            orig = store.assets.get(a["asset_id"])
            if orig["deleted"]:
                continue
            asset = media.create_asset(store, file=orig["file"], data=orig["data"], content_type=orig["content_type"],
                                       ttl=ctx.settings["SANDBOX_MEDIA_TTL_SECONDS"], kind=orig["kind"])
            url = media.asset_url(ctx.settings, asset)
            size = len(media.asset_bytes(orig))
            if a["type"] in ("image",):
                data.append({"id": orig["id"], "mime_type": asset["content_type"], "size": size,
                             "image_data": {"url": url, "preview_url": url, "width": 64, "height": 64}})
            elif a["type"] in ("video", "ig_reel"):
                data.append({"id": orig["id"], "mime_type": asset["content_type"], "size": size,
                             "video_data": {"url": url, "preview_url": url, "width": 64, "height": 64}})
            else:
                data.append({"id": orig["id"], "mime_type": asset["content_type"], "size": size, "file_url": url,
                             "name": a["type"]})
        full["attachments"] = {"data": data}
    if msg.get("story"):
        story = {}
        for k, v in msg["story"].items():
            story[k] = {"link": media.asset_url(ctx.settings, store.assets[v["asset_id"]]), "id": v["id"]}
        full["story"] = story
    if msg.get("reply_to") and msg["reply_to"].get("mid"):
        target = store.messages.get(msg["reply_to"]["mid"])
        full["reply_to"] = {"mid": msg["reply_to"]["mid"],
                            "is_self_reply": bool(target and target["from_business"] == msg["from_business"])}
    if msg.get("is_unsupported"):
        full["is_unsupported"] = True
    wanted = list(fields) if fields else list(default)
    if "id" not in wanted:
        wanted.append("id")
    return {k: full[k] for k in wanted if k in full}


def _refuse_fields(ctx, fields):
    """Fault `refused_message_fields`: a field this API version or account does not have."""
    for name in fields or ():
        if name in ctx.store.faults["refused_message_fields"]:
            raise nonexisting_field(name, "Message")


def _messages_listing(ctx, thread, sub):
    _refuse_fields(ctx, sub)
    msgs = list(reversed(ctx.store.thread_messages(thread)))  # newest first, as Meta lists them
    out = []
    for i, m in enumerate(msgs):
        out.append(render_message(ctx, m, sub if i < DETAIL_LIMIT else None))
    from .graph import paginate
    return paginate(out)


def list_conversations(ctx, page):
    if ctx.token["kind"] != "page":
        raise GraphError(210, "(#210) A page access token is required to request this resource.")
    ig = ctx.store.igs.get(page["ig_id"]) if page["ig_id"] else None
    if request.args.get("platform") != "instagram":
        return {"data": []}  # Messenger conversations: none in the sandbox
    if ig is None or ig["kind"] == "personal":
        raise GraphError(100, "The page is not linked to an Instagram account", subcode=2534013)
    return account_conversations(ctx, ig, conv_access(ctx, ig["id"], page["id"]))


def account_conversations(ctx, ig, headers):
    """The account's conversations, newest first (after the caller's access checks)."""
    threads = [t for t in ctx.store.threads.values() if t["ig_id"] == ig["id"] and ctx.store.thread_messages(t)]
    if request.args.get("user_id"):
        threads = [t for t in threads if t["igsid"] == request.args["user_id"]]
    threads.sort(key=lambda t: t["updated"], reverse=True)
    items = []
    for t in threads:
        full = {"id": t["id"], "updated_time": iso(t["updated"]),
                "participants": {"data": [_who(ctx, t, True), _who(ctx, t, False)]}}
        if "messages" in ctx.fields:
            full["messages"] = _messages_listing(ctx, t, ctx.fields["messages"])
        wanted = list(ctx.fields) if ctx.fields else ["id", "updated_time"]
        items.append({k: full[k] for k in wanted if k in full})
    from .graph import paginate
    return paginate(items), headers


def conversation_node(ctx, thread, edge):
    headers = conv_access(ctx, thread["ig_id"], thread["id"])
    if thread["customer"] in ctx.store.faults["failing_conversations"]:
        raise GraphError(1, "(#1) An unknown error occurred")
    if edge == "messages":
        return _messages_listing(ctx, thread, ctx.fields or None), headers
    if edge is not None:
        raise nonexisting_field(edge, "Conversation")
    full = {"id": thread["id"], "updated_time": iso(thread["updated"]),
            "participants": {"data": [_who(ctx, thread, True), _who(ctx, thread, False)]}}
    if "messages" in ctx.fields:
        full["messages"] = _messages_listing(ctx, thread, ctx.fields["messages"])
    wanted = list(ctx.fields) if ctx.fields else ["id"]
    if "id" not in wanted:
        wanted.append("id")
    return {k: full[k] for k in wanted if k in full}, headers


def message_node(ctx, msg, edge):
    thread = ctx.store.threads[msg["thread"]]
    headers = conv_access(ctx, thread["ig_id"], msg["mid"])
    if edge is not None:
        raise nonexisting_field(edge, "Message")
    if msg["deleted"]:
        raise GraphError(100, "(#100) This message has been deleted.")
    _refuse_fields(ctx, ctx.fields)
    newest = [m["mid"] for m in reversed(ctx.store.thread_messages(thread))][:DETAIL_LIMIT]
    if msg["mid"] not in newest:
        raise GraphError(100, "(#100) This message has been deleted.",
                         user_msg="Only the 20 most recent messages of a conversation can be read.")
    return render_message(ctx, msg, ctx.fields or None), headers


def profile(ctx, igsid, edge):
    """GET /{IGSID}?fields=name,username,profile_pic,... with the Page token of the account."""
    store = ctx.store
    ig_id, ckey = store.igsids[igsid]
    if ctx.token["kind"] == "ig":
        _ig_token_for(ctx, ig_id, igsid)
        if edge is not None:
            raise nonexisting_field(edge, "InstagramUser")
    else:
        page = _page_token_for_ig(ctx, ig_id, igsid)
        if edge is not None:
            raise nonexisting_field(edge, "InstagramUser")
        ctx.require_perms("instagram_basic", "instagram_manage_messages", "pages_manage_metadata",
                          "pages_read_engagement", "pages_show_list")
        if not store.has_task(ctx.user, page["id"], MODERATE_TASKS):
            raise missing_permission("(#10) The user must be able to perform the MODERATE task on this Page")
    thread = store.thread_for(ig_id, ckey, create=False)
    if thread is None or not thread["consent"]:
        raise GraphError(230, "(#230) User consent is required to access user profile")
    cust = store.customers[ckey]
    pic = media.shared_asset(store, cust["picture"], ctx.settings["SANDBOX_PROFILE_PIC_TTL_SECONDS"], "profile_pic")
    full = {"id": igsid, "name": cust["name"], "username": cust["username"],
            "profile_pic": media.asset_url(ctx.settings, pic), "follower_count": cust["follower_count"],
            "is_user_follow_business": cust["follows"].get(ig_id, False),
            "is_business_follow_user": False, "is_verified_user": cust["is_verified_user"]}
    wanted = list(ctx.fields) if ctx.fields else ["name", "username", "profile_pic", "id"]
    return {k: full[k] for k in wanted if k in full}
