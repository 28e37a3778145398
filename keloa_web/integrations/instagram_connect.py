"""Connect with Instagram: Instagram's window, the long-lived token, the checks, the channel.

The same checks and channel as the Page path (connect.py), without a Page: the account's own token
subscribes it to webhooks on graph.instagram.com and makes the first Conversations API call.
"""
from __future__ import annotations

import logging

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from flask import flash, redirect, request, url_for
from sqlalchemy.exc import IntegrityError

from keloa_web.auth import admin_required
from keloa_web.db import db
from keloa_web.graph import GraphError, GraphTimeout, GraphUnavailable, instagram_api
from keloa_web.integrations import channels as channel_ops
from keloa_web.integrations import instagram, oauth_state
from keloa_web.integrations.connect import finish_connection
from keloa_web.integrations.views import bp
from keloa_web.models import Login

log = logging.getLogger(__name__)
AGAIN = "Choose \"Connect with Instagram\" to try again."


def _back(message: str, category: str = "error"):
    flash(message, category)
    return redirect(url_for("integrations.index"))


def _graph_message(exc: GraphError) -> str:
    if exc.token_invalid:
        return f"Instagram says the log-in is no longer valid. {AGAIN}"
    if isinstance(exc, (GraphUnavailable, GraphTimeout)):
        return f"Keloa could not reach Instagram ({exc.message}). Try again in a moment."
    return f"Instagram refused the request: {exc.message}. {AGAIN}"


@bp.post("/instagram/login")
@admin_required
def instagram_login():
    if not instagram.enabled():
        return _back("Instagram Login is not set up on this Keloa: the operator sets INSTAGRAM_APP_ID and "
                     "INSTAGRAM_APP_SECRET (the README's \"Registering Keloa with Meta\" says how).")
    instagram.remember_choice(bool(request.form.get("backfill")))
    return instagram.client().authorize_redirect(instagram.redirect_uri())


@bp.get("/instagram/callback")
@admin_required
def instagram_callback():
    if not instagram.enabled():
        return _back("Instagram Login is not set up on this Keloa: the operator sets INSTAGRAM_APP_ID and "
                     "INSTAGRAM_APP_SECRET (the README's \"Registering Keloa with Meta\" says how).")
    client = instagram.client()
    refused = oauth_state.refusal(client, "Instagram", "log-in", AGAIN)
    if refused:
        return _back(*refused)
    choice = instagram.take_choice()
    try:
        with db.released():  # Instagram's token endpoint
            token = client.authorize_access_token()
    except MismatchingStateError:
        return _back(f"This log-in link was already used or has expired, so it was ignored. {AGAIN}")
    except OAuthError as exc:
        detail = exc.description or exc.error
        log.warning("Instagram token exchange refused: %s", detail)
        return _back(f"Instagram refused the log-in code ({detail}). It may have been used already or expired. "
                     f"{AGAIN}")
    except requests.RequestException as exc:
        log.warning("Instagram token endpoint unreachable: %s", type(exc).__name__)
        return _back("Keloa could not reach Instagram to finish the log-in. Try again in a moment.")
    except (ValueError, TypeError, KeyError):  # an answer not in the documented shape
        log.warning("Instagram's token endpoint gave an unexpected answer")
        return _back(f"Instagram gave an unexpected answer to the log-in. {AGAIN}")
    scopes = instagram.granted(token)
    missing = [s for s in instagram.SCOPES if s not in scopes]
    if missing:
        return _back(f"Instagram did not grant {', '.join(missing)}: Keloa needs it to read and answer Direct "
                     f"Messages. {AGAIN[:-1]} and leave every permission ticked.")
    if not isinstance(token.get("access_token"), str):
        return _back(f"Instagram gave an unexpected answer to the log-in. {AGAIN}")
    try:
        long_lived = instagram.exchange_long_lived(token["access_token"], scopes)
        account = instagram.fetch_account(long_lived.access_token)
    except GraphError as exc:
        return _back(_graph_message(exc))
    if not account.professional:
        return _back(f"@{account.username} is not a professional account. Switch it to a business or creator "
                     "account in the Instagram app (Settings → Account type and tools), then connect again.")
    api = instagram_api(long_lived.access_token)
    try:
        channel_ops.subscribe(api)
    except GraphError as exc:
        return _back(f"Instagram refused to send @{account.username}'s messages to Keloa: {exc.message}. Check "
                     f"that the Instagram app has the messages webhook field, then {AGAIN[0].lower()}{AGAIN[1:]}")
    first_call_error = channel_ops.first_conversations_call(account.ig_id, api)
    before, stale = channel_ops.leave_other_login(db.session, account.ig_id, Login.INSTAGRAM)
    try:
        channel, created = channel_ops.upsert_instagram_channel(db.session, account, long_lived)
    except IntegrityError:  # connected at the same moment by another admin: update theirs
        db.session.rollback()
        channel, created = channel_ops.upsert_instagram_channel(db.session, account, long_lived)
    return finish_connection(channel, created, connected_as=f"@{channel.ig_username}", login="with Instagram Login",
                             first_call_error=first_call_error, backfill=bool(choice.get("backfill")),
                             before=before, stale=stale, who="Instagram")
