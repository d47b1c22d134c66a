"""The review flow as people use it: Chromium against the live server, real git repos."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from governance.models import Component, Department
from reviews.enums import SignOffStatus, SubmissionState, TicketState
from reviews.models import ReviewTicket, SignOff, Submission
from tests.browser.conftest import field, login, sign_out
from tests.conftest import submit

STYLESHEET = "/static/css/gatehouse.css"
ORDER = ["technical", "compliance", "legal", "security"]


def fill_new_component(page: Page, repo_url: str, name: str = "Message Queue Core") -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Submit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Submit a component for open-sourcing"
    )
    # Left on its default: describe a new component.
    expect(field(page, "Component")).to_have_value("")
    field(page, "Name").fill(name)
    field(page, "Proposed license").fill("Apache-2.0")
    field(page, "Open paths").fill("core/**\napi/**")
    field(page, "Internal paths").fill("sharding/**")
    field(page, "Internal repository URL").fill(repo_url)
    field(page, "Branch").fill("main")
    field(page, "Why open-source it?").fill("Partners want to run the broker themselves.")


def reviews_row(page: Page, department: str):
    return (
        page.get_by_role("region", name="Reviews")
        .get_by_role("row")
        .filter(has=page.get_by_role("link", name=department, exact=True))
    )


def test_stylesheet_is_served(page, live_server):
    with page.expect_response(lambda r: r.url.endswith(STYLESHEET)) as response:
        page.goto(f"{live_server.url}/accounts/login/")
    assert response.value.status == 200
    assert "text/css" in response.value.headers["content-type"]


def test_alice_submits_and_four_departments_approve_in_the_browser(
    live_world, repo, live_server, new_page
):
    alice = login(new_page(), live_server, "alice")
    fill_new_component(alice, repo.url)
    alice.get_by_role("button", name="Submit for review").click()
    expect(alice).to_have_url(re.compile(r"/submissions/\d+/$"))  # the POST has finished

    submission = Submission.objects.get()
    expect(alice).to_have_url(f"{live_server.url}{submission.get_absolute_url()}")
    expect(alice.get_by_role("status")).to_contain_text("4 departments will review it")
    expect(alice.get_by_test_id("commit")).to_have_text(repo.head())
    assert submission.commit == repo.head()
    for department in Department.objects.filter(slug__in=ORDER):
        expect(reviews_row(alice, department.name)).to_contain_text("Needs review")

    page = new_page()  # the reviewers share one browser, signing out in turn
    for slug in ORDER:
        department = Department.objects.get(slug=slug)
        reviewer = live_world.reviewers[slug]
        login(page, live_server, reviewer.username)
        if slug == ORDER[0]:
            nav = page.get_by_role("navigation", name="Main")
            nav.get_by_role("link", name="Review queue").click()
        else:  # a navigation click costs ~0.2 s in headless Chromium; a goto far less
            page.goto("/queue/")
        queue = page.get_by_role("table")
        expect(queue.get_by_role("row")).to_have_count(2)  # header + this department's ticket
        expect(queue).to_contain_text(department.name)
        queue.get_by_role("link", name="Message Queue Core", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(
            f"{department.name} review of Message Queue Core"
        )
        decision = page.get_by_role("region", name="Your decision")
        questions = list(department.questions.filter(is_active=True))
        assert questions
        checklist = decision.get_by_role("group", name=f"{department.name} checklist")
        for question in questions:
            # Each question is a fieldset whose legend is the question: its accessible name.
            checklist.get_by_role("group", name=question.text, exact=True).get_by_role(
                "radio", name="Yes", exact=True
            ).check()
        decision.get_by_role("group", name="Decision", exact=True).get_by_role(
            "radio", name="Approve", exact=True
        ).check()
        decision.get_by_role("button", name="Record decision").click()
        expect(page.get_by_role("status")).to_contain_text(
            f"Recorded: approve on {submission.commit[:10]}"
        )
        expect(decision.get_by_role("button", name="Record decision")).to_have_count(
            0 if slug == ORDER[-1] else 1  # the last approval closes the review
        )
        sign_out(page)

    alice.goto(submission.get_absolute_url())
    expect(alice.get_by_role("heading", level=1)).to_contain_text("Approved")
    for department in Department.objects.filter(slug__in=ORDER):
        expect(reviews_row(alice, department.name)).to_contain_text("Approved")
    alice.get_by_role("heading", level=1).get_by_role("link", name="Message Queue Core").click()
    expect(alice).to_have_url(re.compile(r"/components/message-queue-core/$"))
    expect(alice.get_by_role("heading", level=1)).to_contain_text("Approved")

    submission.refresh_from_db()
    assert submission.state == SubmissionState.APPROVED
    assert submission.component.stage == "approved"
    assert set(submission.tickets.values_list("state", flat=True)) == {TicketState.APPROVED}
    signoffs = SignOff.objects.filter(ticket__submission=submission)
    assert signoffs.count() == 4
    assert {s.commit for s in signoffs} == {repo.head()}
    assert all(s.answers.count() == s.ticket.department.questions.count() for s in signoffs)


def test_reviewer_requests_changes_and_alice_sees_it(live_world, repo, live_server, new_page):
    submission = submit(live_world, repo)
    ticket = ReviewTicket.objects.get(submission=submission, department__slug="security")

    sam = login(new_page(), live_server, "sam")
    sam.goto(ticket.get_absolute_url())
    decision = sam.get_by_role("region", name="Your decision")
    request_changes = decision.get_by_role("radio", name="Request changes", exact=True)
    request_changes.check()
    decision.get_by_role("button", name="Record decision").click()

    comment = field(decision, "Comment")
    expect(comment).to_have_attribute("aria-invalid", "true")
    expect(comment).to_have_accessible_description(re.compile("a comment is required"))
    expect(decision).to_contain_text("Say what needs to change: a comment is required.")
    expect(request_changes).to_be_checked()  # the re-rendered form keeps the choice
    assert not SignOff.objects.exists()

    remark = "Rotate the token in config/dev.env and purge it from history."
    comment.fill(remark)
    decision.get_by_role("button", name="Record decision").click()
    expect(sam.get_by_role("status")).to_contain_text("Recorded: request changes")
    signoff = SignOff.objects.get()
    assert (signoff.decision, signoff.status) == ("request_changes", SignOffStatus.CURRENT)

    alice = login(new_page(), live_server, "alice")
    alice.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    changes = alice.get_by_role("region", name="Changes requested of you")
    link = changes.get_by_role("link", name=f"Mq Core #{submission.pk}")
    expect(link).to_be_visible()
    expect(changes).to_contain_text("Security")
    link.click()
    expect(alice.get_by_role("heading", level=1)).to_contain_text("Changes requested")
    expect(reviews_row(alice, "Security")).to_contain_text("Changes requested")
    expect(alice.get_by_role("region", name="Discussion")).to_contain_text(remark)

    actions = alice.get_by_role("region", name="Actions")
    field(actions, "What did you change?").fill("Token rotated; history rewritten.")
    actions.get_by_role("button", name="Answer and resubmit").click()
    expect(alice.get_by_role("status")).to_contain_text("Resubmitted")
    expect(alice.get_by_role("heading", level=1)).to_contain_text("In review")

    submission.refresh_from_db()
    assert submission.state == SubmissionState.IN_REVIEW


def test_bad_repository_url_shows_form_error(live_world, live_server, page):
    pwned = Path("/tmp/pwned")
    existed = pwned.exists()
    login(page, live_server, "alice")
    fill_new_component(page, "ext::sh -c touch% /tmp/pwned")
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        page.get_by_role("button", name="Submit for review").click()
    assert response.value.status == 400

    url = field(page, "Internal repository URL")
    expect(url).to_have_value("ext::sh -c touch% /tmp/pwned")
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(url).to_have_accessible_description(re.compile("must not use a git transport helper"))
    expect(page.locator("#id_repository_url_error")).to_be_visible()
    # The rest of what alice typed survives the round trip.
    expect(field(page, "Name")).to_have_value("Message Queue Core")
    assert not Submission.objects.exists()
    assert not Component.objects.exists()
    assert pwned.exists() == existed
