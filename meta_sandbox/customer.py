"""A page to play the customer: pick an account and a persona, send DMs, see what the business sent."""
from flask import Blueprint, current_app, redirect, render_template, request, url_for

from . import media
from .events import ActionError, customer_action
from .state import iso

bp = Blueprint("customer", __name__)
MEDIA_TAGS = {"image": "img", "story_mention": "img", "ig_post": "img", "share": "img", "ig_story": "img",
              "video": "video", "ig_reel": "video", "audio": "audio", "file": "link", "like_heart": "heart"}


def _sb():
    return current_app.extensions["meta_sandbox"]


def _view_attachment(store, att):
    asset = store.assets.get(att.get("asset_id") or "")
    alive = bool(asset) and media.asset_alive(store, asset)
    return {"type": att["type"], "tag": MEDIA_TAGS.get(att["type"], "link"),
            "url": media.asset_url(store.settings, asset) if asset else None, "alive": alive,
            "title": att.get("title")}


def _view_thread(store, thread):
    out = []
    seen_at = thread.get("business_seen_at") or 0
    for m in store.thread_messages(thread, include_deleted=True):
        story = None
        rt = m.get("reply_to") or {}
        if rt.get("story"):
            asset = store.assets.get(rt["story"]["asset_id"])
            story = {"url": media.asset_url(store.settings, asset), "alive": media.asset_alive(store, asset)}
        out.append({"mid": m["mid"], "mine": not m["from_business"], "text": m["text"], "deleted": m["deleted"],
                    "time": iso(m["ts"]), "tag": m["tag"], "messaging_type": m["messaging_type"],
                    "attachments": [_view_attachment(store, a) for a in m["attachments"]], "story": story,
                    "reply_to_mid": rt.get("mid"), "reactions": dict(m["reactions"]), "num_edit": m["num_edit"],
                    "seen_by_business": (not m["from_business"]) and seen_at >= m["ts"],
                    "is_unsupported": m.get("is_unsupported"), "postback": m.get("postback")})
    return out


@bp.route("/")
@bp.route("/customer")
def page():
    sb = _sb()
    store = sb.store
    account, persona = request.args.get("account", ""), request.args.get("customer", "")
    with store.lock:
        accounts = [dict(ig, page=store.pages.get(ig["page_id"])) for ig in store.igs.values()
                    if ig["kind"] != "personal"]
        customers = list(store.customers.values())
        ig, cust = store.ig_by_key(account), store.customer_by_key(persona)
        thread, messages = None, []
        if ig and cust:
            thread = store.thread_for(ig["id"], cust["key"], create=False)
            messages = _view_thread(store, thread) if thread else []
        typing = sorted((s for s in store.sent if thread and s["recipient"] == thread["igsid"]
                         and s["kind"] == "sender_action"), key=lambda s: s["time"])[-1:]
    return render_template("customer.html", accounts=accounts, customers=customers, ig=ig, cust=cust,
                           thread=thread, messages=messages, note=request.args.get("note"),
                           error=request.args.get("error"), last_action=typing[0] if typing else None,
                           webhook_url=sb.settings["SANDBOX_WEBHOOK_URL"])


@bp.post("/customer/act")
def act():
    f = request.form
    account, persona = f.get("account", ""), f.get("customer", "")
    args = {"account": account, "customer": persona}
    try:
        res = customer_action(_sb(), account, persona, f.get("type", "text"), text=f.get("text") or None,
                              mid=f.get("mid") or None, reaction=f.get("reaction") or None,
                              reply_to=f.get("reply_to") or None, title=f.get("text") or None)
        d = res.get("delivery") or {}
        args["note"] = f"{f.get('type')}: webhook {d.get('status', 'none')}" + \
            (f" ({d['reason']})" if d.get("reason") else "")
    except ActionError as e:
        args["error"] = str(e)
    return redirect(url_for("customer.page", **args) + "#bottom")
