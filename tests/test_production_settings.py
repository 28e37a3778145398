"""KELOA_ENV=production refuses weak keys and plain http, except http under the named test escape hatch."""
from __future__ import annotations

import logging
import secrets

import pytest

from config import Config, secret_key_weakness

STRONG_KEY = secrets.token_urlsafe(48)
HTTPS = {"PUBLIC_BASE_URL": "https://inbox.example.com", "GRAPH_API_BASE": "https://graph.facebook.com",
         "INSTAGRAM_AUTHORIZE_URL": "https://www.instagram.com/oauth/authorize",
         "INSTAGRAM_OAUTH_TOKEN_URL": "https://api.instagram.com/oauth/access_token",
         "INSTAGRAM_GRAPH_BASE": "https://graph.instagram.com",
         "META_AUTHORIZE_URL": "https://www.facebook.com/v25.0/dialog/oauth"}


@pytest.fixture()
def production(monkeypatch, settings):
    """The test settings as a production start: a strong key and https everywhere."""
    for key, value in {**settings, **HTTPS, "KELOA_ENV": "production", "SECRET_KEY": STRONG_KEY}.items():
        monkeypatch.setenv(key, value)
    for name in ("SESSION_COOKIE_SECURE", "KELOA_INSECURE_TEST_SETUP"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _refusal() -> str:
    from keloa_web import create_app

    with pytest.raises(RuntimeError) as err:
        create_app()
    return str(err.value)


def test_a_safe_production_configuration_starts(production):
    from keloa_web import create_app

    assert Config().problems() == []
    assert create_app().config["SESSION_COOKIE_SECURE"] is True


def test_either_login_is_enough_and_neither_is_refused(production):
    """An operator may configure Facebook Login, Instagram Login, or both."""
    for name in ("META_APP_ID", "META_APP_SECRET"):
        production.delenv(name)
    assert Config().problems() == []  # Instagram Login alone
    production.delenv("INSTAGRAM_APP_SECRET")
    assert "INSTAGRAM_APP_SECRET is not set" in _refusal()
    production.delenv("INSTAGRAM_APP_ID")
    assert ("META_APP_ID and META_APP_SECRET (Facebook Login), or INSTAGRAM_APP_ID and INSTAGRAM_APP_SECRET "
            "(Instagram Login), are not set") in _refusal()


@pytest.mark.parametrize("key", ["a" * 32, "a" * 64, "abcdefghij" * 4, "0123456789abcdefghijklmnopqrstuvwxyz",
                                 "change-me-to-a-random-value-of-at-least-32-characters", "Qx7!" * 10,
                                 "dev-insecure-change-me", "", "k3Y" + "A" * 29 + "b2Cd9xZq"])
def test_weak_secret_keys_are_refused_with_the_reason(production, key):
    production.setenv("SECRET_KEY", key)
    message = _refusal()
    assert message.startswith("Keloa refuses to start in production: SECRET_KEY must be set to a random value "
                              "of at least 32 characters (")
    assert "secrets.token_urlsafe(48)" in message


def test_random_keys_pass():
    for _ in range(200):
        assert secret_key_weakness(secrets.token_urlsafe(32)) is None
        assert secret_key_weakness(secrets.token_urlsafe(48)) is None
        assert secret_key_weakness(secrets.token_hex(32)) is None


@pytest.mark.parametrize("name", ["PUBLIC_BASE_URL", "GRAPH_API_BASE", "META_AUTHORIZE_URL"])
def test_plain_http_urls_are_refused(production, name):
    production.setenv(name, "http://127.0.0.1:8081")
    assert f"{name} must start with https:// (it is 'http://127.0.0.1:8081')" in _refusal()


def test_an_insecure_session_cookie_is_refused(production):
    production.setenv("SESSION_COOKIE_SECURE", "0")
    assert "SESSION_COOKIE_SECURE must not be turned off in production" in _refusal()


def test_the_test_setup_escape_hatch_allows_plain_http_with_a_warning_but_never_a_weak_key(production, caplog):
    from keloa_web import create_app

    production.setenv("KELOA_INSECURE_TEST_SETUP", "1")
    production.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    production.setenv("GRAPH_API_BASE", "http://127.0.0.1:8081")
    production.setenv("SESSION_COOKIE_SECURE", "0")
    with caplog.at_level(logging.WARNING):
        create_app()
    warning = next(r.getMessage() for r in caplog.records if "KELOA_INSECURE_TEST_SETUP" in r.getMessage())
    assert "PUBLIC_BASE_URL=http://127.0.0.1:5000" in warning and "GRAPH_API_BASE=http://127.0.0.1:8081" in warning
    assert "SESSION_COOKIE_SECURE=0" in warning and "never with real customers' messages" in warning

    production.setenv("SECRET_KEY", "a" * 32)
    assert "SECRET_KEY must be set" in _refusal()


def test_outside_production_nothing_is_refused(production):
    production.setenv("KELOA_ENV", "development")
    production.setenv("SECRET_KEY", "a" * 32)
    production.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    assert Config().problems() == [] and Config().warnings() == []
