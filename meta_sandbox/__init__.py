"""Meta sandbox: a local stand-in for Facebook Login, the Graph API and Instagram webhooks.

It never imports keloa_web; Keloa talks to it over HTTP exactly as it would to Meta.
"""
from flask import Flask
from werkzeug.routing import BaseConverter

from . import seed
from .config import load_settings
from .state import Store
from .webhooks import Deliverer


class VersionConverter(BaseConverter):
    regex = r"v[0-9]+\.[0-9]+"


class Sandbox:
    """Everything one sandbox app owns: settings, state and the webhook deliverer."""

    def __init__(self, settings):
        self.initial_settings = dict(settings)
        self.settings = settings
        self.store = Store(settings)
        seed.load(self.store)
        self.webhooks = Deliverer(self)

    def reset(self, settings=False):
        """Reseed the world; with settings=True also undo POST /_sandbox/config changes."""
        with self.webhooks.busy:  # waits for a POST in flight: none of the old world arrives later
            with self.store.lock:
                if settings:
                    self.settings.clear()
                    self.settings.update(self.initial_settings)
                self.store.reset_data()
                seed.load(self.store)
            self.webhooks.clear()


def create_app(config=None):
    from . import control, control_events, customer, graph, instagram, mail, media, oauth

    settings = load_settings(config)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings["SANDBOX_APP_SECRET"]
    app.json.sort_keys = False
    app.url_map.converters["ver"] = VersionConverter
    app.extensions["meta_sandbox"] = Sandbox(settings)
    for bp in (oauth.bp, instagram.bp, control.bp, control_events.bp, media.bp, customer.bp, mail.bp, graph.bp):
        app.register_blueprint(bp)
    return app
