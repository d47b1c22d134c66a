"""A release as people drive it: Chromium against the live server, real git repository.

alice creates a release of her approved component and reads why it is blocked; cora
(compliance) triages the internal hostname; petra (PMC) names a committer; the admin
waives the missing SECURITY file for a week; the release turns ready by itself.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Page, expect

from governance.enums import CommunityRole
from governance.services import component_role_set
from releases.models import Release, Waiver
from reviews.models import ReviewTicket
from scans.models import ScanPolicy
from tests.browser.conftest import field, login
from tests.browser.test_scan_flow import finding_row
from tests.conftest import approve, make_user, submit
from tests.releases.conftest import CLEAN_FILES

DOMAIN = "corp.example-internal.net"


def gate_row(page: Page, title: str):
    return (
        page.get_by_role("region", name="Gates")
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=title))
    )


def test_release_blocked_then_fixed_by_triage_role_and_waiver(
    live_world, scan_on_submit, make_repo, live_server, new_page
):
    ScanPolicy.objects.create(pk=1, internal_domains=[DOMAIN])
    files = {k: v for k, v in CLEAN_FILES.items() if k != "SECURITY.md"}
    files["core/hosts.py"] = f'WIKI = "https://wiki.{DOMAIN}/mq"\n'
    submission = submit(live_world, make_repo(files))
    for ticket in ReviewTicket.objects.filter(submission=submission).select_related("department"):
        approve(ticket, live_world.reviewers[ticket.department.slug])
    petra, carl = make_user("petra"), make_user("carl")
    component = submission.component
    component_role_set(component=component, user=petra, role=CommunityRole.PMC,
                       actor=live_world.admin)  # fmt: skip

    # alice cuts 1.0.0 from the component page (its releases section loads with htmx).
    alice = login(new_page(), live_server, "alice")
    alice.goto(component.get_absolute_url())
    alice.get_by_role("link", name="New release").click()
    field(alice, "Version").fill("1.0")
    alice.get_by_role("button", name="Create release").click()
    expect(alice.locator(".errorlist")).to_contain_text("is not a semantic version")
    field(alice, "Version").fill("1.0.0")
    alice.get_by_role("button", name="Create release").click()
    release = Release.objects.get()
    expect(alice).to_have_url(f"{live_server.url}{release.get_absolute_url()}")
    expect(alice.get_by_test_id("release-state")).to_have_text("Blocked")
    path = alice.get_by_test_id("path-to-ready")
    expect(path).to_contain_text("1 open blocking finding (1 internal reference)")
    expect(path).to_contain_text("Missing community files: SECURITY.")
    expect(path).to_contain_text("Name a committer on the component page")
    expect(gate_row(alice, "Department reviews")).to_contain_text("pass")

    # cora follows the evidence link to the finding and accepts the risk.
    cora = login(new_page(), live_server, "cora")
    cora.goto(release.get_absolute_url())
    gate_row(cora, "Scan").get_by_role("link", name="core/hosts.py:1").click()
    row = finding_row(cora, "core/hosts.py:1")
    row.get_by_text("Triage", exact=True).click()
    row.get_by_label("State").select_option(label="Accepted risk")
    field(row, "Reason").fill("The wiki is being moved to a public host before launch.")
    row.get_by_role("button", name="Save triage").click()
    expect(cora.locator("ul.messages")).to_contain_text(
        "Finding marked accepted risk; it blocks until a second reviewer"
    )
    row = finding_row(cora, "core/hosts.py:1")
    expect(row.get_by_test_id("awaits-confirmation")).to_be_visible()
    expect(row.get_by_test_id("confirm-triage")).to_have_count(0)  # not her own

    # Four eyes: a second compliance reviewer confirms it.
    live_world.add_reviewer("carla", "compliance")
    carla = login(new_page(), live_server, "carla")
    carla.goto(cora.url)
    finding_row(carla, "core/hosts.py:1").get_by_test_id("confirm-triage").click()
    expect(carla.locator("ul.messages")).to_contain_text("Triage confirmed")

    # petra, the PMC member, names carl a committer on the component page.
    petra_page = login(new_page(), live_server, "petra")
    petra_page.goto(component.get_absolute_url())
    roles = petra_page.get_by_role("region", name="Community roles")
    field(roles, "Person (username)").fill("carl")
    field(roles, "Role").select_option(label="Committer")
    roles.get_by_role("button", name="Set role").click()
    expect(petra_page.get_by_role("region", name="Community roles")).to_contain_text("carl")

    alice.reload()
    expect(alice.get_by_test_id("release-state")).to_have_text("Blocked")
    path = alice.get_by_test_id("path-to-ready")
    expect(path).not_to_contain_text("internal reference")
    expect(path).not_to_contain_text("committer")
    expect(path).to_contain_text("Missing community files: SECURITY.")
    expect(alice.get_by_text("Grant a waiver")).to_have_count(0)  # admins only

    # The open-source office waives the community gate for a week.
    admin = login(new_page(), live_server, "admin")
    admin.goto(release.get_absolute_url())
    admin.get_by_text("Grant a waiver (open-source office)").click()
    waiver_form = admin.get_by_test_id("waiver-form")
    field(waiver_form, "Gate").select_option(label="Community files")
    field(waiver_form, "Reason").fill("SECURITY.md is in legal review; lands next week.")
    field(waiver_form, "Owner").select_option(label="alice")
    expires = timezone.localtime() + timedelta(days=7)
    field(waiver_form, "Expires").fill(expires.strftime("%Y-%m-%dT%H:%M"))
    waiver_form.get_by_role("button", name="Grant waiver").click()
    expect(admin.get_by_test_id("release-state")).to_have_text("Ready")
    expect(gate_row(admin, "Community files")).to_contain_text("waived")

    alice.reload()
    expect(alice.get_by_test_id("release-state")).to_have_text("Ready")
    expect(alice.get_by_test_id("path-to-ready")).to_contain_text("ready to publish")
    history = alice.get_by_role("region", name="History")
    for trigger in ("created", "finding triaged", "roles changed", "waiver granted"):
        expect(history).to_contain_text(trigger)
    assert Waiver.objects.get().owner == live_world.alice
    release.refresh_from_db()
    assert release.state == "ready"
    assert carl.component_roles.get().role == "committer"
