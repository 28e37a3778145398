"""The Send API: POST /{page-id}/messages (and /me/messages) with a Page token, or /{ig-id}/messages and
/me/messages on graph.instagram.com with an Instagram User token, plus message_attachments."""
import json

import requests
from flask import request

from . import media
from .errors import GraphError, missing_permission, param_error
from .events import message_event
from .state import MESSAGING_TASKS

SIZE_LIMITS = {"image": 8 * 1024 * 1024, "video": 25 * 1024 * 1024, "audio": 25 * 1024 * 1024,
               "file": 25 * 1024 * 1024}
SENDER_ACTIONS = ["typing_on", "typing_off", "mark_seen", "react", "unreact"]


def _body():
    if request.is_json:
        data = request.get_json(silent=True) or {}
    else:
        data = request.values.to_dict()
    out = {}
    for k, v in data.items():
        if isinstance(v, str) and v[:1] in "{[":
            try:
                v = json.loads(v)
            except ValueError:
                pass
        out[k] = v
    return out


def _usage_header(ig_id, count, limit, blocked=False):
    pct = min(100, int(count * 100 / max(limit, 1)))
    return {"X-Business-Use-Case-Usage": {ig_id: [{"type": "instagram", "call_count": pct, "total_cputime": 1,
                                                   "total_time": 1,
                                                   "estimated_time_to_regain_access": 1 if blocked else 0}]}}


def rate_check(ctx, ig_id, bucket, limit):
    ok, count = ctx.store.rate_hit(ig_id, bucket, limit)
    if not ok:
        raise GraphError(613, "Calls to this api have exceeded the rate limit.", subcode=2534040,
                         headers={k: json.dumps(v) for k, v in _usage_header(ig_id, count, limit, True).items()})
    return _usage_header(ig_id, count, limit)


def page_access(ctx, page):
    """Facebook Login: the checks of a send through a Page token; returns the IG account."""
    if ctx.token["kind"] != "page":
        raise GraphError(190, "(#190) This method must be called with a Page Access Token")
    store = ctx.store
    with store.lock:
        ig = store.igs.get(page["ig_id"]) if page["ig_id"] else None
        if ig is None or ig["kind"] == "personal":
            raise GraphError(100, "The page is not linked to an Instagram account", subcode=2534013)
        if not ctx.perm("instagram_manage_messages"):
            raise missing_permission("(#10) Application does not have permission for this action: requires the "
                                     "instagram_manage_messages permission")
        if not store.has_task(ctx.user, page["id"], MESSAGING_TASKS):
            raise missing_permission("(#10) The user must be able to perform the MESSAGING task on this Page")
        if not ig["dm_access"]:
            raise GraphError(200, "The account owner has disabled access to instagram direct messages",
                             subcode=2534041)
        return ig


def _sniff(data, content_type):
    head = data[:16]
    if head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8\xff") or head.startswith(b"GIF8"):
        return {"image"}
    if head.startswith(b"%PDF"):
        return {"file"}
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return {"audio"}
    if head[4:8] == b"ftyp":
        return {"video", "audio"}
    if head.startswith(b"\x1a\x45\xdf\xa3") or head.startswith(b"OggS"):
        return {"video", "audio"}
    if head[:2] in (b"\xff\xf1", b"\xff\xf9"):
        return {"audio"}
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct.startswith("image/"):
        return {"image"}
    if ct.startswith("video/"):
        return {"video"}
    if ct.startswith("audio/"):
        return {"audio"}
    if ct == "application/pdf":
        return {"file"}
    return set()


