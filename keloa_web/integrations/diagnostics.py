""""Check connection": live checks of one channel against Meta, each with what to do when it fails."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, flash, redirect, url_for

from keloa_web import crypto
from keloa_web.auth import admin_required
from keloa_web.db import db, utcnow
from keloa_web.graph import ChannelApi, GraphClient, GraphError, for_channel
from keloa_web.htmx import hx_redirect, is_htmx, render_page
from keloa_web.integrations import channels as channel_ops
from keloa_web.integrations import checks, instagram, meta, ratelimit, tokens
from keloa_web.integrations.views import bp, get_channel
from keloa_web.models import Channel, ChannelStatus

RECENT = timedelta(days=7)
DM_SWITCH = ("In the Instagram app: Settings → Messages and story replies → Message controls → "
             "Connected tools → turn on \"Allow access to messages\". Then check again.")


@dataclass
class Check:
    name: str
    state: str  # pass | fail | warn | skip
    detail: str
    fix: str = ""
    action: str | None = None  # reconnect | subscribe


def run_checks(channel: Channel) -> list[Check]:
    if channel.instagram_login and channel.status != ChannelStatus.DISCONNECTED:
        return _instagram_checks(channel)
    graph = GraphClient.from_app()
    page_token = channel_ops.page_token(channel)
    user_token = crypto.decrypt(channel.meta_user_token_enc)
    out: list[Check] = []
    if channel.status == ChannelStatus.DISCONNECTED or not page_token:
        return [Check("Connected", "fail", "This channel is disconnected.",
                      "Choose \"Connect through Facebook\" and pick this Page to connect it again.", "reconnect")]

    try:
        with db.released():
            graph.get("me", page_token, fields="id")
        out.append(Check("Access token valid", "pass", "Meta accepts Keloa's token for this Page."))
    except GraphError as exc:
        if not exc.token_invalid:
            out.append(Check("Access token valid", "warn", f"Meta did not answer clearly: {exc}",
                             "Try again in a moment."))
        else:
            channel_ops.mark_needs_reconnect(db.session, channel.id, channel_ops.token_reason(exc))
            db.session.commit()
            out.append(Check("Access token valid", "fail", f"Meta rejected the token: {exc.message}",
                             "Reconnect: sign in with Meta again and pick this Page. Nothing is lost.", "reconnect"))
            return out

    out.extend(_user_checks(graph, channel, user_token))
    out.append(_ig_check(graph, channel, page_token))
    api = for_channel(channel)
    out.append(_subscription_check(api, channel))
    out.append(_webhook_check(channel))
    out.append(_dm_access_check(api, channel))
    out.append(_conversations_call_check(channel))
    return out


def _instagram_checks(channel: Channel) -> list[Check]:
    """Instagram Login: the account's own token on graph.instagram.com (no Page, no Meta user)."""
    api = for_channel(channel)
    if not api.token:
        return [Check("Connected", "fail", "Keloa can no longer read this account's access token.",
                      "Choose \"Connect with Instagram\" and log in as this account again.", "reconnect")]
    try:
        with db.released():
            me = api.get("me", fields="user_id,username,account_type")
    except GraphError as exc:
        if not exc.token_invalid:
            return [Check("Access token valid", "warn", f"Meta did not answer clearly: {exc}", "Try again in a moment.")]
        channel_ops.mark_needs_reconnect(db.session, channel.id, channel_ops.token_reason(exc))
        db.session.commit()
        return [Check("Access token valid", "fail", f"Meta rejected the token: {exc.message}",
                      "Reconnect: choose \"Connect with Instagram\" and log in as this account. Nothing is lost.",
                      "reconnect")]
    out = [Check("Access token valid", "pass", "Meta accepts Keloa's Instagram token for this account.")]
    if str(me.get("user_id")) != channel.ig_account_id:
        out.append(Check("The same Instagram account", "fail", f"The token now belongs to @{me.get('username')}, not "
                         f"@{channel.ig_username}.", "Reconnect and log in as this account.", "reconnect"))
    out.append(_token_life_check(channel))
    missing = [s for s in instagram.SCOPES if s not in (channel.token_scopes or "").split(",")]
    out.append(Check("Permissions granted", "fail", f"Instagram did not grant: {', '.join(missing)}.",
                     "Reconnect and leave every permission ticked in Instagram's window.", "reconnect") if missing
               else Check("Permissions granted", "pass", f"Granted: {', '.join(instagram.SCOPES)}."))
    out.append(_subscription_check(api, channel))
    out.append(_webhook_check(channel))
    out.append(_dm_access_check(api, channel))
    out.append(_conversations_call_check(channel))
    return out


