"""The one place Keloa touches htmx: request detection, page-or-block rendering, `Vary`."""
from __future__ import annotations

from flask import Flask, Response, g, make_response, render_template, url_for
from htmx_flask import Htmx, request
from jinja2_fragments.flask import render_block, render_blocks

htmx = Htmx()


def init_app(app: Flask) -> None:
    htmx.init_app(app)
    app.after_request(_vary)


def is_htmx() -> bool:
    """Whether htmx sent this request. Asking makes the answer vary on HX-Request (see `_vary`)."""
    g.varies_on_htmx = True
    return bool(getattr(request, "htmx", False))


def _vary(resp: Response) -> Response:
    """`Vary: HX-Request` on every response whose view asked `is_htmx()`, so that no cache hands
    a fragment to a full-page load or the other way round."""
    if g.get("varies_on_htmx"):
        resp.vary.add("HX-Request")
    return resp


def render_page(template: str, block: str | list[str] | None = None, status: int = 200, **context) -> Response:
    """Render the whole page, or only the named block(s) of it for an htmx request.

    A partial is always a block of its full page, so every URL also works without htmx.
    """
    if is_htmx() and block and not request.htmx.boosted:
        if isinstance(block, str):
            body = render_block(template, block, **context)
        else:
            body = render_blocks(template, block, **context)
    else:
        body = render_template(template, **context)
    return make_response(body, status)


def hx_redirect(endpoint: str, **values) -> Response:
    resp = make_response("", 204)
    resp.headers["HX-Redirect"] = url_for(endpoint, **values)
    return resp