def fetch_media(ctx, kind, url):
    """Fetch like Meta does; returns a new CDN asset or raises 2018008 / 2018047 / 2018109."""
    store, s = ctx.store, ctx.settings
    limit = SIZE_LIMITS[kind]
    own = media.lookup_asset_from_url(store, url) if url else None
    if own is not None:
        if not media.asset_alive(store, own):
            raise GraphError(100, "(#100) Failed to fetch the file from the url", subcode=2018008)
        data, ctype = media.asset_bytes(own), own["content_type"]
    else:
        if not url or not url.startswith(("http://", "https://")):
            raise GraphError(100, "(#100) Failed to fetch the file from the url", subcode=2018008)
        try:
            with requests.get(url, timeout=s["SANDBOX_MEDIA_FETCH_TIMEOUT"], stream=True) as r:
                if r.status_code != 200:
                    raise GraphError(100, "(#100) Failed to fetch the file from the url", subcode=2018008)
                ctype = r.headers.get("Content-Type", "")
                data = b""
                for chunk in r.iter_content(65536):
                    data += chunk
                    if len(data) > limit:
                        break
        except requests.RequestException:
            raise GraphError(100, "(#100) Failed to fetch the file from the url", subcode=2018008)
    if len(data) > limit:
        raise GraphError(100, "(#100) Attachment size exceeds allowable limit", subcode=2018109)
    if kind not in _sniff(data, ctype):
        raise GraphError(100, f"(#100) Attachment type mismatch: the file is not a valid {kind}", subcode=2018047)
    sniffed = ctype.split(";")[0] if ctype and "octet" not in ctype else None
    return media.create_asset(store, data=data, content_type=sniffed or
                              {"image": "image/png", "video": "video/mp4", "audio": "audio/mp4",
                               "file": "application/pdf"}[kind], ttl=s["SANDBOX_MEDIA_TTL_SECONDS"])


def _recipient_thread(ctx, ig, body):
    rid = (body.get("recipient") or {}).get("id") if isinstance(body.get("recipient"), dict) else None
    pair = ctx.store.igsids.get(str(rid)) if rid else None
    if not pair or pair[0] != ig["id"]:
        raise GraphError(100, "No matching Instagram user", subcode=2534014)
    return ctx.store.thread_for(pair[0], pair[1], create=False)


def _record_sent(ctx, ig, th, **kw):
    rec = {"time": ctx.store.now(), "account": ig["id"], "account_username": ig["username"],
           "page_id": ig["page_id"], "recipient": th["igsid"], "customer": th["customer"], "kind": "message",
           "text": None, "attachments": [], "tag": None, "messaging_type": None, "mid": None,
           "reply_to": None, "sender_action": None, "reaction": None}
    rec.update(kw)
    ctx.store.sent.append(rec)
    return rec


def _sender_action(ctx, ig, th, body, action):
    store = ctx.store
    if action not in SENDER_ACTIONS:
        raise param_error(f"(#100) Param sender_action must be one of {{{', '.join(SENDER_ACTIONS)}}}")
    if body.get("message"):
        raise param_error("(#100) sender_action can only be sent with recipient (and payload for reactions)")
    headers = rate_check(ctx, ig["id"], "text", ctx.settings["SANDBOX_RATE_LIMIT_PER_SECOND"])
    with store.lock:
        reaction = None
        if action in ("react", "unreact"):
            payload = body.get("payload") or {}
            target = store.messages.get(payload.get("message_id", ""))
            if target is None or target["thread"] != th["id"]:
                raise param_error("(#100) Param payload[message_id] must be a message in this conversation")
            if action == "react":
                reaction = payload.get("reaction") or "love"
                target["reactions"]["business"] = reaction
            else:
                target["reactions"].pop("business", None)
        elif action == "mark_seen":
            th["business_seen_at"] = store.now()
        _record_sent(ctx, ig, th, kind="reaction" if reaction or action == "unreact" else "sender_action",
                     sender_action=action, reaction=reaction,
                     mid=(body.get("payload") or {}).get("message_id"))
    return {"recipient_id": th["igsid"]}, headers


def ig_access(ctx, ig):
    """Instagram Login: the checks of a send with the account's own Instagram User token."""
    if "instagram_business_manage_messages" not in ctx.token.get("scopes", ()):
        raise missing_permission("(#10) Application does not have permission for this action: requires the "
                                 "instagram_business_manage_messages permission")
    if not ig["dm_access"]:
        raise GraphError(200, "The account owner has disabled access to instagram direct messages",
                         subcode=2534041)
    return ig


