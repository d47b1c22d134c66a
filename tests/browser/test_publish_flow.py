"""Publishing and back-porting as people do it: Chromium against the live server, an
internal working repository and a bare external one made in a temporary folder.

alice sets the external repository on her component page, syncs, publishes the ready
release; a contributor pushes a fix outside; alice syncs again, sees the community
commit and back-ports it into an internal branch with one click.
"""

from __future__ import annotations

import subprocess

from playwright.sync_api import expect

from releases.models import Backport, Release
from reviews.models import ReviewTicket
from scans.models import ScanPolicy
from tests.browser.conftest import field, login
from tests.conftest import approve, make_user, submit
from tests.releases.conftest import CLEAN_FILES, community_commit, external_files, git


def test_set_external_sync_publish_and_backport_in_the_browser(
    live_world, scan_on_submit, make_repo, live_server, new_page, tmp_path, settings
):
    settings.GATEHOUSE_SYNC_DIR = tmp_path / "sync"
    ScanPolicy.objects.create(pk=1, internal_domains=["corp.example-internal.net"])
    external = tmp_path / "external.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(external))
    submission = submit(live_world, make_repo(CLEAN_FILES))
    for ticket in ReviewTicket.objects.filter(submission=submission).select_related("department"):
        approve(ticket, live_world.reviewers[ticket.department.slug])
    from governance.services import component_role_set
    from releases.services import release_create

    component = submission.component
    for user, role in ((make_user("petra"), "pmc"), (make_user("carl"), "committer")):
        component_role_set(component=component, user=user, role=role, actor=live_world.admin)

    alice = login(new_page(), live_server, "alice")
    alice.goto(component.get_absolute_url())
    sync = alice.get_by_role("region", name="Sync")
    sync.get_by_text("Set the external repository").click()
    field(sync, "External repository URL").fill(f"file://{external}")
    sync.get_by_role("button", name="Save").click()
    sync = alice.get_by_role("region", name="Sync")
    expect(sync.get_by_test_id("external-repository")).to_contain_text("external.git")
    sync.get_by_role("button", name="Sync now").click()
    expect(alice.get_by_test_id("sync-status")).to_contain_text("Export pending")

    release = release_create(component=component, actor=live_world.alice, version="1.0.0")
    assert release.state == "ready", release.blocking_gates
    alice.goto(release.get_absolute_url())
    alice.get_by_role("button", name="Publish to the external repository").click()
    expect(alice.get_by_test_id("release-state")).to_have_text("Published")
    expect(alice.get_by_test_id("published")).to_contain_text("v1.0.0")
    assert external_files(external) == {"core/api.py"}  # the open scope, nothing else

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
