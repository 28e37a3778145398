"""Browser fixtures: Playwright's sync API driving Debian's Chromium (never a downloaded browser).

    def test_something(sandbox, app, live_server, admin, signed_in_page): ...

`browser` is started once for this package in each test process (package scope: Playwright's sync API
keeps an event loop running while it lives, which would break a `sync_playwright()` elsewhere); `page` is a fresh context (own cookies) per test, with a
screenshot saved under the test's tmp_path when the test fails.
"""
from __future__ import annotations

import os

import pytest

CHROMIUM = os.environ.get("KELOA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set KELOA_CHROMIUM)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.keloa_failed = report.failed
    return report


@pytest.fixture()
def page(browser, request, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    if getattr(request.node, "keloa_failed", False):
        pg.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
    context.close()


@pytest.fixture()
def signed_in_page(page, live_server, admin):
    """`page` signed in as the admin (owner@example.com) on the live server."""
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    # The form is hx-boosted: wait for the sign-in answer rather than for a page load.
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status in (200, 302), f"sign-in answered {answer.value.status}"
    return page
