"""Customer actions and the messaging[] events they produce (shapes as in shared/meta/samples)."""
from . import media

FILES = {"image": "image.png", "video": "video.mp4", "audio": "audio.m4a", "file": "document.pdf"}
KINDS = ["text", "image", "video", "audio", "file", "story_reply", "story_mention", "share_post", "share_reel",
         "ig_story", "react", "unreact", "seen", "edit", "unsend", "postback", "referral", "unsupported",
         "ephemeral", "comment"]
EMOJI = {"love": "\u2764\ufe0f", "like": "\U0001f44d", "laugh": "\U0001f602", "wow": "\U0001f62e",
         "sad": "\U0001f622", "angry": "\U0001f620", "other": "\U0001f525"}


class ActionError(ValueError):
    pass


def message_body(store, msg):
    m = {"mid": msg["mid"]}
    if msg.get("deleted"):
        m["is_deleted"] = True
        return m
    if msg.get("text") is not None:
        m["text"] = msg["text"]
    if msg.get("attachments"):
        m["attachments"] = [media.attachment_payload(store, a) for a in msg["attachments"]]
    rt = msg.get("reply_to")
    if rt and rt.get("mid"):
        m["reply_to"] = {"mid": rt["mid"]}
    elif rt and rt.get("story"):
        asset = store.assets.get(rt["story"]["asset_id"])
        m["reply_to"] = {"story": {"url": media.asset_url(store.settings, asset), "id": rt["story"]["id"]}}
    if msg.get("is_unsupported"):
        m["is_unsupported"] = True
    if msg["from_business"]:
        m["is_echo"] = True
    return m


def message_event(store, thread, msg):
    ig_id, igsid = thread["ig_id"], thread["igsid"]
    sender, recipient = (ig_id, igsid) if msg["from_business"] else (igsid, ig_id)
    return {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": int(msg["ts"] * 1000),
            "message": message_body(store, msg)}


def _latest(store, thread, from_business):
    for msg in reversed(store.thread_messages(thread)):
        if msg["from_business"] == from_business:
            return msg
    return None


def _target(store, thread, mid, from_business, what):
    msg = store.messages.get(mid) if mid else _latest(store, thread, from_business)
    if msg is None or msg["thread"] != thread["id"] or msg["deleted"]:
        raise ActionError(f"no message to {what}" + (f" with mid {mid}" if mid else ""))
    return msg


def _asset(store, kind, ttl_key, file):
    return media.create_asset(store, file=file, ttl=store.settings[ttl_key], kind=kind)


def _first_ice_breaker(store, ig_id) -> tuple[str | None, str | None]:
    """The default locale's first question and payload the account's Page set (profile.py), if any."""
    page = store.page_for_ig(ig_id) or {}
    for locale in page.get("ice_breakers") or []:
        if locale.get("locale") == "default" and locale.get("call_to_actions"):
            first = locale["call_to_actions"][0]
            return first.get("question"), first.get("payload")
    return None, None


