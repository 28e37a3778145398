"""Sign in with Meta, pick a Page, check it, connect it."""
from __future__ import annotations

import logging

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from flask import flash, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from keloa_web.auth import admin_required
from keloa_web.db import db
from keloa_web.graph import GraphClient, GraphError, GraphTimeout, GraphUnavailable, page_api
from keloa_web.htmx import render_page
from keloa_web.integrations import channels as channel_ops
from keloa_web.integrations import checks, meta, oauth_state
from keloa_web.integrations.views import bp
from keloa_web.models import BackfillState, Channel, Login

log = logging.getLogger(__name__)


def _back(message: str, category: str = "error"):
    flash(message, category)
    return redirect(url_for("integrations.index"))


def _graph_message(exc: GraphError) -> str:
    if exc.token_invalid:
        return "Meta says the sign-in is no longer valid. Sign in with Meta again."
    if isinstance(exc, (GraphUnavailable, GraphTimeout)):
        return f"Keloa could not reach Meta ({exc.message}). Try again in a moment."
    return f"Meta refused the request: {exc.message}. Try again, or sign in with Meta again."


def _not_set_up():
    return _back("Facebook Login is not set up on this Keloa: the operator sets META_APP_ID and META_APP_SECRET "
                 "(the README's \"Registering Keloa with Meta\" says how).")


@bp.post("/meta/login")
@admin_required
def meta_login():
    if not meta.enabled():
        return _not_set_up()
    extra = {"auth_type": "rerequest"} if request.form.get("rerequest") else {}
    return meta.client().authorize_redirect(meta.redirect_uri(), **extra)


@bp.get("/meta/callback")
@admin_required
def meta_callback():
    if not meta.enabled():
        return _not_set_up()
    client = meta.client()
    refused = oauth_state.refusal(client, "Meta", "sign-in", "Choose \"Connect through Facebook\" to try again.")
    if refused:
        return _back(*refused)
    try:
        with db.released():  # Meta's token endpoint
            token = client.authorize_access_token()
    except MismatchingStateError:
        return _back("This sign-in link was already used or has expired, so it was ignored. Choose "
                     "\"Connect through Facebook\" to sign in again.")
    except OAuthError as exc:
        detail = exc.error.get("message") if isinstance(exc.error, dict) else (exc.description or exc.error)
        log.warning("Meta token exchange refused: %s", detail)
        return _back(f"Meta refused the sign-in code ({detail}). It may have been used already or expired. "
                     "Choose \"Connect through Facebook\" to sign in again.")
    except requests.RequestException as exc:
        log.warning("Meta token endpoint unreachable: %s", type(exc).__name__)
        return _back("Keloa could not reach Meta to finish the sign-in. Try again in a moment.")
    except (ValueError, TypeError, KeyError):  # an answer not in the documented shape
        log.warning("Meta's token endpoint gave an unexpected answer")
        return _back("Meta gave an unexpected answer to the sign-in. Choose \"Connect through Facebook\" to try "
                     "again.")
    try:
        long_lived = meta.exchange_long_lived(token["access_token"])
        with db.released():
            me = GraphClient.from_app().get("me", long_lived, fields="id,name")
    except GraphError as exc:
        return _back(_graph_message(exc))
    meta.remember_login(meta.MetaLogin(str(me["id"]), me.get("name") or "", long_lived))
    return redirect(url_for("integrations.pages_index"))


def _picker(problem: checks.Problem | None = None, problem_page: str | None = None, status: int = 200):
    login = meta.current_login()
    if login is None:
        return _back("Your Meta sign-in has expired (it lasts an hour). Choose \"Connect through Facebook\" to "
                     "sign in again.", "warning")
    try:
        pages = meta.fetch_pages(login.token)
        missing = meta.declined_scopes(login.token)
    except GraphError as exc:
        return _back(_graph_message(exc))
    known = {c.ig_account_id: c for c in db.session.scalars(select(Channel))}
    # What stops each Page, said before anyone presses Connect (Meta would refuse later anyway).
    blocked = {p.id: checks.page_problem(p.id, pages) for p in pages}
    return render_page("integrations/pages.html", login=login, pages=pages, known=known, blocked=blocked,
                       scopes_problem=checks.scopes_problem(missing), problem=problem,
                       problem_page=problem_page, status=status)


