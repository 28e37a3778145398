"""`/{page-id}/messenger_profile` (and `/me/…` with a Page token), `platform=instagram`: ice breakers.

Meta's "Ice Breakers" page for Instagram Messaging (developers.facebook.com/documentation/
business-messaging/instagram-messaging/features/ice-breakers): POST `{"platform": "instagram",
"ice_breakers": [{"call_to_actions": [{"question", "payload"}…], "locale": "default"}…]}`, "a
maximum of 4 questions", the `default` locale "is REQUIRED"; GET `?fields=ice_breakers&platform=
instagram` answers `{"data": [{"call_to_actions": […], "locale": "default"}]}`; DELETE with
`fields: ["ice_breakers"]` removes them. A customer who taps one sends a `messaging_postbacks`
event with the question as `title` and the payload.
"""
from flask import request

from .errors import GraphError
from .state import MODERATE_TASKS

MAX_QUESTIONS = 4
MAX_QUESTION = 80  # characters (sandbox choice: Meta's page names no limit; its UI stops at 80)


def handle(ctx, page):
    if ctx.token["kind"] != "page":
        raise GraphError(190, "(#190) This method must be called with a Page Access Token")
    platform = request.args.get("platform") or (request.get_json(silent=True) or {}).get("platform")
    if platform != "instagram":
        raise GraphError(100, "(#100) platform must be instagram for an Instagram account's ice breakers")
    if not ctx.store.has_task(ctx.user, page["id"], MODERATE_TASKS):
        raise GraphError(10, "(#10) The user must be able to perform the MODERATE task on this Page")
    return ice_breakers(page)


def ice_breakers(holder):
    """GET, POST or DELETE the ice breakers kept on `holder` (the Page, or the Instagram Login account)."""
    page = holder
    method = request.method
    if method == "GET":
        return {"data": page.get("ice_breakers") or []}
    if method == "DELETE":
        page["ice_breakers"] = []
        return {"result": "success"}
    body = request.get_json(silent=True) or {}
    breakers = body.get("ice_breakers")
    if not isinstance(breakers, list) or not breakers:
        raise GraphError(100, "(#100) Param ice_breakers must be a non-empty array")
    locales = [b.get("locale") for b in breakers if isinstance(b, dict)]
    if "default" not in locales:
        raise GraphError(100, "(#100) ice_breakers must contain the default locale")
    for block in breakers:
        actions = block.get("call_to_actions") if isinstance(block, dict) else None
        if not isinstance(actions, list) or not actions or len(actions) > MAX_QUESTIONS:
            raise GraphError(100, f"(#100) Each locale takes 1 to {MAX_QUESTIONS} ice breakers")
        for action in actions:
            question, payload = (action or {}).get("question"), (action or {}).get("payload")
            if not isinstance(question, str) or not question.strip() or len(question) > MAX_QUESTION:
                raise GraphError(100, f"(#100) An ice breaker question must be 1 to {MAX_QUESTION} characters")
            if not isinstance(payload, str) or not payload:
                raise GraphError(100, "(#100) Every ice breaker needs a payload")
    page["ice_breakers"] = breakers
    return {"result": "success"}