def customer_action(sb, account, customer, kind, text=None, mid=None, reaction=None, emoji=None, title=None,
                    payload=None, ref=None, reply_to=None, source=None):
    """Play the customer. Returns {"mid", "event", "delivery"}; raises ActionError on bad input."""
    store = sb.store
    if kind not in KINDS:
        raise ActionError(f"type must be one of {KINDS}")
    with store.lock:
        ig = store.ig_by_key(account)
        cust = store.customer_by_key(customer)
        if ig is None:
            raise ActionError(f"unknown account {account!r}")
        if cust is None:
            raise ActionError(f"unknown customer {customer!r}")
        th = store.thread_for(ig["id"], cust["key"])
        now, ms = store.now(), store.now_ms()
        base = {"sender": {"id": th["igsid"]}, "recipient": {"id": ig["id"]}, "timestamp": ms}
        event, msg = None, None
        if kind == "comment":
            return {"mid": None, "event": None, "delivery": None, "igsid": th["igsid"]}
        if kind == "text":
            msg = store.add_message(th, False, text=text or "Hello!",
                                    reply_to={"mid": reply_to} if reply_to else None)
        elif kind in FILES:
            a = _asset(store, kind, "SANDBOX_MEDIA_TTL_SECONDS", FILES[kind])
            msg = store.add_message(th, False, attachments=[{"type": kind, "asset_id": a["id"]}])
        elif kind == "story_reply":
            a = _asset(store, "story", "SANDBOX_STORY_TTL_SECONDS", "story.png")
            ref_ = {"asset_id": a["id"], "id": a["id"]}
            msg = store.add_message(th, False, text=text or "Love this story!", reply_to={"story": ref_},
                                    story={"reply_to": ref_})
        elif kind == "story_mention":
            a = _asset(store, "story", "SANDBOX_STORY_TTL_SECONDS", "story.png")
            msg = store.add_message(th, False, attachments=[{"type": "story_mention", "asset_id": a["id"]}],
                                    story={"mention": {"asset_id": a["id"], "id": a["id"]}})
        elif kind == "share_post":
            a = _asset(store, "post", "SANDBOX_MEDIA_TTL_SECONDS", "post.png")
            att = {"asset_id": a["id"], "ig_post_media_id": a["id"], "title": text or "A post worth sharing"}
            style = store.faults["share_style"]
            types = {"ig_post": ["ig_post"], "share": ["share"], "both": ["share", "ig_post"]}[style]
            msg = store.add_message(th, False, attachments=[dict(att, type=t) for t in types])
        elif kind == "share_reel":
            a = _asset(store, "reel", "SANDBOX_MEDIA_TTL_SECONDS", "video.mp4")
            msg = store.add_message(th, False, attachments=[{"type": "ig_reel", "asset_id": a["id"],
                                                             "reel_video_id": a["id"],
                                                             "title": text or "Reel title #coffee"}])
        elif kind == "ig_story":
            a = _asset(store, "story", "SANDBOX_STORY_TTL_SECONDS", "story.png")
            msg = store.add_message(th, False, attachments=[{"type": "ig_story", "asset_id": a["id"],
                                                             "url_key": "story_media_url",
                                                             "story_media_id": a["id"]}])
        elif kind == "unsupported":
            msg = store.add_message(th, False, is_unsupported=True)
        elif kind == "ephemeral":
            msg = store.add_message(th, False, attachments=[{"type": "ephemeral"}])
        elif kind == "postback":
            if not (title or payload):  # a tap on the first ice breaker the business set, as Instagram shows them
                title, payload = _first_ice_breaker(store, ig["id"])
            msg = store.add_message(th, False, text=title or "Opening hours?", postback=True)
            event = dict(base, postback={"mid": msg["mid"], "title": msg["text"],
                                         "payload": payload or "ICEBREAKER_HOURS"})
        elif kind == "referral":
            th["consent"], th["last_customer_ts"] = True, now
            event = dict(base, referral={"ref": ref or "summer-promo", "source": source or "IGME_SOURCE_LINK",
                                         "type": "OPEN_THREAD"})
        elif kind in ("react", "unreact"):
            target = _target(store, th, mid, True, kind)
            r = {"mid": target["mid"], "action": kind}
            if kind == "react":
                name = reaction or "love"
                r.update(reaction=name, emoji=emoji or EMOJI.get(name, EMOJI["other"]))
                target["reactions"]["customer"] = r["emoji"]
                th["consent"], th["last_customer_ts"] = True, now
            else:
                target["reactions"].pop("customer", None)
            event = dict(base, reaction=r)
        elif kind == "seen":
            target = _target(store, th, mid, True, "mark seen")
            target["seen"] = True
            mode = store.faults["read_without_ids"]
            bare = mode == "always" or (mode == "sometimes" and sb.webhooks.rng.random() < 0.5)
            event = {"timestamp": ms, "read": {"mid": target["mid"]}} if bare else dict(base, read={"mid": target["mid"]})
        elif kind == "edit":
            target = _target(store, th, mid, False, "edit")
            target["text"] = text or ((target["text"] or "") + " (edited)")
            target["num_edit"] += 1
            if store.faults["edit_style"] == "bare":  # as real deliveries have been seen: no text, num_edit 0
                event = dict(base, message_edit={"mid": target["mid"], "num_edit": 0})
            else:
                event = dict(base, message_edit={"mid": target["mid"], "text": target["text"],
                                                 "num_edit": target["num_edit"]})
        elif kind == "unsend":
            target = _target(store, th, mid, False, "unsend")
            target["deleted"] = True
            for att in target["attachments"]:
                if att.get("asset_id") in store.assets:
                    store.assets[att["asset_id"]]["deleted"] = True
            event = dict(base, message={"mid": target["mid"], "is_deleted": True})
            msg = target
        if event is None:
            event = message_event(store, th, msg)
    delivery = sb.webhooks.emit(ig["id"], event)
    return {"mid": (msg or {}).get("mid") or event.get("reaction", event.get("read", {})).get("mid"),
            "event": event, "delivery": public_delivery(delivery), "igsid": th["igsid"], "conversation_id": th["id"]}


def public_delivery(rec):
    return {k: v for k, v in rec.items() if k not in ("raw", "body")}
