"""Playwright fixtures: Debian's Chromium driving pytest-django's live server.

Playwright's sync API keeps an asyncio loop "running" on the main thread for as long
as it is started, which makes Django refuse ORM calls from that thread. So the
Chromium fixture lives for this package only (not the whole session, where it would
leak a running loop into the other folders' tests) and relaxes Django's async-safety
check only while it is alive.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import PASSWORD, World

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 10_000
SCREENSHOT_DIR = Path("/tmp")

expect.set_options(timeout=TIMEOUT_MS)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Every test in this folder drives a browser (`-m "not browser"` skips them)."""
    item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    if report.when == "call":
        item.stash[_call_failed] = report.failed
    return report


_call_failed = pytest.StashKey[bool]()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed at /usr/bin/chromium; browser tests run in CI"
        )
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _browser_settings(settings):
    """Serve the stylesheet and keep cookies on plain http, whatever DEBUG was at import.

    pytest-django runs with DEBUG=False; settings.py picks the static storage (and
    secure cookies) from the DEBUG *environment variable* at import, so a run with
    DEBUG=false would need `collectstatic` and https. The live server serves static
    files itself through StaticFilesHandler from the finders.
    """
    backend = django_settings.STORAGES["staticfiles"]["BACKEND"]
    if backend != "django.contrib.staticfiles.storage.StaticFilesStorage":
        settings.STORAGES = {
            **django_settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture
def live_world(transactional_db, live_server) -> World:
    """The demo cast, committed so that the live server's thread sees it."""
    return World()


@pytest.fixture
def new_page(browser: Browser, live_server, request) -> Iterator[Callable[[], Page]]:
    """Open pages in fresh browser contexts (one per person: separate cookies). Whatever
    the page did, the Content-Security-Policy must not have refused anything: a refusal
    is a script or style of ours that would silently not work in production."""
    contexts = []
    refused: list[str] = []

    def open_page() -> Page:
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                refused.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    yield open_page

    if request.node.stash.get(_call_failed, False):
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        for number, context in enumerate(contexts):
            for page in context.pages:
                path = SCREENSHOT_DIR / f"gatehouse-{name}-{number}.png"
                try:
                    page.screenshot(path=str(path), full_page=True)
                except Exception as exc:  # best effort: never mask the failure
                    print(f"could not save {path}: {exc}")
                else:
                    print(f"screenshot of {page.url}: {path}")
    for context in contexts:
        context.close()
    assert not refused, "The Content-Security-Policy refused:\n" + "\n".join(refused)


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


def field(scope, label: str):
    """The form control labelled `label` (Django adds a ':' suffix to its labels)."""
    return scope.get_by_label(re.compile(rf"^\s*{re.escape(label)}:?\s*$"))


def login(page: Page, live_server, username: str) -> Page:
    url = f"{live_server.url}/accounts/login/"
    if not page.url.startswith(url):  # signing out already lands on the sign-in page
        page.goto(url)
    field(page, "Username").fill(username)
    field(page, "Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


def sign_out(page: Page) -> Page:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Gatehouse")).to_be_visible()
    return page
