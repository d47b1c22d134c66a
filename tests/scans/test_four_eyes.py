"""Attack 5, self-triage: a reviewer who is also a component's submitter marks their own
component's leaked AWS key "false positive" and the scan gate passes. Separation of duties
now holds on every decision about findings: nobody with a stake in the component
triages it, and a blocking finding set aside needs a second member of the department."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core.models import AuditEvent
from releases.services import waiver_grant
from scans.enums import KIND_DEPARTMENT
from scans.models import Finding, ScanPolicy
from scans.selectors import finding_counts
from scans.services import finding_confirm, finding_triage, scan_execute, scan_request
from tests.conftest import submit

AWS = "AKIA" + "Z7QK3M9TWX4RB2NY"
FILES = {
    "README.md": "# x\n",
    "deploy/aws.py": f'ACCESS_KEY_ID = "{AWS}"\n',
    "core/util.py": "x = 1\n",
}


def scan_of(submission):
    scan = scan_request(repository=submission.repository, commit=submission.commit,
                        component=submission.component)  # fmt: skip
    scan_execute(scan_id=scan.pk)
    return scan


@pytest.fixture
def own_component(world, make_repo):
    """sam, a security reviewer, submits a component of his own with a leaked AWS key."""
    ScanPolicy.objects.create(pk=1)
    sam = world.reviewers["security"]
    submission = submit(world, make_repo(FILES), actor=sam, slug="sams-tool")
    scan = scan_of(submission)
    return submission, scan.findings.get(kind="secret", rule__icontains="aws")


@pytest.fixture
def others_component(world, make_repo):
    ScanPolicy.objects.create(pk=1)
    submission = submit(world, make_repo(FILES), actor=world.alice, slug="alices-tool")
    scan = scan_of(submission)
    return submission, scan.findings.get(kind="secret", rule__icontains="aws")


def test_a_reviewer_cannot_triage_their_own_components_secret(world, own_component, api):
    submission, secret = own_component
    assert secret.severity == "blocking"
    response = api(world.reviewers["security"]).post(
        f"/api/findings/{secret.pk}/triage/",
        {"state": "false_positive", "reason": "Test key."},
        format="json",
    )
    assert response.status_code == 403
    assert "You own this component" in response.json()["detail"]
    secret.refresh_from_db()
    assert (secret.state, secret.triaged_by) == ("open", None)
    assert not AuditEvent.objects.filter(action="finding.triaged").exists()


def test_the_office_cannot_triage_or_waive_a_component_it_submitted(world, make_repo):
    ScanPolicy.objects.create(pk=1)
    submission = submit(world, make_repo(FILES), actor=world.admin, slug="office-tool")
    secret = scan_of(submission).findings.get(kind="secret", rule__icontains="aws")
    with pytest.raises(PermissionDenied, match="You own this component"):
        finding_triage(finding=secret, actor=world.admin, state="accepted_risk", reason="ok")
    with pytest.raises(PermissionDenied, match="another member of the open-source office"):
        waiver_grant(actor=world.admin, finding=secret, reason="later", owner=world.alice,
                     expires_at=timezone.now() + timedelta(days=7))  # fmt: skip


def test_a_blocking_finding_set_aside_counts_only_with_a_second_reviewer(
    world, others_component, api
):
    submission, secret = others_component
    url = f"/api/findings/{secret.pk}/"
    sam = api(world.reviewers["security"])
    triaged = sam.post(url + "triage/", {"state": "false_positive", "reason": "A fixture."},
                       format="json")  # fmt: skip
    assert triaged.status_code == 200
    assert triaged.json()["awaits_confirmation"] is True
    scan = secret.scan
    assert finding_counts(scan)["blocking_open"] >= 1  # still counts
    # Not by the same person, not by the owner, not by another department.
    for user, status in [
        (world.reviewers["security"], 403),
        (world.alice, 403),
        (world.reviewers["legal"], 403),
    ]:
        assert api(user).post(url + "confirm/").status_code == status, user
    second = world.second_reviewer("security")
    confirmed = api(second).post(url + "confirm/")
    assert confirmed.status_code == 200
    assert confirmed.json()["confirmed_by"] == second.username
    assert confirmed.json()["awaits_confirmation"] is False
    event = AuditEvent.objects.get(action="finding.confirmed")
    assert event.actor == second and event.after["triaged_by"] == world.reviewers["security"].pk
    # A second confirmation is refused: nothing awaits it.
    assert api(world.second_reviewer("security")).post(url + "confirm/").status_code == 403


def test_a_confirmed_triage_carries_over_to_the_next_scan(world, others_component):
    submission, secret = others_component
    world.set_aside(secret, state="false_positive", reason="A fixture.")
    rescan = scan_request(repository=submission.repository, commit=submission.commit,
                          component=submission.component, force=True)  # fmt: skip
    scan_execute(scan_id=rescan.pk)
    carried = Finding.objects.get(scan=rescan, fingerprint=secret.fingerprint)
    assert carried.state == "false_positive" and not carried.awaits_confirmation


def test_reopening_or_a_new_triage_needs_confirming_again(world, others_component):
    submission, secret = others_component
    secret = world.set_aside(secret, state="accepted_risk", reason="Rotated.")
    again = finding_triage(finding=secret, actor=world.second_reviewer("security"),
                           state="false_positive", reason="Actually a fixture.")  # fmt: skip
    assert again.awaits_confirmation
    with pytest.raises(PermissionDenied, match="You triaged this finding"):
        finding_confirm(finding=again, actor=world.second_reviewer("security"))


def test_non_blocking_findings_need_one_reviewer(world, others_component):
    submission, _ = others_component
    info = submission.component.scans.first().findings.exclude(severity="blocking").first()
    assert info is not None
    reviewer = world.reviewers.get(KIND_DEPARTMENT.get(info.kind, "technical"))
    triaged = finding_triage(finding=info, actor=reviewer, state="accepted_risk", reason="ok")
    assert not triaged.awaits_confirmation


def test_nobody_grants_a_waiver_to_themselves(world, others_component):
    _, secret = others_component
    with pytest.raises(ValidationError) as caught:
        waiver_grant(actor=world.admin, finding=secret, reason="Later.", owner=world.admin,
                     expires_at=timezone.now() + timedelta(days=7))  # fmt: skip
    assert "nobody grants themselves a waiver" in caught.value.message_dict["owner"][0]


def test_the_pages_offer_no_triage_to_a_stakeholder(world, own_component, client):
    submission, secret = own_component
    client.force_login(world.reviewers["security"])
    page = client.get(f"/scans/{secret.scan_id}/").content.decode()
    assert f"/findings/{secret.pk}/triage/" not in page
    refused = client.post(f"/findings/{secret.pk}/triage/",
                          {"state": "false_positive", "reason": "mine"})  # fmt: skip
    assert refused.status_code == 302
    secret.refresh_from_db()
    assert secret.state == "open"
