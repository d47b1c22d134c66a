"""Publishing and back-porting as people do it: Chromium against the live server, an
internal working repository and a bare external one made in a temporary folder.

alice sets the external repository on her component page (before the departments review:
the destination is part of what they approve), syncs, publishes the ready release; a
contributor pushes a fix outside; alice syncs again, sees the community commit and
back-ports it into an internal branch with one click. Changing the destination after the
approvals sends the review back, and the reviewer sees what changed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from playwright.sync_api import expect

from governance.services import component_role_set
from releases.models import Backport, EvidenceBundle, Release
from releases.services import release_create
from reviews.models import ReviewTicket
from scans.models import ScanPolicy
from tests.browser.conftest import field, login
from tests.conftest import approve, make_user, submit
from tests.releases.conftest import (
    CLEAN_FILES,
    COMMUNITY,
    community_commit,
    external_files,
    git,
)


def test_set_external_sync_publish_and_backport_in_the_browser(
    live_world, scan_on_submit, make_repo, live_server, new_page, tmp_path, settings
):
    settings.GATEHOUSE_SYNC_DIR = tmp_path / "sync"
    ScanPolicy.objects.create(pk=1, internal_domains=["corp.example-internal.net"])
    external = tmp_path / "external.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(external))
    submission = submit(live_world, make_repo(CLEAN_FILES))
    component = submission.component

    alice = login(new_page(), live_server, "alice")
    alice.goto(component.get_absolute_url())
    alice.get_by_test_id("edit-scope").click()
    field(alice, "External repository URL").fill(f"file://{external}")
    alice.get_by_role("button", name="Save").click()
    sync = alice.get_by_role("region", name="Sync")
    expect(sync.get_by_test_id("external-repository")).to_contain_text("external.git")

    for ticket in ReviewTicket.objects.filter(submission=submission).select_related("department"):
        approve(ticket, live_world.reviewers[ticket.department.slug])
    for user, role in ((make_user("petra"), "pmc"), (make_user("carl"), "committer")):
        component_role_set(component=component, user=user, role=role, actor=live_world.admin)
    alice.reload()
    sync.get_by_role("button", name="Sync now").click()
    expect(alice.get_by_test_id("sync-status")).to_contain_text("Export pending")

    release = release_create(component=component, actor=live_world.alice, version="1.0.0")
    assert release.state == "ready", release.blocking_gates
    alice.goto(release.get_absolute_url())
    alice.get_by_role("button", name="Publish to the external repository").click()
    expect(alice.get_by_test_id("release-state")).to_have_text("Published")
    expect(alice.get_by_test_id("published")).to_contain_text("v1.0.0")
    # the open scope, nothing else: the interface and the community files at the top
    assert external_files(external) == {"core/api.py", *COMMUNITY}
    # The evidence bundle, built as the release was published: downloaded from the page.
    evidence = alice.get_by_test_id("evidence")
    expect(evidence).to_contain_text("Final")
    with alice.expect_download() as caught:
        evidence.get_by_test_id("evidence-download").click()
    download = caught.value
    assert download.suggested_filename == "mq-core-1.0.0-evidence.zip"
    bundle = EvidenceBundle.objects.get(release=release)
    assert Path(download.path()).read_bytes() == bytes(bundle.archive)

    fix = community_commit(tmp_path, external, {"core/api.py": "# SPDX-License-Identifier: "
                                                "Apache-2.0\ndef ping():\n    return 2\n"},
                           "Return 2 from ping")  # fmt: skip
    alice.goto(component.get_absolute_url())
    alice.get_by_role("button", name="Sync now").click()
    expect(alice.get_by_test_id("sync-status")).to_contain_text("Back-port needed")
    community = alice.get_by_test_id("community")
    expect(community).to_contain_text("Return 2 from ping")
    expect(community).to_contain_text("Community Dev")
    community.get_by_role("button", name="Back-port").click()
    expect(alice.get_by_test_id("backports")).to_contain_text(f"gatehouse/backport/{fix[:12]}")
    backport = Backport.objects.get()
    assert backport.state == "created"
    internal = submission.repository.url.removeprefix("file://")
    shown = subprocess.run(
        ["git", "show", f"{backport.branch}:core/api.py"], cwd=internal,
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "return 2" in shown
    assert Release.objects.get().external_tag == "v1.0.0"


def test_changing_the_destination_after_approval_reopens_the_review(
    live_world, make_repo, live_server, new_page, tmp_path
):
    first, second = tmp_path / "one.git", tmp_path / "two.git"
    for path in (first, second):
        git(tmp_path, "init", "-q", "--bare", "-b", "main", str(path))
    submission = submit(live_world, make_repo(CLEAN_FILES))
    from reviews.services import component_set_external

    component_set_external(
        component=submission.component, actor=live_world.alice, url=f"file://{first}"
    )
    for ticket in ReviewTicket.objects.filter(submission=submission).select_related("department"):
        approve(ticket, live_world.reviewers[ticket.department.slug])
    submission.refresh_from_db()
    assert submission.state == "approved"

    alice = login(new_page(), live_server, "alice")
    alice.goto(submission.component.get_absolute_url())
    alice.get_by_test_id("edit-scope").click()
    expect(alice.get_by_test_id("scope-warning")).to_contain_text("approval is withdrawn")
    field(alice, "External repository URL").fill(f"file://{second}")
    alice.get_by_role("button", name="Save").click()
    expect(alice.locator(".msg-warning")).to_contain_text("4 sign-off(s) went stale")
    submission.refresh_from_db()
    assert submission.state == "in_review"

    tina = login(new_page(), live_server, "tina")
    ticket = ReviewTicket.objects.get(submission=submission, department__slug="technical")
    tina.goto(ticket.get_absolute_url())
    change = tina.get_by_test_id("scope-change")
    expect(change).to_contain_text("External repository")
    expect(change).to_contain_text("one.git")
    expect(change).to_contain_text("two.git")
    expect(tina.get_by_role("heading", name="Your decision")).to_be_visible()
