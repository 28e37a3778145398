"""Control API, second half: customer actions, raw/test webhooks, verification, faults, logs."""
from flask import Blueprint, jsonify, request

from .config import DEFAULT_FAULTS
from .control import _bad, _json, _public, _sb
from .events import ActionError, customer_action
from .webhooks import encode_body

bp = Blueprint("control_events", __name__, url_prefix="/_sandbox")


@bp.post("/customer/send")
def customer_send():
    b = _json()
    kw = {k: b.get(k) for k in ("text", "mid", "reaction", "emoji", "title", "payload", "ref", "reply_to", "source")}
    try:
        result = customer_action(_sb(), b.get("account", ""), b.get("customer", ""), b.get("type", "text"), **kw)
    except ActionError as e:
        return _bad(str(e))
    return jsonify(result)


@bp.post("/webhook/raw")
def webhook_raw():
    b = _json()
    raw = b["raw"].encode() if isinstance(b.get("raw"), str) else encode_body(b.get("body") or {})
    rec = _sb().webhooks.send_raw(raw, signature=b.get("signature", "valid"))
    return jsonify(_public(rec))


@bp.post("/webhook/test-event")
def webhook_test_event():
    """The App Dashboard 'Test' button: entry.id "0" and changes[] instead of messaging[]."""
    sb, b = _sb(), _json()
    value = b.get("value") or {"sender": {"id": "12334"}, "recipient": {"id": "23245"},
                               "timestamp": str(int(sb.store.now())),
                               "message": {"mid": "random_mid", "text": "random_text"}}
    body = {"object": "instagram", "entry": [{"id": "0", "time": sb.store.now_ms(),
                                              "changes": [{"field": b.get("field", "messages"), "value": value}]}]}
    return jsonify(_public(sb.webhooks.send_raw(encode_body(body))))


@bp.post("/verify-callback")
def verify_callback():
    return jsonify(_sb().webhooks.verify(reason="POST /_sandbox/verify-callback"))


@bp.post("/faults")
def faults():
    st, b = _sb().store, _json()
    unknown = set(b) - set(DEFAULT_FAULTS)
    if unknown:
        return _bad(f"unknown fault keys {sorted(unknown)}; known: {sorted(DEFAULT_FAULTS)}")
    with st.lock:
        st.faults.update(b)
    with _sb().webhooks.cv:
        _sb().webhooks.cv.notify_all()
    return jsonify(st.faults)


@bp.get("/faults")
def get_faults():
    return jsonify(_sb().store.faults)


def _listing(name):
    st = _sb().store
    with st.lock:
        items = [_public(x) for x in getattr(st, name)]
    status = request.args.get("status")
    if status:
        items = [x for x in items if x.get("status") == status]
    return jsonify({"data": items})


@bp.get("/calls")
def calls():
    return _listing("calls")


@bp.get("/sent")
def sent():
    return _listing("sent")


@bp.get("/deliveries")
def deliveries():
    return _listing("deliveries")


@bp.get("/verifications")
def verifications():
    return _listing("verifications")


@bp.get("/deauths")
def deauths():
    return _listing("deauths")


@bp.post("/business/send")
def business_send():
    """The business writes from the Instagram app itself (not through Keloa): only an echo webhook
    arrives; nothing is added to /_sandbox/sent. Body: {account, customer, text?, type: text|image}."""
    from . import media
    from .events import message_event, public_delivery
    sb, b = _sb(), _json()
    st = sb.store
    with st.lock:
        ig, cust = st.ig_by_key(b.get("account", "")), st.customer_by_key(b.get("customer", ""))
        if ig is None or cust is None:
            return _bad("unknown account or customer")
        th = st.thread_for(ig["id"], cust["key"])
        atts = []
        if b.get("type") == "image":
            asset = media.create_asset(st, file="image.png", ttl=sb.settings["SANDBOX_MEDIA_TTL_SECONDS"])
            atts = [{"type": "image", "asset_id": asset["id"]}]
        text = b.get("text") or (None if atts else "Sent from the Instagram app")
        msg = st.add_message(th, True, text=text, attachments=atts, via="instagram_app")
        event = message_event(st, th, msg)
    delivery = sb.webhooks.emit(ig["id"], event, field="messages")
    return jsonify({"mid": msg["mid"], "event": event, "delivery": public_delivery(delivery)})


@bp.post("/threads/owner")
def thread_owner():
    """Conversation Routing: give a customer's thread to another app ("other") or back ("keloa").

    While another app owns it, the customer's events reach Keloa in `standby[]` and Keloa's sends to
    that customer are refused; each change of owner is sent to Keloa as a `messaging_handovers`
    event (`take_thread_control` / `pass_thread_control`), as Meta's handover reference shows them."""
    b, sb = _json(), _sb()
    owner = b.get("owner")
    if owner not in ("keloa", "other"):
        return _bad("owner must be keloa or other")
    st = sb.store
    with st.lock:
        ig, cust = st.ig_by_key(b.get("account", "")), st.customer_by_key(b.get("customer", ""))
        if ig is None or cust is None:
            return _bad("unknown account or customer", 404)
        th = st.thread_for(ig["id"], cust["key"])
        before = th.get("owner", "keloa")
        th["owner"] = owner
        app_id, other = st.app["id"], "100000000000999"
        key = "take_thread_control" if owner == "other" else "pass_thread_control"
        detail = ({"previous_owner_app_id": app_id, "new_owner_app_id": other} if owner == "other"
                  else {"previous_owner_app_id": other, "new_owner_app_id": app_id})
        event = {"sender": {"id": th["igsid"]}, "recipient": {"id": ig["id"]}, "timestamp": st.now_ms(),
                 key: {**detail, "metadata": ""}}
    delivery = sb.webhooks.emit(ig["id"], event, field="messaging_handover") if before != owner else None
    return jsonify({"owner": owner, "event": event if before != owner else None, "delivery": delivery})
