"""A reviewer reads the code in Gatehouse: the public tree, a finding's line, the changes
since their approval after a new commit, and approves again (Chromium, live server)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from governance.models import Department
from reviews.enums import SignOffStatus
from reviews.models import ReviewTicket, SignOff
from reviews.services import submission_refresh
from scans.models import ScanPolicy
from scans.services import scan_execute, scan_request
from tests.browser.conftest import login
from tests.conftest import submit

API = (
    'import os\n\nURL = "https://build.corp.example-internal.net/x"\n\n\n'
    "def answer():\n    return 42\n"
)


def scan(submission):
    run = scan_request(
        repository=submission.repository, commit=submission.commit,
        component=submission.component, force=True,
    )  # fmt: skip
    return scan_execute(scan_id=run.pk)


def approve_here(page: Page, department: Department) -> None:
    decision = page.get_by_role("region", name="Your decision")
    checklist = decision.get_by_role("group", name=f"{department.name} checklist")
    for question in department.questions.filter(is_active=True):
        checklist.get_by_role("group", name=question.text, exact=True).get_by_role(
            "radio", name="Yes", exact=True
        ).check()
    decision.get_by_role("group", name="Decision", exact=True).get_by_role(
        "radio", name="Approve", exact=True
    ).check()
    decision.get_by_role("button", name="Record decision").click()
    expect(page.locator("ul.messages")).to_contain_text("Recorded: approve")


def test_reviewer_reads_the_tree_opens_a_finding_and_reviews_the_change(
    live_world, make_repo, live_server, page
):
    ScanPolicy.objects.create(pk=1, internal_domains=["corp.example-internal.net"])
    repo = make_repo({"README.md": "# demo\n", "core/api.py": API,
                      "sharding/shard.py": "SHARDS = 4\n"})  # fmt: skip
    submission = submit(live_world, repo)
    scan(submission)
    ticket = ReviewTicket.objects.get(submission=submission, department__slug="security")
    security = Department.objects.get(slug="security")

    login(page, live_server, "sam")
    page.goto(ticket.get_absolute_url())
    summary = page.get_by_test_id("export-summary")
    expect(summary).to_contain_text("published")
    summary.get_by_test_id("public-tree-link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("What goes public")
    tree = page.get_by_test_id("tree")
    expect(tree.locator('[data-path="sharding/shard.py"]')).to_contain_text("Kept internal")
    api_row = tree.locator('[data-path="core/api.py"]')
    expect(api_row).to_contain_text("Published")

    api_row.get_by_role("link", name=re.compile(r"Internal reference, line 3")).first.click()
    expect(page).to_have_url(re.compile(r"/file/\?path=core(%2F|/)api\.py#L3$"))
    expect(page.get_by_test_id("file-path")).to_have_text("core/api.py")
    line = page.locator("#L3")
    expect(line).to_be_visible()
    expect(line).to_contain_text("build.corp.example-internal.net")
    expect(page.locator('[data-testid="annotation"][data-line="3"]').first).to_contain_text(
        "Internal reference"
    )

    page.goto(ticket.get_absolute_url())
    approve_here(page, security)
    old = submission.commit

    # The engineer pushes a new commit; the branch is refreshed and the new commit scanned.
    repo.commit({"core/api.py": API + "\n\ndef more():\n    return 1\n"}, "more")
    submission_refresh(submission=submission, actor=live_world.alice)
    submission.refresh_from_db()
    scan(submission)

    page.goto(ticket.get_absolute_url())
    since = page.get_by_test_id("changes-since-approval")
    expect(since).to_contain_text("Changes since your approval")
    expect(since).to_contain_text(old[:10])
    since.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Changes from {old[:10]}")
    changed = page.locator('[data-path="core/api.py"]')
    expect(changed).to_contain_text("Published")
    expect(changed).to_contain_text("def more():")

    page.goto(ticket.get_absolute_url())
    approve_here(page, security)
    current = SignOff.objects.get(ticket=ticket, status=SignOffStatus.CURRENT)
    assert current.commit == submission.commit != old


def test_the_api_docs_render_from_local_files_under_the_csp(live_world, live_server, page):
    login(page, live_server, "alice")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Gatehouse API")
    expect(page.get_by_text("/api/submissions/{id}/tree/").first).to_be_visible()
    assert all(url.startswith(live_server.url) for url in requested), requested
