"""A promotion vote as the PMC runs it: a PMC member proposes a contributor from the
component page, two others are told (the bell) and vote +1 in the browser, and the vote
page shows the tally; someone outside the PMC finds no such page."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from community.enums import VoteState
from community.models import Ballot, PromotionVote
from governance.enums import CommunityRole
from governance.services import component_role_set
from tests.browser.conftest import field, login
from tests.conftest import make_user, submit


def test_pmc_proposes_two_members_vote_and_the_page_shows_the_tally(
    new_page, live_server, live_world, outbox, make_repo
):
    component = submit(live_world, make_repo()).component
    pmc, contributor = CommunityRole.PMC, CommunityRole.CONTRIBUTOR
    roles = {"petra": pmc, "paul": pmc, "pia": pmc, "cody": contributor}
    for name, role in roles.items():
        user = make_user(name)
        component_role_set(component=component, user=user, role=role, actor=live_world.admin)

    petra = login(new_page(), live_server, "petra")
    petra.goto(f"{live_server.url}{component.get_absolute_url()}")
    section = petra.get_by_role("region", name="Promotion votes")
    expect(section.get_by_test_id("vote-panel")).to_be_visible()  # loaded by htmx
    expect(section.get_by_text("No vote is open.")).to_be_visible()
    section.get_by_text("Propose someone for a higher role").click()
    field(section, "Candidate (username)").fill("cody")
    field(section, "Proposed role").select_option("committer")
    field(section, "Why").fill("Reviewed forty pull requests and wrote the retry logic.")
    section.get_by_role("button", name="Open the vote").click()

    vote = PromotionVote.objects.get()
    expect(petra).to_have_url(f"{live_server.url}{vote.get_absolute_url()}")
    expect(petra.get_by_test_id("vote-state")).to_have_text(re.compile("Open"))
    expect(petra.get_by_test_id("tally-plus")).to_have_text("0")

    for name in ("paul", "pia"):
        page = login(new_page(), live_server, name)
        expect(page.get_by_test_id("bell-count")).to_have_text("1")
        page.get_by_test_id("bell").click()
        page.get_by_role("link", name=re.compile(r"Vote on Mq Core: cody as Committer")).click()
        expect(page).to_have_url(f"{live_server.url}{vote.get_absolute_url()}")
        form = page.get_by_test_id("cast-form")
        form.get_by_role("radio", name="+1", exact=True).check()
        field(form, "Comment").fill(f"{name}: well deserved.")
        form.get_by_role("button", name="Vote").click()
        expect(page.get_by_text("Your vote is recorded.")).to_be_visible()

    expect(page.get_by_test_id("tally-plus")).to_have_text("2")
    expect(page.get_by_test_id("ballot")).to_have_count(2)
    expect(page.get_by_role("heading", name="Change your vote")).to_be_visible()
    petra.reload()
    expect(petra.get_by_test_id("tally-plus")).to_have_text("2")
    expect(petra.get_by_text("pia: well deserved.")).to_be_visible()
    assert Ballot.objects.filter(vote=vote, value=1).count() == 2
    vote.refresh_from_db()
    assert vote.state == VoteState.OPEN  # a vote never closes early

    # The owner sees the component but is not on the PMC: no open vote for her.
    alice = login(new_page(), live_server, "alice")
    response = alice.goto(f"{live_server.url}{vote.get_absolute_url()}")
    assert response.status == 404
    alice.goto(f"{live_server.url}{component.get_absolute_url()}")
    panel = alice.get_by_role("region", name="Promotion votes").get_by_test_id("vote-panel")
    expect(panel.get_by_text("No vote decided yet.")).to_be_visible()
    expect(panel.get_by_text("cody")).to_have_count(0)
