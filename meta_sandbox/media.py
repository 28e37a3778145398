"""CDN-like media: lookaside-style URLs that expire on the sandbox clock."""
import mimetypes
import os
import secrets

from flask import Blueprint, Response, abort, current_app, request

MEDIA_DIR = os.path.join(os.path.dirname(__file__), "static", "media")

bp = Blueprint("media", __name__)


def create_asset(store, file=None, data=None, content_type=None, ttl=None, created=None, kind="media"):
    """Register bytes (or a shipped file) under a new asset id. ttl None = never expires."""
    with store.lock:
        asset_id = store.new_digits("18", 17)
        if content_type is None and file:
            content_type = mimetypes.guess_type(file)[0] or "application/octet-stream"
        asset = {"id": asset_id, "file": file, "data": data, "content_type": content_type,
                 "created": store.now() if created is None else created, "ttl": ttl,
                 "signature": "AY" + secrets.token_urlsafe(40), "deleted": False, "kind": kind}
        store.assets[asset_id] = asset
        return asset


def shared_asset(store, file, ttl, kind):
    """Reuse a live asset of this file while more than half its lifetime is left (profile pictures)."""
    with store.lock:
        key = (file, kind)
        asset = store.shared_assets.get(key)
        if asset and not asset["deleted"] and store.now() < asset["created"] + ttl / 2:
            return asset
        asset = create_asset(store, file=file, ttl=ttl, kind=kind)
        store.shared_assets[key] = asset
        return asset


def asset_url(settings, asset):
    return (f"{settings['SANDBOX_PUBLIC_URL']}/ig_messaging_cdn/"
            f"?asset_id={asset['id']}&signature={asset['signature']}")


def asset_bytes(asset):
    if asset.get("data") is not None:
        return asset["data"]
    with open(os.path.join(MEDIA_DIR, asset["file"]), "rb") as fh:
        return fh.read()


def asset_alive(store, asset):
    if asset["deleted"]:
        return False
    return asset["ttl"] is None or store.now() < asset["created"] + asset["ttl"]


def attachment_payload(store, att):
    """Render a stored attachment {type, asset_id, ...extra} as a webhook attachment."""
    payload = {k: v for k, v in att.items() if k not in ("type", "asset_id", "url_key")}
    if att.get("asset_id"):
        asset = store.assets.get(att["asset_id"])
        if asset:
            payload[att.get("url_key", "url")] = asset_url(store.settings, asset)
    out = {"type": att["type"]}
    if payload:
        out["payload"] = payload
    return out


def lookup_asset_from_url(store, url):
    """If url is one of our own CDN URLs, return its asset (or None)."""
    base = store.settings["SANDBOX_PUBLIC_URL"] + "/ig_messaging_cdn/"
    if not url.startswith(base):
        return None
    from urllib.parse import parse_qs, urlparse
    q = parse_qs(urlparse(url).query)
    asset = store.assets.get((q.get("asset_id") or [""])[0])
    if asset and (q.get("signature") or [""])[0] == asset["signature"]:
        return asset
    return None


@bp.route("/ig_messaging_cdn/")
def cdn():
    store = current_app.extensions["meta_sandbox"].store
    asset = store.assets.get(request.args.get("asset_id", ""))
    if asset is None or asset["deleted"]:
        abort(404)
    if request.args.get("signature") != asset["signature"]:
        return Response("Bad signature", status=403, mimetype="text/plain")
    if not asset_alive(store, asset):
        return Response("URL signature expired", status=403, mimetype="text/plain")
    return Response(asset_bytes(asset), mimetype=asset["content_type"],
                    headers={"Cache-Control": "no-store"})