def _token_life_check(channel: Channel) -> Check:
    name = "Access token renews itself"
    issued, expires = channel.token_issued_at, channel.token_expires_at
    if issued is None or expires is None:
        return Check(name, "warn", "Keloa does not know when this token expires.",
                     "Reconnect with Instagram so that Keloa can renew it.", "reconnect")
    now = utcnow()
    days_old, days_left = (now - issued).days, (expires - now).days
    nxt = tokens.next_refresh(issued, expires)
    detail = (f"Issued or last renewed on {issued:%Y-%m-%d} ({days_old} day{'s' if days_old != 1 else ''} ago); "
              f"it expires on {expires:%Y-%m-%d} ({days_left} days left). Keloa renews it from {nxt:%Y-%m-%d}.")
    if channel.token_refresh_error:
        return Check(name, "fail" if channel.status != ChannelStatus.ACTIVE else "warn",
                     f"{detail} The last renewal failed ({channel.token_refresh_failures} in a row): "
                     f"{channel.token_refresh_error}", "Keloa tries again every hour; if it keeps failing, reconnect "
                     "with Instagram before the token expires.", "reconnect")
    return Check(name, "pass", detail)

def _user_checks(graph: GraphClient, channel: Channel, user_token: str | None) -> list[Check]:
    names = ("Permissions granted", "You still manage the Page")
    if not user_token:
        return [Check(n, "skip", "Keloa has no Meta sign-in stored for this channel.",
                      "Reconnect to refresh it.", "reconnect") for n in names]
    try:
        missing = meta.declined_scopes(user_token)
        pages = meta.fetch_pages(user_token)
    except GraphError as exc:
        why = ("The Meta sign-in used to connect has expired or was revoked (they last about 60 days)."
               if exc.token_invalid else f"Meta did not answer: {exc}")
        return [Check(n, "skip", why, "This does not stop messages. Reconnect to refresh it.", "reconnect")
                for n in names]
    problem = checks.scopes_problem(missing)
    out = [Check(names[0], "fail", problem.detail, problem.fix + " (Use Reconnect.)", "reconnect") if problem
           else Check(names[0], "pass", "Every permission Keloa needs is granted.")]
    problem = checks.page_problem(channel.page_id, pages)
    if problem and problem.title == "Missing permissions":
        out.append(Check(names[1], "fail", problem.detail, problem.fix))
    else:
        out.append(Check(names[1], "pass", f"Your Meta account can answer messages for {channel.page_name}."))
    return out


def _ig_check(graph: GraphClient, channel: Channel, token: str) -> Check:
    name = "Instagram account professional and linked"
    try:
        with db.released():
            body = graph.get(channel.page_id, token, fields="instagram_business_account{id,username,name,"
                                                            "profile_picture_url},connected_instagram_account")
    except GraphError as exc:
        return Check(name, "warn", f"Meta did not answer: {exc}", "Try again in a moment.")
    ig = body.get("instagram_business_account") or {}
    if ig.get("id") == channel.ig_account_id:
        # Meta's picture links expire after a few days: take the fresh one while we are here.
        channel.ig_username = ig.get("username") or channel.ig_username
        channel.ig_picture_url = ig.get("profile_picture_url") or channel.ig_picture_url
        db.session.commit()
        return Check(name, "pass", f"@{ig.get('username') or channel.ig_username} is a professional account "
                                   f"linked to {channel.page_name}.")
    if body.get("connected_instagram_account") and not ig:
        return Check(name, "fail", "The Instagram account linked to the Page is now a personal account.",
                     "Switch it back to a professional account in the Instagram app (Settings → Account type "
                     "and tools).")
    return Check(name, "fail", f"@{channel.ig_username} is no longer linked to {channel.page_name}.",
                 "Link the Instagram account to the Page again (Instagram app → Settings → Accounts Center), "
                 "then reconnect.", "reconnect")


def _subscription_check(api: ChannelApi, channel: Channel) -> Check:
    ig = channel.instagram_login
    name = "Account subscribed to message notifications" if ig else "Page subscribed to message notifications"
    whose = f"@{channel.ig_username}'s" if ig else "this Page's"
    try:
        with db.released():
            apps = api.get(api.subscribed_apps).get("data", [])
    except GraphError as exc:
        return Check(name, "warn", f"Meta did not answer: {exc}", "Try again in a moment.")
    app_id = current_app.config["INSTAGRAM_APP_ID" if ig else "META_APP_ID"]
    # An entry without an app id (graph.instagram.com may leave it out) counts as Keloa's only when it
    # is the sole subscription: the token is Keloa's app's, so the subscription it lists is too.
    anonymous = apps[0] if ig and len(apps) == 1 and not apps[0].get("id") else None
    mine = next((a for a in apps if str(a.get("id")) == str(app_id)), anonymous)
    fields = set((mine or {}).get("subscribed_fields") or [])
    wanted = channel_ops.INSTAGRAM_WEBHOOK_FIELDS if ig else meta.WEBHOOK_FIELDS
    missing = [f for f in wanted if f not in fields]
    if not missing:
        return Check(name, "pass", f"Meta sends {whose} messages to Keloa.")
    detail = (f"Meta is not sending {whose} messages to Keloa." if not fields
              else f"The subscription lacks: {', '.join(missing)}.")
    return Check(name, "fail", detail + " Meta drops the subscription after about an hour of failed "
                 "deliveries (for example while Keloa was unreachable).", "Choose \"Subscribe again\".", "subscribe")


