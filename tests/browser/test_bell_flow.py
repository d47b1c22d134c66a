"""The bell as people use it: a review request shows on the reviewer's bell, opening it
goes to the ticket and clears it; a mention there rings the submitter's bell."""

from __future__ import annotations

from playwright.sync_api import expect

from notifications.models import Notification
from tests.browser.conftest import field, login
from tests.conftest import submit


def test_bell_rings_opens_and_clears(new_page, live_server, live_world, outbox, make_repo):
    submission = submit(live_world, make_repo())  # commits; the outbox fans it out at once
    ticket = submission.tickets.get(department__slug="security")

    sam = login(new_page(), live_server, "sam")
    bell = sam.get_by_test_id("bell")
    expect(sam.get_by_test_id("bell-count")).to_have_text("1")
    expect(bell).to_have_attribute("aria-label", "Notifications: 1 unread")
    bell.click()
    expect(sam.get_by_role("heading", level=1)).to_have_text("Notifications")
    sam.get_by_role("link", name="Security review needed: Mq Core").click()
    expect(sam).to_have_url(f"{live_server.url}{ticket.get_absolute_url()}")
    expect(sam.get_by_test_id("bell-count")).to_have_count(0)

    comments = sam.get_by_role("region", name="Comments")
    field(comments, "Comment").fill("@alice the token in config/ must go before I approve.")
    comments.get_by_role("button", name="Comment").click()
    expect(sam.get_by_text("the token in config/ must go")).to_be_visible()

    alice = login(new_page(), live_server, "alice")
    expect(alice.get_by_test_id("bell-count")).to_have_text("1")
    alice.get_by_test_id("bell").click()
    item = alice.get_by_test_id("notification")
    expect(item).to_contain_text("sam mentioned you on the Security review of Mq Core")
    alice.get_by_test_id("read-all").click()
    expect(alice.get_by_test_id("bell-count")).to_have_count(0)
    assert not Notification.objects.filter(user=live_world.alice, read_at=None).exists()
