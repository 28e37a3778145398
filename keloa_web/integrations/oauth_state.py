"""The state of a login window between Keloa's redirect and its callback, for both logins.

Authlib keeps each attempt's state in the signed session cookie (`_state_<client>_<state>`, with an
expiry) and checks it when the code is exchanged. Two gaps are closed here: in the session Authlib
does not check the expiry itself, and an answer with an error (the person cancelled, the window
failed) never reaches the exchange, so its state would stay usable. A callback therefore first asks
`started_here` and, whatever happens next, the attempt's state is forgotten (`forget`).
"""
from __future__ import annotations

import time

from flask import request, session

MAX_REASON = 200  # characters of a login window's error description shown on the page


def _key(client, state: str) -> str:
    return f"_state_{client.name}_{state}"


def started_here(client) -> bool:
    """Whether the callback's `state` is an attempt this browser started, not yet expired."""
    state = request.args.get("state")
    entry = session.get(_key(client, state)) if state else None
    if not isinstance(entry, dict):
        return False
    if (entry.get("exp") or 0) < time.time():
        session.pop(_key(client, state), None)
        return False
    return True


def forget(client) -> None:
    """Drop the callback's attempt, and every expired one, so none can be finished later."""
    state = request.args.get("state")
    if state:
        client.framework.clear_state_data(session, state)


def reason(default: str) -> str:
    """The window's error description, or `default`, short enough for a message."""
    text = request.args.get("error_description") or request.args.get("error") or default
    return text if len(text) <= MAX_REASON else text[:MAX_REASON - 1] + "…"


def refusal(client, who: str, act: str, again: str) -> tuple[str, str] | None:
    """What a callback says when the window's answer cannot be finished, as (message, flash
    category), or None to go on with the code. `who` is "Meta" or "Instagram", `act` "sign-in" or
    "log-in", `again` how to try again."""
    known = started_here(client)
    error = request.args.get("error")
    if error or not known:
        forget(client)
    if error == "access_denied":
        return f"You cancelled the {who} {act}, so nothing was connected. {again}", "warning"
    if error and not known:  # not an answer to an attempt started here: its text is someone else's
        return f"{who} did not complete the {act}. {again}", "error"
    if error:
        return f"{who} did not complete the {act} ({reason('no reason given')}). {again}", "error"
    if not known:
        return f"This {act} link was already used or has expired, so it was ignored. {again}", "error"
    return None
