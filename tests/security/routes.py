"""Every route of the app, with sample arguments, for access-control and fuzz tests."""
from __future__ import annotations

from dataclasses import dataclass

# Endpoints anyone may reach without signing in. Adding one here is a security decision.
PUBLIC_ENDPOINTS = {"accounts.login", "accounts.setup", "accounts.accept_invite", "health.healthz", "static",
                    # "Forgot password?" and its single-use link (the same answer for any address)
                    "accounts.forgot_password", "accounts.reset_password",
                    # the code after a right password (two-factor sign-in), and leaving that step
                    "accounts.login_code", "accounts.login_code_cancel",
                    # the link sent to a new email address: opening it is the proof of owning it
                    "accounts.email_confirm",
                    # Meta's deauthorize callback: refuses anything without a valid signed_request.
                    "meta_deauth.deauthorize",
                    # signed, expiring links to media Keloa sends: Meta fetches them without a session
                    "media.media_public",
                    # Meta's data deletion callback (signed_request) and the status page its answer links
                    "privacy.data_deletion_callback", "privacy.deletion_status"}
# Blueprints that receive calls from Meta (signed), not from people.
PUBLIC_BLUEPRINTS = {"webhooks"}
# Areas only admins may change (issue text: team, integrations, agents, failed events).
ADMIN_BLUEPRINTS = {"team", "integrations", "agents", "events", "labels", "contact_fields"}
# Admin-area pages an agent may still look at (read-only), with why.
AGENT_MAY_VIEW: dict[str, str] = {}


@dataclass(frozen=True)
class Route:
    rule: str
    endpoint: str
    method: str

    @property
    def blueprint(self) -> str:
        return self.endpoint.split(".", 1)[0] if "." in self.endpoint else ""

    @property
    def public(self) -> bool:
        return self.endpoint in PUBLIC_ENDPOINTS or self.blueprint in PUBLIC_BLUEPRINTS

    def url(self, ids: int = 1) -> str:
        """The rule with its arguments filled: numbers for int converters, a word for the rest."""
        out = self.rule
        import re

        for match in re.finditer(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>", self.rule):
            converter = match.group(1) or "string"
            value = str(ids) if converter == "int" else "keloa.css" if converter == "path" else "x"
            if converter == "any":  # the first of its choices
                value = match.group(2).split(",")[0].strip().strip("'\"")
            out = out.replace(match.group(0), value, 1)
        return out


def all_routes(app) -> list[Route]:
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append(Route(rule.rule, rule.endpoint, method))
    return sorted(routes, key=lambda r: (r.rule, r.method))


def route_id(route: Route) -> str:
    return f"{route.method} {route.rule}"
