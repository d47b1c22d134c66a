"""Scanning as people use it: Chromium against the live server, real git repositories.

The secret planted in the repositories is a GitHub-format token made up at run time, so
that no credential-shaped literal is committed; the internal hostname is under the domain
of the tests' scan policy.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from core.models import AuditEvent
from reviews.models import ReviewTicket, Submission
from scans import engine
from scans.enums import ScanStatus, TriageState
from scans.models import Finding, ScanPolicy, ScanRun
from scans.services import active_policy, scan_execute
from tests.browser.conftest import field, login
from tests.browser.test_review_flow import fill_new_component
from tests.conftest import submit
from tests.tokens import github_token

DOMAIN = "corp.example-internal.net"
HOST = f"db.{DOMAIN}"
CLEAN = {
    "README.md": "# mq\n", "LICENSE": "MIT License\n",
    "core/api.py": "# SPDX-License-Identifier: Apache-2.0\nx = 1\n",
}  # fmt: skip
REASON = "A revoked token from the 2019 load test; GitHub confirms it is dead."


def made_up_github_token() -> str:
    """A token in GitHub's format, checksum included, the same on every run."""
    return github_token("gatehouse browser scan flow")


@pytest.fixture
def token() -> str:
    return made_up_github_token()


@pytest.fixture
def leaky_repo(make_repo, token):
    """A repository with a token on line 1 and an internal hostname on line 2 of one file."""
    return make_repo({**CLEAN, "core/conf.py": f'TOKEN = "{token}"\nHOST = "{HOST}"\n'})


@pytest.fixture
def live_policy(live_world):
    return ScanPolicy.objects.create(pk=1, internal_domains=[DOMAIN])


def finding_row(scope: Page | Locator, where: str) -> Locator:
    """The findings-table row in `scope` whose "Where" cell reads `where` (path:line)."""
    page = scope if isinstance(scope, Page) else scope.page
    # `has` is matched inside each row, so it must start from the page, not from `scope`.
    return scope.get_by_role("row").filter(has=page.get_by_text(where, exact=True))


def triage_state(row: Locator) -> Locator:
    """The state chip in a row's Triage cell (the cell's text also holds the form's options)."""
    return row.get_by_role("cell").last.locator(".chip")


def message(page: Page, text: str) -> Locator:
    return page.locator("ul.messages").get_by_text(text)


def test_submission_is_scanned_and_security_triages_the_secret_in_the_browser(
    live_world, live_policy, leaky_repo, token, scan_on_submit, live_server, new_page
):
    alice = login(new_page(), live_server, "alice")
    fill_new_component(alice, leaky_repo.url)
    alice.get_by_role("button", name="Submit for review").click()
    expect(alice).to_have_url(re.compile(r"/submissions/\d+/$"))

    # Submitting queued the scan; the (eager) worker ran it when the submission committed.
    submission = Submission.objects.get()
    scan = ScanRun.objects.get()
    assert (scan.commit, scan.component, scan.requested_by) == (
        leaky_repo.head(),
        submission.component,
        live_world.alice,
    )
    assert scan.status == ScanStatus.DONE
    expect(alice.locator("#scan-progress")).to_contain_text("Done")
    alice.get_by_role("link", name=f"#{scan.pk}", exact=True).click()

    expect(alice).to_have_url(f"{live_server.url}/scans/{scan.pk}/")
    expect(alice.get_by_role("heading", level=1)).to_have_text(
        f"Scan #{scan.pk} of Message Queue Core"
    )
    expect(alice.locator("#scan-progress")).to_contain_text("Done")
    secret_row = finding_row(alice, "core/conf.py:1")
    expect(secret_row).to_contain_text("Secret")
    expect(secret_row).to_contain_text("GitHub token")
    expect(secret_row).to_contain_text("Blocking")
    host_row = finding_row(alice, "core/conf.py:2")
    expect(host_row).to_contain_text("Internal reference")
    expect(host_row).to_contain_text(HOST)
    expect(triage_state(secret_row)).to_have_text("Open")
    expect(triage_state(host_row)).to_have_text("Open")
    expect(alice.get_by_text(re.compile(r"in all; 2 open and blocking"))).to_be_visible()
    assert token not in alice.content()  # shown redacted, never in full

    # sam reviews for security: the ticket page lists security's findings only.
    security = ReviewTicket.objects.get(submission=submission, department__slug="security")
    sam = login(new_page(), live_server, "sam")
    sam.goto(security.get_absolute_url())
    findings = sam.get_by_role("region", name="Findings for Security")
    row = finding_row(findings, "core/conf.py:1")
    expect(row).to_contain_text("GitHub token")
    expect(finding_row(findings, "core/conf.py:2")).to_have_count(0)
    expect(findings).not_to_contain_text(HOST)

    posts = []
    sam.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    state = TriageState.FALSE_POSITIVE

    # An empty reason does not leave the browser (the field is required)...
    row.get_by_text("Triage", exact=True).click()
    row.get_by_label("State").select_option(label="False positive")
    row.get_by_role("button", name="Save triage").click()
    reason = field(row, "Reason")
    assert reason.evaluate("el => el.validity.valueMissing")
    expect(reason).to_be_focused()
    # ...and a blank one comes back with the service's error, nothing saved.
    reason.fill("   ")
    row.get_by_role("button", name="Save triage").click()
    expect(message(sam, "Say why: a reason is required.")).to_be_visible()
    expect(sam).to_have_url(f"{live_server.url}{security.get_absolute_url()}")
    expect(triage_state(row)).to_have_text("Open")
    finding = Finding.objects.get(scan=scan, kind="secret")
    assert (finding.state, finding.triaged_by, finding.triage_reason) == ("open", None, "")

    row.get_by_text("Triage", exact=True).click()
    row.get_by_label("State").select_option(label="False positive")
    field(row, "Reason").fill(REASON)
    row.get_by_role("button", name="Save triage").click()
    expect(
        message(sam, re.compile(r"Finding marked false positive; it blocks until"))
    ).to_be_visible()
    expect(triage_state(row)).to_have_text("False positive")
    expect(row).to_contain_text(f"sam: {REASON}")
    assert len([url for url in posts if "/triage/" in url]) == 2  # the empty one never left

    finding.refresh_from_db()
    assert (finding.state, finding.triaged_by, finding.triage_reason) == (
        state,
        live_world.reviewers["security"],
        REASON,
    )
    assert finding.triaged_at is not None
    event = AuditEvent.objects.get(action="finding.triaged")
    assert (event.actor, event.after["state"]) == (live_world.reviewers["security"], state)

    # One reviewer's word sets a blocking finding aside only once a second confirms it.
    alice.reload()
    expect(triage_state(secret_row)).to_have_text("False positive")
    expect(secret_row).to_contain_text(f"sam: {REASON}")
    expect(secret_row.get_by_test_id("awaits-confirmation")).to_be_visible()
    expect(alice.get_by_text(re.compile(r"in all; 2 open and blocking"))).to_be_visible()
    live_world.add_reviewer("sue", "security")
    sue = login(new_page(), live_server, "sue")
    sue.goto(security.get_absolute_url())
    row = finding_row(sue.get_by_role("region", name="Findings for Security"), "core/conf.py:1")
    row.get_by_test_id("confirm-triage").click()
    expect(message(sue, "Triage confirmed: the gates count it as settled.")).to_be_visible()

    # Everyone who can see the scan now sees the triage, and one blocking finding fewer.
    alice.reload()
    expect(secret_row).to_contain_text("confirmed by sue")
    expect(triage_state(host_row)).to_have_text("Open")
    expect(alice.get_by_text(re.compile(r"in all; 1 open and blocking"))).to_be_visible()