def handle(ctx, ig):
    """POST …/messages once the caller's access checks gave the account."""
    store, s = ctx.store, ctx.settings
    body = _body()
    with store.lock:
        th = _recipient_thread(ctx, ig, body)
    if body.get("sender_action"):
        return _sender_action(ctx, ig, th, body, body["sender_action"])
    msg = body.get("message")
    if not isinstance(msg, dict) or not msg:
        raise param_error("(#100) The parameter message is required")
    if th.get("owner", "keloa") != "keloa":  # Conversation Routing gave the thread to another app
        raise GraphError(10, "(#10) This app is not the thread owner: another app controls this conversation")
    mtype = body.get("messaging_type") or ("MESSAGE_TAG" if body.get("tag") else "RESPONSE")
    if mtype not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
        raise param_error("(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
    tag = body.get("tag")
    if mtype == "MESSAGE_TAG" and tag != "HUMAN_AGENT":
        raise param_error("(#100) Param tag must be HUMAN_AGENT for Instagram messaging" if tag else
                          "(#100) Tag is required for MESSAGE_TAG messaging type")
    text = msg.get("text")
    atts = msg.get("attachments") or ([msg["attachment"]] if msg.get("attachment") else [])
    if text is None and not atts:
        raise param_error("(#100) The parameter message must have text or an attachment")
    if text is not None and len(str(text).encode("utf-8")) > 1000:
        raise param_error("(#100) Length of param message[text] must be less than or equal to 1000")
    if len(atts) > 10:
        raise param_error("(#100) A message can carry at most 10 attachments")
    heavy = any(a.get("type") in ("video", "audio") for a in atts)
    headers = rate_check(ctx, ig["id"], "media" if heavy else "text",
                         s["SANDBOX_MEDIA_RATE_LIMIT_PER_SECOND"] if heavy else s["SANDBOX_RATE_LIMIT_PER_SECOND"])
    with store.lock:
        last = th["last_customer_ts"]
        age = float("inf") if last is None else store.now() - last
        if tag == "HUMAN_AGENT":
            if age > s["SANDBOX_HUMAN_AGENT_DAYS"] * 86400:
                raise GraphError(10, "This message is sent outside of allowed window. Learn more about the new "
                                     "policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview",
                                 subcode=2018278)
        elif age > s["SANDBOX_WINDOW_HOURS"] * 3600:
            raise GraphError(10, "This message is sent outside of allowed window.", subcode=2534022)
    stored = []
    for a in atts:
        kind, payload = a.get("type"), a.get("payload") or {}
        if kind == "like_heart":
            stored.append({"type": "like_heart"})
            continue
        if kind not in SIZE_LIMITS:
            raise param_error(f"(#100) Param message[attachment][type] must be one of {{image, video, audio, file, "
                              f"like_heart}} - got \"{kind}\"")
        if payload.get("attachment_id"):
            asset_id = store.attachments.get(str(payload["attachment_id"]))
            if asset_id is None:
                raise param_error("(#100) Invalid attachment_id")
        else:
            asset_id = fetch_media(ctx, kind, payload.get("url"))["id"]
        stored.append({"type": kind, "asset_id": asset_id, "source_url": payload.get("url")})
    reply_to = body.get("reply_to") if isinstance(body.get("reply_to"), dict) else None
    with store.lock:
        m = store.add_message(th, True, text=text, tag=tag, messaging_type=mtype,
                              attachments=[{k: v for k, v in a.items() if k != "source_url"} for a in stored],
                              reply_to={"mid": reply_to["mid"]} if reply_to and reply_to.get("mid") else None)
        cdn = [media.attachment_payload(store, a) for a in m["attachments"]]
        _record_sent(ctx, ig, th, text=text, tag=tag, messaging_type=mtype, mid=m["mid"],
                     reply_to=m["reply_to"], attachments=[dict(c, source_url=a.get("source_url"))
                                                          for c, a in zip(cdn, stored)])
        event = message_event(store, th, m)
    ctx.sb.webhooks.emit(ig["id"], event, field="messages")
    return {"recipient_id": th["igsid"], "message_id": m["mid"]}, headers


def upload(ctx, ig):
    """POST /{page-id}/message_attachments {platform, message:{attachment:{type, payload:{url}}}}."""
    body = _body()
    att = (body.get("message") or {}).get("attachment") or {}
    kind = att.get("type")
    if kind not in SIZE_LIMITS:
        raise param_error("(#100) Param message[attachment][type] must be one of {image, video, audio, file}")
    asset = fetch_media(ctx, kind, (att.get("payload") or {}).get("url"))
    with ctx.store.lock:
        att_id = ctx.store.new_digits("7", 16)
        ctx.store.attachments[att_id] = asset["id"]
    return {"attachment_id": att_id}
