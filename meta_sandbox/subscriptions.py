"""GET/POST/DELETE /{page-id}/subscribed_apps with Page-object field names."""
import json

from flask import request

from .errors import GraphError, param_error, permissions_error

# Page-object webhook fields (the list Meta prints in its "(#100) Param subscribed_fields[N] must be
# one of {...}" error; messaging-related part plus common Page fields).
PAGE_FIELDS = [
    "feed", "mention", "name", "picture", "category", "description", "conversations", "feature_access_list",
    "inbox_labels", "standby", "message_mention", "messages", "message_reactions", "messaging_account_linking",
    "messaging_checkout_updates", "messaging_customer_information", "message_echoes", "message_edits",
    "message_deliveries", "message_context", "messaging_game_plays", "messaging_optins", "messaging_optouts",
    "messaging_payments", "messaging_postbacks", "messaging_pre_checkouts", "message_reads",
    "messaging_referrals", "messaging_handovers", "messaging_policy_enforcement", "marketing_message_echoes",
    "messaging_appointments", "messaging_direct_sends", "messaging_fblogin_account_linking",
    "messaging_feedback", "messaging_in_thread_lead_form_submit", "send_cart", "group_feed", "calls",
    "call_permission_reply", "response_feedback", "messaging_integrity", "messaging_in_thread_lead_form_submit",
    "leadgen", "live_videos", "location", "videos", "ratings", "affiliation", "attire", "bio",
]
SUBSCRIBE_TASKS = {"MANAGE", "CREATE_CONTENT", "MODERATE"}


def parse_field_list(raw):
    if raw is None:
        return None
    if isinstance(raw, list):
        return [str(x).strip() for x in raw if str(x).strip()]
    raw = str(raw).strip()
    if raw.startswith("["):
        try:
            return [str(x).strip() for x in json.loads(raw)]
        except ValueError:
            pass
    return [x.strip() for x in raw.split(",") if x.strip()]


def app_entry(ctx, page):
    return {"category": "Business", "link": ctx.settings["SANDBOX_PUBLIC_URL"] + "/",
            "name": ctx.settings["SANDBOX_APP_NAME"], "id": ctx.settings["SANDBOX_APP_ID"],
            "subscribed_fields": list(page["subscribed_fields"])}


def _check_access(ctx, page):
    if ctx.token["kind"] != "page":
        raise GraphError(210, "(#210) A page access token is required to request this resource.")
    from .state import normalise_task
    tasks = {normalise_task(t) for t in ctx.store.tasks(ctx.user, page["id"])}
    if not tasks & SUBSCRIBE_TASKS:
        raise permissions_error("(#200) The user must be able to perform the MANAGE, CREATE_CONTENT or MODERATE "
                                "task on this Page to manage its app subscriptions")
    if not ctx.perm("pages_manage_metadata"):
        raise permissions_error("(#200) Requires pages_manage_metadata permission to manage the object")


def handle(ctx, page):
    method = request.method
    _check_access(ctx, page)
    if method == "GET":
        return {"data": [app_entry(ctx, page)] if page["subscribed_fields"] else []}
    if method == "DELETE":
        with ctx.store.lock:
            page["subscribed_fields"] = []
            page["unsubscribed_reason"] = "deleted through the API"
        return {"success": True}
    raw = request.values.get("subscribed_fields")
    if raw is None and request.is_json:
        raw = (request.get_json(silent=True) or {}).get("subscribed_fields")
    fields = parse_field_list(raw)
    if not fields:
        raise param_error("(#100) The parameter subscribed_fields is required")
    for i, f in enumerate(fields):
        if f not in PAGE_FIELDS:
            raise param_error(f"(#100) Param subscribed_fields[{i}] must be one of {{{', '.join(PAGE_FIELDS)}}} "
                              f"- got \"{f}\".")
    with ctx.store.lock:
        page["subscribed_fields"] = list(dict.fromkeys(fields))
        page["first_failure_at"] = None
        page["unsubscribed_reason"] = None
    if ctx.settings["SANDBOX_VERIFY_ON_SUBSCRIBE"]:
        ctx.sb.webhooks.verify_async(reason=f"subscribed_apps POST for page {page['id']}")
    return {"success": True}
