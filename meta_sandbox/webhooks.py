"""Webhook delivery: gating, a background queue with retries, batching and fault modes, signatures."""
import base64
import hashlib
import hmac
import json
import random
import secrets
import threading
import time

import requests

FIELD_OF = {"message": "messages", "reaction": "message_reactions", "read": "messaging_seen",
            "postback": "messaging_postbacks", "referral": "messaging_referral", "message_edit": "message_edit"}


def encode_body(body):
    """Meta sends escaped unicode and escaped slashes; the signature covers these exact bytes."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def sign(secret, raw):
    return ("sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(),
            "sha1=" + hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest())


class Deliverer:
    def __init__(self, sb):
        self.sb = sb
        self.store = sb.store
        self.cv = threading.Condition()
        self.items = []       # events waiting to be formed into POSTs
        # Held while deliveries are formed and attempted, and by a reset: once a reset returns, no
        # POST of the world before it is on its way or still to come.
        self.busy = threading.Lock()
        self.stopped = False
        self.rng = random.Random(7)
        self.thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self.thread.start()

    # --- queueing ---------------------------------------------------------------------------
    def _record(self, **kw):
        with self.store.lock:
            rec = {"id": len(self.store.deliveries) + 1, "created": self.store.now(), "status": "pending",
                   "attempts": [], "reason": None, "url": self.sb.settings["SANDBOX_WEBHOOK_URL"],
                   "body": None, "page_ids": [], "fields": [], "duplicate_of": None, "next_at": 0.0,
                   "app": "facebook"}
            rec.update(kw)
            self.store.deliveries.append(rec)
            return rec

    def gate(self, ig_id, field):
        """Why an event for this account/field is not delivered (None = it is)."""
        return self.apps_for(ig_id, field)[1]

    def apps_for(self, ig_id, field):
        """(the apps the event goes to, why none). Facebook Login: the Page's subscription, signed with
        the app secret; Instagram Login: the account's own subscription, signed with the Instagram app
        secret. An account subscribed both ways reaches both (each app has its own webhooks)."""
        s, store = self.sb.settings, self.store
        ig = store.igs.get(ig_id)
        page = store.page_for_ig(ig_id)
        if not s["SANDBOX_WEBHOOK_URL"]:
            return [], "no SANDBOX_WEBHOOK_URL configured"
        if ig is None or ig["kind"] == "personal":
            return [], "not an Instagram professional account"
        if not ig["dm_access"]:
            return [], "'Allow access to messages' is off for this account"
        if field not in store.app_fields:
            return [], f"app-level instagram subscription lacks field {field}"
        if ig["kind"] == "creator" and s["SANDBOX_CREATOR_NEEDS_CONVERSATIONS_CALL"] \
                and not ig["conversations_called"]:
            return [], "creator account: no Conversations API call made yet"
        apps = []
        if page is not None and page["subscribed_fields"]:
            apps.append("facebook")
        if field in (ig.get("ig_subscribed_fields") or ()) and not ig.get("ig_app_removed"):
            apps.append("instagram")
        if apps:
            return apps, None
        if page is None:
            return [], "not subscribed: no Page, and no Instagram Login subscription (POST /me/subscribed_apps " \
                       f"on graph.instagram.com with field {field})"
        return [], "Page not subscribed (POST /{page-id}/subscribed_apps)"

    def emit(self, ig_id, event, field=None):
        """Queue one messaging[] event for an account; returns the delivery record (maybe suppressed)."""
        field = field or next((FIELD_OF[k] for k in FIELD_OF if k in event), "messages")
        with self.store.lock:
            # Conversation Routing: a thread another app owns reaches this app in standby[] only,
            # and only if the app subscribed to the standby field.
            people = {str((event.get(k) or {}).get("id")) for k in ("sender", "recipient")}
            thread = next((self.store.threads.get(self.store.conversation_id(ig_id, p)) for p in people
                           if p in self.store.igsids), None)
            channel = "standby" if thread and thread.get("owner", "keloa") != "keloa" else "messaging"
            field = "standby" if channel == "standby" else field
            apps, why = self.apps_for(ig_id, field)
            page = self.store.page_for_ig(ig_id)
            entry = {"time": self.store.now_ms(), "id": ig_id, channel: [event]}
            if why:
                return self._record(status="suppressed", reason=why, body={"object": "instagram", "entry": [entry]},
                                    page_ids=[page["id"]] if page else [], fields=[field])
        with self.cv:
            for app in apps:
                self.items.append({"entry": entry, "page_id": page["id"] if page and app == "facebook" else None,
                                   "field": field, "queued": time.monotonic(), "app": app})
            self.cv.notify_all()
        return {"status": "queued", "field": field, "apps": apps}

    def send_raw(self, raw_bytes, signature="valid"):
        """Deliver given bytes as they are (control API), signed or not; skips all gating."""
        rec = self._record(body=raw_bytes.decode("utf-8", "replace"), raw=raw_bytes, signature_mode=signature)
        with self.cv:
            self.cv.notify_all()
        return rec

    # --- worker -----------------------------------------------------------------------------
    def _run(self):
        while not self.stopped:
            try:
                self._tick()
            except Exception as exc:  # keep the worker alive whatever happens
                with self.store.lock:
                    self.store.deliveries.append({"id": 0, "status": "worker-error", "reason": repr(exc),
                                                  "attempts": [], "created": self.store.now()})
                time.sleep(0.1)

    def _tick(self):
        with self.cv:
            self.cv.wait(timeout=0.05)
        with self.busy:
            self._deliver_due()

    def _deliver_due(self):
        faults = self.store.faults
        if not faults["deliveries"]:
            return
        self._form_deliveries(faults)
        now = time.monotonic()
        with self.store.lock:
            due = [d for d in self.store.deliveries if d["status"] in ("pending", "retrying")
                   and d["next_at"] <= now]
        for d in due:
            if not self.store.faults["deliveries"]:
                return
            self._attempt(d)

    def _form_deliveries(self, faults):
        with self.cv:
            if not self.items:
                return
            window = 0
            if faults["batch"]:
                window = faults["batch_window_ms"] / 1000
            if faults["shuffle"]:
                window = max(window, faults["shuffle_window_ms"] / 1000)
            if window and time.monotonic() - self.items[0]["queued"] < window:
                return
            items, self.items = self.items, []
        if faults["shuffle"] and len(items) > 1:
            order = items[:]
            while order == items:
                self.rng.shuffle(order)
            items = order
        groups = []
        for app in dict.fromkeys(it.get("app", "facebook") for it in items):  # one app's entries per POST
            mine = [it for it in items if it.get("app", "facebook") == app]
            groups += [mine[i:i + faults["batch_max"]] for i in range(0, len(mine), faults["batch_max"])] \
                if faults["batch"] else [[it] for it in mine]
        for group in groups:
            body = {"object": "instagram", "entry": [it["entry"] for it in group]}
            self._record(body=body, raw=encode_body(body), app=group[0].get("app", "facebook"),
                         page_ids=sorted({it["page_id"] for it in group if it["page_id"]}),
                         fields=[it["field"] for it in group])

    def _attempt(self, d):
        s = self.sb.settings
        url = s["SANDBOX_WEBHOOK_URL"] or d.get("url")
        raw = d["raw"]
        secret = s["SANDBOX_IG_APP_SECRET"] if d.get("app") == "instagram" else s["SANDBOX_APP_SECRET"]
        sig256, sig1 = sign(secret, raw)
        if d.get("signature_mode") == "invalid":
            sig256, sig1 = sign("wrong-secret", raw)
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
        if d.get("signature_mode") != "none":
            headers.update({"X-Hub-Signature-256": sig256, "X-Hub-Signature": sig1})
        started = time.monotonic()
        attempt = {"at": self.store.now(), "status_code": None, "error": None}
        try:
            r = requests.post(url, data=raw, headers=headers, timeout=s["SANDBOX_DELIVERY_TIMEOUT"])
            attempt["status_code"] = r.status_code
            ok = r.status_code == 200
        except requests.RequestException as exc:
            attempt["error"] = type(exc).__name__ + ": " + str(exc)[:200]
            ok = False
        attempt["duration_ms"] = int((time.monotonic() - started) * 1000)
        if ok and attempt["duration_ms"] > s["SANDBOX_DELIVERY_TIMEOUT"] * 1000:
            ok, attempt["error"] = False, "answered slower than SANDBOX_DELIVERY_TIMEOUT"
        with self.store.lock:
            d["attempts"].append(attempt)
            d["url"] = url
            if ok:
                d["status"] = "delivered"
                for pid in d["page_ids"]:
                    self.store.pages[pid]["first_failure_at"] = None
            else:
                self._failed(d)
            first = len(d["attempts"]) == 1 and d["duplicate_of"] is None
            if first and self.store.faults["duplicates"] and d.get("fields"):
                self._record(body=d["body"], raw=raw, page_ids=d["page_ids"], fields=d["fields"], app=d.get("app"),
                             duplicate_of=d["id"])

    def _failed(self, d):
        s, store = self.sb.settings, self.store
        now = store.now()
        dead = []
        for pid in d["page_ids"]:
            page = store.pages[pid]
            if page["first_failure_at"] is None:
                page["first_failure_at"] = now
            if now - page["first_failure_at"] >= s["SANDBOX_UNSUBSCRIBE_AFTER_SECONDS"]:
                dead.append(page)
        if dead:
            for page in dead:
                page["subscribed_fields"] = []
                page["unsubscribed_reason"] = "webhook deliveries failed for an hour"
                page["first_failure_at"] = None
            ids = {p["id"] for p in dead}
            for other in store.deliveries:
                if other["status"] in ("pending", "retrying") and set(other.get("page_ids", [])) & ids:
                    other["status"], other["reason"] = "dropped", "Page unsubscribed after an hour of failures"
            d["status"], d["reason"] = "dropped", "Page unsubscribed after an hour of failures"
            return
        if not d["page_ids"] and len(d["attempts"]) >= 5:
            d["status"], d["reason"] = "failed", "gave up after 5 attempts"
            return
        n = len(d["attempts"])
        d["status"] = "retrying"
        d["next_at"] = time.monotonic() + min(s["SANDBOX_RETRY_BASE_SECONDS"] * 2 ** (n - 1),
                                              s["SANDBOX_RETRY_MAX_SECONDS"])

    # --- verification handshake and deauthorize ----------------------------------------------
    def verify(self, reason="control API"):
        s = self.sb.settings
        url = s["SANDBOX_WEBHOOK_URL"]
        challenge = str(secrets.randbelow(2 ** 31))
        rec = {"at": self.store.now(), "url": url, "challenge": challenge, "reason": reason,
               "status_code": None, "body": None, "ok": False, "error": None}
        if not url:
            rec["error"] = "no SANDBOX_WEBHOOK_URL configured"
        else:
            try:
                r = requests.get(url, params={"hub.mode": "subscribe", "hub.verify_token": s["SANDBOX_VERIFY_TOKEN"],
                                              "hub.challenge": challenge}, timeout=s["SANDBOX_DELIVERY_TIMEOUT"])
                rec["status_code"], rec["body"] = r.status_code, r.text[:200]
                rec["ok"] = r.status_code == 200 and r.text.strip() == challenge
            except requests.RequestException as exc:
                rec["error"] = type(exc).__name__ + ": " + str(exc)[:200]
        with self.store.lock:
            self.store.verifications.append(rec)
        return rec

    def verify_async(self, reason):
        threading.Thread(target=self.verify, args=(reason,), daemon=True).start()

    def deauthorize(self, user):
        """POST {SANDBOX_DEAUTH_URL} signed_request=<sig>.<payload> as Meta does on app removal."""
        s = self.sb.settings
        payload = {"algorithm": "HMAC-SHA256", "issued_at": int(self.store.now()), "user_id": user["id"]}
        enc = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
        sig = base64.urlsafe_b64encode(hmac.new(s["SANDBOX_APP_SECRET"].encode(), enc.encode(),
                                                hashlib.sha256).digest()).decode().rstrip("=")
        rec = {"at": self.store.now(), "url": s["SANDBOX_DEAUTH_URL"], "user_id": user["id"],
               "signed_request": f"{sig}.{enc}", "status_code": None, "error": None}
        if s["SANDBOX_DEAUTH_URL"]:
            try:
                r = requests.post(s["SANDBOX_DEAUTH_URL"], data={"signed_request": rec["signed_request"]},
                                  timeout=s["SANDBOX_DELIVERY_TIMEOUT"])
                rec["status_code"] = r.status_code
            except requests.RequestException as exc:
                rec["error"] = type(exc).__name__
        with self.store.lock:
            self.store.deauths.append(rec)
        return rec

    def clear(self):
        with self.cv:
            self.items = []
