"""Scans inside the app: automatic on submit, findings per department, triage that
survives rescans, and sign-offs made stale by a new blocking finding."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from reviews.enums import SignOffStatus, SubmissionState, TicketState
from reviews.models import SignOff
from reviews.services import submission_refresh
from scans.enums import ScanStatus, TriageState
from scans.models import Finding, ScanPolicy, ScanRun
from scans.services import finding_triage, scan_execute, scan_request
from tests.conftest import PASSWORD, approve, submit
from tests.tokens import github_token

TOKEN = github_token("scan flow")
CLEAN = {
    "README.md": "# mq\n", "LICENSE": "MIT License\n",
    "core/api.py": "# SPDX-License-Identifier: Apache-2.0\nx = 1\n",
}  # fmt: skip


@pytest.fixture
def policy(db):
    return ScanPolicy.objects.create(
        pk=1, internal_domains=["corp.example-internal.net"], licenses_denied=["GPL-3.0-only"]
    )


def latest(submission):
    return ScanRun.objects.filter(commit=submission.commit).latest("created_at")


def test_submitting_scans_the_commit(
    world, make_repo, scan_on_submit, policy, django_capture_on_commit_callbacks
):
    repo = make_repo({**CLEAN, "core/conf.py": f'TOKEN = "{TOKEN}"\n'})
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit(world, repo)
    scan = latest(submission)
    assert scan.status == ScanStatus.DONE and scan.files_total == 4
    secret = scan.findings.get(kind="secret")
    assert (secret.path, secret.line, secret.severity) == ("core/conf.py", 1, "blocking")
    assert TOKEN not in secret.excerpt and TOKEN not in secret.message


def test_duplicate_delivery_runs_a_scan_once(world, repo, policy):
    submission = submit(world, repo)
    scan = scan_request(repository=submission.repository, commit=submission.commit,
                        component=submission.component)  # fmt: skip
    assert scan_request(repository=submission.repository, commit=submission.commit,
                        component=submission.component).pk == scan.pk  # fmt: skip
    scan_execute(scan_id=scan.pk)
    assert scan_execute(scan_id=scan.pk) is None
    assert Finding.objects.filter(scan=scan).count() == scan.findings.count()


def test_triage_needs_reason_and_owning_department_and_survives_rescan(world, make_repo, policy):
    repo = make_repo({**CLEAN, "core/conf.py": f'TOKEN = "{TOKEN}"\n'})
    submission = submit(world, repo)
    first = scan_request(repository=submission.repository, commit=submission.commit,
                         component=submission.component)  # fmt: skip
    scan_execute(scan_id=first.pk)
    secret = first.findings.get(kind="secret")

    with pytest.raises(PermissionDenied):
        finding_triage(finding=secret, actor=world.reviewers["legal"], state="accepted_risk",
                       reason="fine")  # fmt: skip
    with pytest.raises(ValidationError):
        finding_triage(finding=secret, actor=world.reviewers["security"], state="accepted_risk",
                       reason=" ")  # fmt: skip
    finding_triage(finding=secret, actor=world.reviewers["security"], state="false_positive",
                   reason="A revoked test token.")  # fmt: skip

    repo.commit({"core/other.py": "# SPDX-License-Identifier: Apache-2.0\ny = 2\n"}, "more")
    submission_refresh(submission=submission, actor=world.alice)
    second = scan_request(repository=submission.repository, commit=repo.head(),
                          component=submission.component)  # fmt: skip
    scan_execute(scan_id=second.pk)
    carried = second.findings.get(kind="secret")
    assert carried.state == TriageState.FALSE_POSITIVE
    assert carried.triage_reason == "A revoked test token."

    repo.commit({"core/conf.py": "import os\nTOKEN = os.environ['TOKEN']\n"}, "fix")
    third = scan_request(repository=submission.repository, commit=repo.head(),
                         component=submission.component)  # fmt: skip
    scan_execute(scan_id=third.pk)
    assert not third.findings.filter(kind="secret").exists()


def test_gone_finding_becomes_fixed(world, make_repo, policy):
    repo = make_repo({**CLEAN, "core/conf.py": 'HOST = "db.corp.example-internal.net"\n'})
    submission = submit(world, repo)
    first = scan_request(repository=submission.repository, commit=submission.commit,
                         component=submission.component)  # fmt: skip
    scan_execute(scan_id=first.pk)
    ref = first.findings.get(kind="internal_ref")
    assert ref.state == TriageState.OPEN
    repo.commit({"core/conf.py": 'HOST = "db.example.org"\n'}, "public host")
    second = scan_request(repository=submission.repository, commit=repo.head(),
                          component=submission.component)  # fmt: skip
    scan_execute(scan_id=second.pk)
    ref.refresh_from_db()
    assert ref.state == TriageState.FIXED


def test_new_blocking_finding_makes_that_departments_signoffs_stale(
    world, make_repo, policy, django_capture_on_commit_callbacks
):
    repo = make_repo({**CLEAN, "core/conf.py": 'HOST = "db.newcorp.test"\n'})
    submission = submit(world, repo)
    first = scan_request(repository=submission.repository, commit=submission.commit,
                         component=submission.component)  # fmt: skip
    scan_execute(scan_id=first.pk)
    tickets = {t.department.slug: t for t in submission.tickets.select_related("department")}
    for slug, ticket in tickets.items():
        approve(ticket, world.reviewers[slug])
    submission.refresh_from_db()
    assert submission.state == SubmissionState.APPROVED

    # The policy learns a new internal domain: a rescan of the same commit now blocks.
    ScanPolicy.objects.filter(pk=1).update(internal_domains=["newcorp.test"])
    with django_capture_on_commit_callbacks(execute=True):
        scan = scan_request(repository=submission.repository, commit=submission.commit,
                            component=submission.component)  # fmt: skip
    scan.refresh_from_db()
    assert scan.pk != first.pk and scan.status == ScanStatus.DONE

    submission.refresh_from_db()
    compliance = tickets["compliance"]
    compliance.refresh_from_db()
    assert compliance.state == TicketState.OPEN
    assert SignOff.objects.filter(ticket=compliance, status=SignOffStatus.STALE).exists()
    assert tickets["legal"].signoffs.filter(status=SignOffStatus.CURRENT).exists()
    assert submission.state == SubmissionState.IN_REVIEW


def test_ticket_page_shows_its_departments_findings(client, world, make_repo, policy):
    repo = make_repo(
        {**CLEAN, "core/conf.py": f'TOKEN = "{TOKEN}"\nH = "a.corp.example-internal.net"\n'}
    )
    submission = submit(world, repo)
    scan = scan_request(repository=submission.repository, commit=submission.commit,
                        component=submission.component)  # fmt: skip
    scan_execute(scan_id=scan.pk)
    security = submission.tickets.get(department__slug="security")
    client.login(username="sam", password=PASSWORD)
    page = client.get(security.get_absolute_url()).content.decode()
    assert "Findings for Security" in page and "core/conf.py:1" in page
    assert "corp.example-internal.net" not in page  # compliance's finding, not security's
    assert TOKEN not in page
    scan_page = client.get(reverse("scans:scan", args=[scan.pk]), {"kind": "secret"})
    assert scan_page.status_code == 200
    assert len(scan_page.context["findings"]) == 1


def test_scan_page_is_not_for_outsiders(client, world, repo, policy):
    submission = submit(world, repo)
    scan = scan_request(repository=submission.repository, commit=submission.commit,
                        component=submission.component)  # fmt: skip
    client.login(username="bob", password=PASSWORD)
    assert client.get(reverse("scans:scan", args=[scan.pk])).status_code == 404


def test_load_policy_is_strict(tmp_path, db):
    good = tmp_path / "policy.yaml"
    good.write_text(
        "internal_references:\n  domains: [corp.example-internal.net]\n"
        "  packages: [com.example.internal]\n  email_domains: [corp.example-internal.net]\n"
        "  patterns: ['EXJIRA-\\d+']\nlicenses:\n  allowed: [Apache-2.0, MIT]\n"
        "  denied: [GPL-3.0-only, AGPL-3.0-or-later]\n"
    )
    call_command("load_policy", str(good))
    stored = ScanPolicy.objects.get(pk=1)
    assert stored.internal_patterns == ["EXJIRA-\\d+"]
    assert stored.licenses_denied == ["GPL-3.0-only", "AGPL-3.0-or-later"]

    for text, message in [
        ("licenses:\n  allowed: [MIT]\n  banned: [GPL-3.0-only]\n", "banned"),
        ("internal_refs: {}\n", "internal_refs"),
        ("internal_references:\n  patterns: ['(unclosed']\n", "not a valid regex"),
        ("licenses:\n  denied: [NotALicense]\n", "Unknown SPDX"),
        ("licenses: [MIT]\n", "mapping"),
    ]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(CommandError, match=message):
            call_command("load_policy", str(bad))
    assert ScanPolicy.objects.get(pk=1).internal_patterns == ["EXJIRA-\\d+"]
