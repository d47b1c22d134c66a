"""At 390 px wide (a phone) no page scrolls sideways: tables scroll inside their card, the
navigation collapses behind a Menu toggle (CSS only: the Content-Security-Policy allows
no inline script), long hashes, URLs and paths wrap, and the current page is marked."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from releases.services import release_create
from reviews.models import ReviewTicket
from scans.models import ScanPolicy, ScanRun
from tests.browser.conftest import login
from tests.conftest import approve, submit
from tests.releases.conftest import CLEAN_FILES

DOMAIN = "corp.example-internal.net"
PHONE = {"width": 390, "height": 844}
LONG_PATH = "core/" + "very_long_folder_name_without_any_break/" * 4 + "hosts.py"


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide at {PHONE['width']} px"


@pytest.fixture
def demo(live_world, scan_on_submit, make_repo):
    """A scanned submission with a finding on a long path, one approval, and a release."""
    ScanPolicy.objects.create(pk=1, internal_domains=[DOMAIN])
    files = {**CLEAN_FILES, LONG_PATH: f'WIKI = "https://wiki.{DOMAIN}/mq/a/very/long/url"\n'}
    submission = submit(live_world, make_repo(files))
    technical = ReviewTicket.objects.get(submission=submission, department__slug="technical")
    approve(technical, live_world.reviewers["technical"])
    release = release_create(
        component=submission.component, actor=live_world.admin, version="1.0.0",
        commit=submission.commit, notes="First release.",
    )  # fmt: skip
    compliance = ReviewTicket.objects.get(submission=submission, department__slug="compliance")
    return submission, compliance, release


def test_pages_fit_a_phone_and_the_menu_opens(demo, live_server, new_page):
    submission, ticket, release = demo
    page = login(new_page(), live_server, "admin")  # signs in on a wide screen
    page.set_viewport_size(PHONE)
    menu = page.get_by_role("navigation", name="Main")

    pages = {
        "/": "Portfolio",
        ticket.get_absolute_url(): None,
        release.get_absolute_url(): None,
        submission.component.get_absolute_url(): None,
        "/components/": "Components",
        submission.get_absolute_url(): None,
        "/charts/": "Charts",
        "/inbox/": "Inbox",
        "/queue/": "Review queue",
        "/submissions/": "Submissions",
        "/submit/": "Submit",
        "/departments/": "Departments",
        "/departments/compliance/": None,
        f"/scans/{ScanRun.objects.get().pk}/": None,
        f"/components/{submission.component.slug}/scope/": None,
    }
    for url, current in pages.items():
        page.goto(url)
        expect(page.locator("main h1")).to_be_visible()
        no_sideways_scroll(page)
        # The menu is collapsed behind its toggle, which opens it.
        expect(menu).to_be_hidden()
        page.get_by_test_id("menu-button").click()
        expect(menu).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        if current:
            expect(menu.get_by_role("link", name=current, exact=True)).to_have_attribute(
                "aria-current", "page"
            )
        no_sideways_scroll(page)
        for link in menu.get_by_role("link").all():  # every link readable, inside the screen
            box = link.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
            assert box["height"] >= 16
        page.get_by_test_id("menu-button").click()
        expect(menu).to_be_hidden()


def test_wide_screens_show_the_menu_without_a_toggle(demo, live_server, new_page):
    page = login(new_page(), live_server, "alice")
    page.goto("/components/")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_test_id("menu-button")).to_be_hidden()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Components")
    ).to_have_attribute("aria-current", "page")
