"""WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app`."""
import os

from werkzeug.middleware.proxy_fix import ProxyFix

from keloa_web import create_app
from keloa_web.db import WEB_WAL_AUTOCHECKPOINT

# Web processes leave SQLite's WAL checkpoints to the workers (see keloa_web/db.py).
app = create_app({"SQLITE_WAL_AUTOCHECKPOINT": WEB_WAL_AUTOCHECKPOINT})

# Behind nginx (or any proxy), take the client's address and scheme from the headers the proxy
# sets, trusting exactly that many hops: login rate limits count per client, not per proxy.
_hops = int(os.environ.get("TRUSTED_PROXY_HOPS", "0") or 0)
if _hops:
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=_hops, x_proto=_hops, x_host=0, x_port=0)