def _webhook_check(channel: Channel) -> Check:
    name = "Messages arriving"
    if channel.last_webhook_at is None:
        return Check(name, "warn", "No notification from Meta has arrived since this account was connected.",
                     f"Send a test message to @{channel.ig_username} from another Instagram account. If it does "
                     "not show up and no check above failed, look at the Meta app dashboard: the webhook callback "
                     f"must be {current_app.config['PUBLIC_BASE_URL']}/webhooks/instagram with the "
                     "\"instagram\" object subscribed to messages.")
    age = utcnow() - channel.last_webhook_at
    when = f"{channel.last_webhook_at:%Y-%m-%d %H:%M} UTC"
    if age > RECENT:
        return Check(name, "warn", f"The last notification from Meta arrived on {when}.",
                     "If customers wrote since, fix any check above that failed, then send a test message.")
    return Check(name, "pass", f"The last notification from Meta arrived on {when}.")


def _dm_access_check(api: ChannelApi, channel: Channel) -> Check:
    name = "Access to messages allowed"
    try:
        with db.released():
            ratelimit.wait_turn(channel.ig_account_id)
            api.get(api.conversations, platform="instagram", limit=1)
    except GraphError as exc:
        channel_ops.record_conversations_call(channel, exc.message)
        db.session.commit()
        if exc.dm_access_off:
            return Check(name, "fail", f"The owner of @{channel.ig_username} has turned off access to messages "
                                       "for connected tools.", DM_SWITCH)
        return Check(name, "warn", f"Meta did not answer: {exc}", "Try again in a moment.")
    channel_ops.record_conversations_call(channel, None)  # this was a Conversations API call too
    db.session.commit()
    return Check(name, "pass", f"@{channel.ig_username} allows connected tools to read and send messages.")


def _conversations_call_check(channel: Channel) -> Check:
    name = "Conversations API call made"
    if channel.conversations_api_at is not None:
        return Check(name, "pass", f"Keloa called Meta's Conversations API for @{channel.ig_username} on "
                                   f"{channel.conversations_api_at:%Y-%m-%d %H:%M} UTC: Meta sends messages of "
                                   "creator accounts only after such a call.")
    why = f" Meta answered: {channel.conversations_api_error}." if channel.conversations_api_error else ""
    return Check(name, "fail", "Keloa has not yet made a Conversations API call for this account: a creator "
                               "account gets no messages until one succeeds." + why,
                 "Fix the checks above, then choose \"Check again\" (it makes the call).")


@bp.get("/channels/<int:channel_id>/diagnostics")
@admin_required
def diagnostics_show(channel_id: int):
    """The page only: the checks run on POST (they ask Meta and may record what they learn)."""
    channel = get_channel(channel_id)
    return render_page("integrations/diagnostics.html", channel=channel, results=None)


@bp.post("/channels/<int:channel_id>/diagnostics")
@admin_required
def diagnostics_run(channel_id: int):
    channel = get_channel(channel_id)
    results = run_checks(channel)
    return render_page("integrations/diagnostics.html", block="checks", channel=channel, results=results)


@bp.post("/channels/<int:channel_id>/subscription")
@admin_required
def subscription_create(channel_id: int):
    channel = get_channel(channel_id)
    try:
        channel_ops.subscribe(for_channel(channel))
        flash(f"{channel.page_name or '@' + channel.ig_username} is subscribed again: Meta sends its messages to "
              "Keloa.", "success")
    except GraphError as exc:
        if exc.token_invalid:
            channel_ops.mark_needs_reconnect(db.session, channel.id, channel_ops.token_reason(exc))
            db.session.commit()
        flash(f"Meta refused the subscription: {exc.message}. Reconnect the channel, then try again.", "error")
    target = url_for("integrations.diagnostics_show", channel_id=channel.id)
    return hx_redirect("integrations.diagnostics_show", channel_id=channel.id) if is_htmx() else redirect(target)
