"""WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app`."""
import os

from werkzeug.middleware.proxy_fix import ProxyFix

from keloa_web import create_app, create_callback_app
from keloa_web.db import WEB_WAL_AUTOCHECKPOINT

# Web processes leave SQLite's WAL checkpoints to the workers (see keloa_web/db.py).
web = create_app({"SQLITE_WAL_AUTOCHECKPOINT": WEB_WAL_AUTOCHECKPOINT})
# Meta's webhook callback is served by an app object without the browser machinery (sessions,
# sign-in, CSRF): see keloa_web.create_callback_app.
callbacks = create_callback_app({"SQLITE_WAL_AUTOCHECKPOINT": WEB_WAL_AUTOCHECKPOINT})
CALLBACK_PATHS = frozenset({"/webhooks/instagram"})
apps = (web, callbacks)

# Behind nginx (or any proxy), take the client's address and scheme from the headers the proxy
# sets, trusting exactly that many hops: login rate limits count per client, not per proxy.
_hops = int(os.environ.get("TRUSTED_PROXY_HOPS", "0") or 0)
if _hops:
    web.wsgi_app = ProxyFix(web.wsgi_app, x_for=_hops, x_proto=_hops, x_host=0, x_port=0)


def app(environ, start_response):
    """The WSGI entry point: Meta's callback path to `callbacks`, everything else to `web`."""
    target = callbacks if environ.get("PATH_INFO") in CALLBACK_PATHS else web
    return target(environ, start_response)