def test_only_the_owning_department_gets_the_triage_control(
    live_world, live_policy, leaky_repo, scan_on_submit, live_server, page
):
    submission = submit(live_world, leaky_repo)
    scan = ScanRun.objects.get(commit=submission.commit)
    assert scan.findings.filter(kind="license").exists()
    login(page, live_server, "leo")  # legal: triages licenses, not secrets
    page.goto(f"/scans/{scan.pk}/")
    license_row = finding_row(page, "core/api.py:1")
    expect(license_row).to_contain_text("License")
    expect(license_row.get_by_text("Triage", exact=True)).to_be_visible()
    secret_row = finding_row(page, "core/conf.py:1")
    expect(secret_row).to_contain_text("GitHub token")
    # The page is rendered on the server: no need to wait for the control to go away.
    assert secret_row.get_by_text("Triage", exact=True).count() == 0
    assert secret_row.locator("form[action$='/triage/']").count() == 0  # not even hidden


def test_scan_page_follows_a_queued_scan_until_it_is_done(
    live_world, live_policy, leaky_repo, live_server, page
):
    submission = submit(live_world, leaky_repo)  # automatic scans are off: nothing queued
    assert not ScanRun.objects.exists()
    # The row scan_request makes, before a worker picks it up.
    scan = ScanRun.objects.create(
        repository=submission.repository, commit=submission.commit,
        component=submission.component, engine_version=engine.engine_version(),
        policy_version=active_policy().as_policy().version, requested_by=live_world.alice,
    )  # fmt: skip
    login(page, live_server, "alice")
    page.goto(f"/scans/{scan.pk}/")
    progress = page.locator("#scan-progress")
    expect(progress).to_contain_text("Queued")
    expect(progress.get_by_role("progressbar", name="Scan progress")).to_be_visible()
    expect(page.get_by_text("No findings here.")).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith(f"/scans/{scan.pk}/progress/")) as poll:
        pass  # htmx polls every second while the scan is not finished
    assert poll.value.status == 200 and "HX-Refresh" not in poll.value.headers

    # The worker's job, run here while the browser keeps polling.
    assert scan_execute(scan_id=scan.pk).status == ScanStatus.DONE
    # The poll that sees "done" reloads the page (HX-Refresh): the findings table appears.
    expect(progress).to_contain_text("Done")
    expect(progress.get_by_role("progressbar")).to_have_count(0)
    expect(finding_row(page, "core/conf.py:1")).to_contain_text("GitHub token")
    expect(finding_row(page, "core/conf.py:2")).to_contain_text(HOST)
    expect(page.get_by_text(re.compile(r"in all; 2 open and blocking"))).to_be_visible()
    expect(page.get_by_text("No findings here.")).to_have_count(0)
    assert progress.get_attribute("hx-get") is None  # a finished scan is no longer polled
