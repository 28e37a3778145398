"""The default fake world. Ids are fixed so that tests and demos can rely on them."""
from . import media

ALL_SCOPES = ["instagram_basic", "instagram_manage_messages", "pages_show_list", "pages_manage_metadata",
              "pages_messaging", "pages_read_engagement", "business_management"]
ADMIN_TASKS = ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"]

USERS = [
    # key, id, name, {page key: tasks}
    ("ana", "100089000000001", "Ana Admin",
     {"coffee": ADMIN_TASKS, "books": ADMIN_TASKS, "bakery": ADMIN_TASKS, "personal": ADMIN_TASKS,
      "quiet": ADMIN_TASKS}),
    ("sam", "100089000000002", "Sam Limited", {"coffee": ["ANALYZE", "ADVERTISE", "PROFILE_PLUS_ANALYZE"]}),
    ("pat", "100089000000003", "Pat Plus",
     {"books": ["PROFILE_PLUS_MESSAGING", "PROFILE_PLUS_MODERATE", "PROFILE_PLUS_ANALYZE"]}),
    ("nora", "100089000000004", "Nora NotAdmin", {}),
]

PAGES = [
    # key, page id, name, category, ig (id, username, name, kind, dm_access) or None
    ("coffee", "104000000000101", "Keloa Coffee", "Coffee Shop",
     ("17841400000000101", "keloa.coffee", "Keloa Coffee", "business", True)),
    ("books", "104000000000102", "Keloa Books", "Book Store",
     ("17841400000000102", "keloa.books", "Keloa Books", "creator", True)),
    ("bakery", "104000000000103", "Corner Bakery", "Bakery", None),
    ("personal", "104000000000104", "Ana Personal", "Personal Blog",
     ("17841400000000104", "ana.personal", "Ana", "personal", True)),
    ("quiet", "104000000000105", "Quiet Studio", "Design Studio",
     ("17841400000000105", "quiet.studio", "Quiet Studio", "business", False)),
]
# Instagram professional accounts with no Facebook Page: they connect through Instagram Login only.
# key, (ig id, username, name, kind, dm_access)
PAGELESS = [
    ("studio", ("17841400000000106", "keloa.studio", "Keloa Studio", "business", True)),
]
# Scopes of the Instagram API with Instagram Login (Business Login for Instagram).
IG_SCOPES = ["instagram_business_basic", "instagram_business_manage_messages"]

CUSTOMERS = [
    # key, name, username, picture file, follower_count
    ("maya", "Maya Lopez", "maya.lopez", "avatar_maya.png", 1234),
    ("leo", "Leo Park", "leopark", "avatar_leo.png", 87),
    ("zoe", None, "zoe_z", "avatar_zoe.png", 5),
]

MAYA_CHAT = [
    (False, "Hi! Are you open on Sunday?"), (True, "Hi Maya, yes: 9:00 to 14:00."),
    (False, "Great. Do you have oat milk?"), (True, "We do, and almond too."),
    (False, "Can I order beans for pickup?"), (True, "Sure, which roast?"),
    (False, "The Ethiopian one, 500g"), (True, "Noted, ready tomorrow from 10."),
    (False, "Perfect, thanks!"), (True, "You're welcome!"),
    (False, "Oh, can you grind them?"), (True, "Yes, for which brewer?"),
    (False, "V60 please"), (True, "Medium-fine it is."),
    (False, "How much is it?"), (True, "14 euros."),
    (False, "Card ok?"), (True, "Card is fine."),
    (False, "See you tomorrow"), (True, "See you!"),
    (False, "I'm here, at the counter"), (True, "Coming!"),
    (False, "Loved the beans btw"), (False, "Do you sell gift cards?"),
]


def add_ig(s, key, ig, page_id):
    iid, username, ig_name, kind, dm = ig
    s.igs[iid] = {"id": iid, "key": key, "username": username, "name": ig_name, "kind": kind,
                  "page_id": page_id, "dm_access": dm, "conversations_called": False,
                  "followers_count": 321, "picture": "avatar_business.png",
                  # Instagram Login: the app-scoped id /me answers as `id` (the account id is
                  # `user_id`), what the account granted the Instagram app, and its subscription.
                  "app_scoped_id": "2" + iid[-16:], "ig_perms": {}, "ig_app_removed": False,
                  "ig_subscribed_fields": [], "ig_first_failure_at": None, "ig_unsubscribed_reason": None}


def load(store):
    """Fill an emptied store with the default world."""
    s = store
    now = s.now()
    s.app = {"id": s.settings["SANDBOX_APP_ID"], "name": s.settings["SANDBOX_APP_NAME"]}
    page_ids = {}
    for key, pid, name, category, ig in PAGES:
        page_ids[key] = pid
        s.pages[pid] = {"id": pid, "key": key, "name": name, "category": category,
                        "ig_id": ig[0] if ig else None, "subscribed_fields": [],
                        "first_failure_at": None, "unsubscribed_reason": None}
        if ig:
            add_ig(s, key, ig, pid)
    for key, ig in PAGELESS:
        add_ig(s, key, ig, None)
    for key, uid, name, tasks in USERS:
        s.users[uid] = {"id": uid, "key": key, "name": name, "perms": {}, "granted_pages": None,
                        "page_tasks": {page_ids[k]: list(v) for k, v in tasks.items()},
                        "app_removed": False}
    for key, name, username, pic, followers in CUSTOMERS:
        s.customers[key] = {"key": key, "name": name, "username": username, "picture": pic,
                            "follower_count": followers, "is_verified_user": False,
                            "follows": {}, "blocked": []}
    coffee = "17841400000000101"
    th = s.thread_for(coffee, "maya")
    start = now - 3 * 86400
    step = (3 * 86400 - 2 * 3600) / (len(MAYA_CHAT) - 1)
    for i, (biz, text) in enumerate(MAYA_CHAT):
        s.add_message(th, biz, ts=start + i * step, text=text,
                      messaging_type="RESPONSE" if biz else None)
    th2 = s.thread_for(coffee, "zoe")
    s.add_message(th2, False, ts=now - 30 * 3600, text="Do you ship to Porto?")
    pic = media.create_asset(s, file="image.png", ttl=s.settings["SANDBOX_MEDIA_TTL_SECONDS"],
                             created=now - 29 * 3600)
    s.add_message(th2, False, ts=now - 29 * 3600, attachments=[{"type": "image", "asset_id": pic["id"]}])