@bp.get("/meta/pages")
@admin_required
def pages_index():
    if not meta.enabled():
        return _not_set_up()
    return _picker()


@bp.post("/meta/pages/<page_id>/connect")
@admin_required
def page_connect(page_id: str):
    if not meta.enabled():
        return _not_set_up()
    login = meta.current_login()
    if login is None:
        return _back("Your Meta sign-in has expired (it lasts an hour). Choose \"Connect through Facebook\" to "
                     "sign in again.", "warning")
    try:
        problem = checks.scopes_problem(meta.declined_scopes(login.token))
        pages = meta.fetch_pages(login.token)
    except GraphError as exc:
        return _back(_graph_message(exc))
    problem = problem or checks.page_problem(page_id, pages)
    if problem:
        return _picker(problem, page_id, status=409)
    page = next(p for p in pages if p.id == page_id)
    try:
        channel_ops.subscribe_page(page.id, page.token)
    except GraphError as exc:
        problem = checks.Problem(
            "Could not subscribe the Page", f"Meta refused to send this Page's messages to Keloa: {exc.message}",
            "Check that you can manage the Page (Admin, or a role with \"Community activity\"), then try again.")
        return _picker(problem, page_id, status=409)
    first_call_error = channel_ops.first_conversations_call(page.ig_id, page_api(page.id, page.token))
    before, stale = channel_ops.leave_other_login(db.session, page.ig_id, Login.FACEBOOK)
    try:
        channel, created = channel_ops.upsert_channel(db.session, login, page)
    except IntegrityError:
        # Another admin connected this account between our look-up and our insert: update theirs.
        db.session.rollback()
        channel, created = channel_ops.upsert_channel(db.session, login, page)
    return finish_connection(channel, created, connected_as=f"@{channel.ig_username} ({page.name})",
                             first_call_error=first_call_error, backfill=bool(request.form.get("backfill")),
                             before=before, stale=stale, who="Meta")


def finish_connection(channel: Channel, created: bool, *, connected_as: str, first_call_error: str | None,
                      backfill: bool, before: str | None, who: str, login: str = "", stale: str | None = None):
    """The end of either way of connecting: record the first Conversations API call, start the
    import of recent conversations when asked, commit, and say what happened."""
    channel_ops.record_conversations_call(channel, first_call_error)
    if backfill:
        channel.backfill_state, channel.backfill_done, channel.backfill_total = BackfillState.RUNNING, 0, 0
        channel.backfill_skipped, channel.backfill_note = 0, None
    db.session.commit()
    if backfill:
        from keloa_web.integrations.backfill import backfill_channel

        backfill_channel.enqueue(channel.id, job_id=f"backfill-{channel.id}")
    verb = ("connected" if created else "reconnected") + (f" {login}" if login else "")
    switched = f" (it was connected through {before}; its conversations and settings stay)" if before else ""
    flash(f"{connected_as} is {verb}{switched}. New Direct Messages arrive in the inbox.", "success")
    if before and stale:
        flash(f"Keloa could not stop the notifications of the connection through {before.removeprefix('its ')} "
              f"({stale}). Meta may go on sending them as well; Keloa keeps each message once. To stop them, "
              "remove Keloa's app from the account's settings at Meta.", "warning")
    if first_call_error:
        flash(f"{who} refused Keloa's first Conversations API call ({first_call_error}). A creator account gets "
              "no messages until that call succeeds: open \"Check connection\" on its card to try again.", "warning")
    return redirect(url_for("integrations.index"))
