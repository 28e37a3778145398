"""The one place Keloa touches htmx: request detection and page-or-block rendering."""
from __future__ import annotations

from flask import Response, make_response, render_template, url_for
from htmx_flask import Htmx, request
from jinja2_fragments.flask import render_block, render_blocks

htmx = Htmx()


def is_htmx() -> bool:
    return bool(getattr(request, "htmx", False))


def render_page(template: str, block: str | list[str] | None = None, status: int = 200, **context) -> Response:
    """Render the whole page, or only the named block(s) of it for an htmx request.

    A partial is always a block of its full page, so every URL also works without htmx.
    """
    if block and is_htmx() and not request.htmx.boosted:
        if isinstance(block, str):
            body = render_block(template, block, **context)
        else:
            body = render_blocks(template, block, **context)
    else:
        body = render_template(template, **context)
    resp = make_response(body, status)
    resp.headers["Vary"] = "HX-Request"
    return resp


def hx_redirect(endpoint: str, **values) -> Response:
    resp = make_response("", 204)
    resp.headers["HX-Redirect"] = url_for(endpoint, **values)
    return resp
