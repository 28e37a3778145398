"""In-memory state of the sandbox, guarded by one re-entrant lock.

Records are plain dicts so that /_sandbox/state can dump them. Times are sandbox-clock seconds
(float); webhook and Graph timestamps are derived from them.
"""
import base64
import hashlib
import itertools
import secrets
import threading
import time
from datetime import datetime, timezone

from .config import DEFAULT_FAULTS

MESSAGING_TASKS = {"MESSAGING", "MANAGE", "PROFILE_PLUS_MESSAGING", "PROFILE_PLUS_FULL_CONTROL"}
MODERATE_TASKS = {"MODERATE", "MANAGE", "PROFILE_PLUS_MODERATE", "PROFILE_PLUS_FULL_CONTROL"}
# /me/accounts lists Pages where the user can MANAGE, CREATE_CONTENT, MODERATE or ADVERTISE.
LISTING_TASKS = {"MANAGE", "CREATE_CONTENT", "MODERATE", "ADVERTISE"}


def normalise_task(task):
    if task == "PROFILE_PLUS_FULL_CONTROL":
        return "MANAGE"
    return task[len("PROFILE_PLUS_"):] if task.startswith("PROFILE_PLUS_") else task


def iso(ts):
    """Graph datetime format: 2021-06-15T22:08:01+0000."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


class Store:
    def __init__(self, settings):
        self.lock = threading.RLock()
        self.settings = settings
        self.clock_offset = 0.0
        self.reset_data()

    # --- clock ------------------------------------------------------------------------------
    def now(self):
        return time.time() + self.clock_offset

    def now_ms(self):
        return int(self.now() * 1000)

    def advance(self, seconds):
        with self.lock:
            self.clock_offset += float(seconds)
            return self.now()

    # --- data -------------------------------------------------------------------------------
    def reset_data(self):
        with self.lock:
            self.clock_offset = 0.0
            self.users = {}       # id -> user
            self.pages = {}       # id -> page
            self.igs = {}         # id -> instagram account
            self.customers = {}   # key -> persona
            self.threads = {}     # conversation id -> thread
            self.igsids = {}      # igsid -> (ig_id, customer key)
            self.messages = {}    # mid -> message
            self.tokens = {}      # token string -> token record
            self.codes = {}       # code -> code record
            self.assets = {}      # asset id -> asset
            self.attachments = {}  # reusable attachment id -> asset id
            self.shared_assets = {}  # (file, kind) -> asset, for profile pictures
            self.calls = []
            self.sent = []
            self.deliveries = []
            self.verifications = []
            self.deauths = []
            self.rate = {}        # (ig_id, bucket) -> [real timestamps]
            self.faults = dict(DEFAULT_FAULTS)
            self.app_fields = ["messages", "message_reactions", "messaging_postbacks", "messaging_seen",
                               "messaging_referral", "message_edit", "messaging_handover", "standby"]
            self._seq = itertools.count(1)
            self._id_seq = itertools.count(1)

    # --- ids --------------------------------------------------------------------------------
    def new_digits(self, prefix="1000", length=15):
        n = next(self._id_seq)
        body = f"{n:0{length - len(prefix)}d}"
        return prefix + body

    def seq(self):
        return next(self._seq)

    @staticmethod
    def igsid_for(ig_id, customer_key):
        h = int(hashlib.sha256(f"{ig_id}:{customer_key}".encode()).hexdigest(), 16)
        return str(1000000000000000 + h % 8999999999999999)

    def new_mid(self, ig_id):
        raw = f"ig_item:1:IGMessage:{ig_id}:{self.seq():08d}:{secrets.token_hex(6)}".encode()
        return "aWdfZAG1faXRlbToxOklHTWVzc2FnZAU" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def conversation_id(ig_id, igsid):
        raw = f"ig_message_thread:{ig_id}:{igsid}".encode()
        return "aWdfZAG06MTpJR01lc3NhZA2VUaHJlYWQ6" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def new_token(self, prefix="EAA"):
        return prefix + secrets.token_urlsafe(48).replace("-", "Z").replace("_", "B")

    # --- lookups ----------------------------------------------------------------------------
    def user_by_key(self, key):
        for u in self.users.values():
            if key in (u["id"], u["key"]):
                return u
        return None

    def page_by_key(self, key):
        for p in self.pages.values():
            if key in (p["id"], p["key"], p["name"]):
                return p
        return None

    def ig_by_key(self, key):
        key = (key or "").lstrip("@")
        for ig in self.igs.values():
            if key in (ig["id"], ig["username"], ig["key"]):
                return ig
        return None

    def customer_by_key(self, key):
        key = (key or "").lstrip("@")
        for c in self.customers.values():
            if key in (c["key"], c["username"]):
                return c
        for igsid, (_ig, ckey) in self.igsids.items():
            if key == igsid:
                return self.customers.get(ckey)
        return None

    def page_for_ig(self, ig_id):
        ig = self.igs.get(ig_id)
        return self.pages.get(ig["page_id"]) if ig and ig.get("page_id") else None

    def thread_for(self, ig_id, customer_key, create=True):
        igsid = self.igsid_for(ig_id, customer_key)
        cid = self.conversation_id(ig_id, igsid)
        th = self.threads.get(cid)
        if th is None and create:
            th = {"id": cid, "ig_id": ig_id, "customer": customer_key, "igsid": igsid,
                  "consent": False, "last_customer_ts": None, "updated": self.now(), "mids": []}
            self.threads[cid] = th
            self.igsids[igsid] = (ig_id, customer_key)
        return th

    def thread_by_igsid(self, igsid):
        pair = self.igsids.get(igsid)
        if not pair:
            return None
        return self.thread_for(pair[0], pair[1], create=False)

    def tasks(self, user, page_id):
        return list(user.get("page_tasks", {}).get(page_id, []))

    def has_task(self, user, page_id, wanted):
        return bool(set(self.tasks(user, page_id)) & wanted)

    def perm_granted(self, user, perm):
        return user.get("perms", {}).get(perm) == "granted"

    # --- messages ---------------------------------------------------------------------------
    def add_message(self, thread, from_business, ts=None, **fields):
        mid = fields.pop("mid", None) or self.new_mid(thread["ig_id"])
        msg = {"mid": mid, "thread": thread["id"], "from_business": from_business,
               "ts": self.now() if ts is None else ts, "text": None, "attachments": [],
               "reply_to": None, "story": None, "deleted": False, "num_edit": 0,
               "reactions": {}, "tag": None, "messaging_type": None, "seen": False}
        msg.update(fields)
        self.messages[mid] = msg
        thread["mids"].append(mid)
        thread["updated"] = max(thread["updated"], msg["ts"])
        if not from_business:
            thread["consent"] = True
            thread["last_customer_ts"] = max(thread["last_customer_ts"] or 0, msg["ts"])
        return msg

    def thread_messages(self, thread, include_deleted=False):
        msgs = [self.messages[m] for m in thread["mids"] if m in self.messages]
        if not include_deleted:
            msgs = [m for m in msgs if not m["deleted"]]
        return sorted(msgs, key=lambda m: m["ts"])

    # --- rate limits (real time, sliding one-second window) ---------------------------------
    def rate_hit(self, ig_id, bucket, limit):
        """Record a call; returns (allowed, count in window)."""
        with self.lock:
            t = time.monotonic()
            hits = [x for x in self.rate.get((ig_id, bucket), []) if t - x < 1.0]
            if len(hits) >= limit:
                self.rate[(ig_id, bucket)] = hits
                return False, len(hits)
            hits.append(t)
            self.rate[(ig_id, bucket)] = hits
            return True, len(hits)
