"""Releases and their gates through the real services: each gate passing and blocking with
its reason, re-blocking on a new commit or a new finding, waivers and their expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core.models import AuditEvent
from governance.enums import CommunityRole
from governance.services import component_role_set
from releases.enums import ReleaseState
from releases.models import GateEvaluation, GatePolicy, Release, Waiver
from releases.services import (
    release_cancel,
    release_create,
    release_evaluate,
    waiver_grant,
    waiver_revoke,
    waivers_lapse,
)
from reviews.services import submission_refresh
from scans.enums import TriageState
from scans.models import Finding, ScanRun
from scans.services import finding_confirm, finding_triage
from tests.conftest import approve
from tests.releases.conftest import CLEAN_FILES

MIT_TEXT = """MIT License

Copyright (c) 2026 Example Corp

Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify, merge,
publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.
"""


def gate(release, key):
    release.refresh_from_db()
    return next(g for g in release.gates if g["gate"] == key)


def test_clean_approved_component_release_is_ready(approved):
    state = approved()
    release = state.release()
    assert release.commit == state.submission.commit
    assert release.state == ReleaseState.READY
    assert [g["status"] for g in release.gates] == ["pass"] * 6
    assert [g["gate"] for g in release.gates] == [
        "reviews", "scan", "licensing", "community", "maintainers", "versions"
    ]  # fmt: skip
    assert GateEvaluation.objects.filter(release=release, trigger="created").count() == 1
    assert AuditEvent.objects.filter(action="release.ready").count() == 1


def test_reviews_gate_names_the_departments_still_waiting(
    world, make_repo, scan_on_submit, policy, django_capture_on_commit_callbacks
):
    from tests.conftest import submit
    from tests.releases.conftest import Approved

    repo = make_repo(CLEAN_FILES)
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit(world, repo)
    state = Approved(world, repo, submission)
    state.name_maintainers()
    legal = state.tickets().get(department__slug="legal")
    approve(legal, world.reviewers["legal"])
    release = state.release(commit=submission.commit)
    reviews = gate(release, "reviews")
    assert release.state == ReleaseState.BLOCKED
    assert reviews["status"] == "blocked"
    assert "Technical has 0 of 1 approvals" in reviews["reason"]
    assert "Legal" not in reviews["reason"]
    assert any("/tickets/" in e["url"] for e in reviews["evidence"])
    # The last approvals make it ready on their own: no manual evaluation.
    with django_capture_on_commit_callbacks(execute=True):
        for ticket in state.tickets().exclude(department__slug="legal"):
            approve(ticket, world.reviewers[ticket.department.slug])
    release.refresh_from_db()
    assert release.state == ReleaseState.READY


def test_a_new_commit_reblocks_a_ready_release(approved, django_capture_on_commit_callbacks):
    state = approved()
    release = state.release()
    assert release.state == ReleaseState.READY
    state.repo.commit({"core/more.py": "# SPDX-License-Identifier: Apache-2.0\n"}, "more")
    with django_capture_on_commit_callbacks(execute=True):
        submission_refresh(submission=state.submission, actor=state.world.alice)
    reviews = gate(release, "reviews")
    assert release.state == ReleaseState.BLOCKED
    assert "The reviews are of commit" in reviews["reason"]
    assert release.evaluations.first().trigger == "review"


def test_new_blocking_finding_reblocks_and_triage_unblocks(
    approved, django_capture_on_commit_callbacks
):
    files = {**CLEAN_FILES, "core/hosts.py": 'URL = "https://wiki.corp.example-internal.net/x"\n'}
    state = approved(files)
    release = state.release()
    scan = gate(release, "scan")
    assert release.state == ReleaseState.BLOCKED
    assert scan["reason"].startswith("1 open blocking finding (1 internal reference)")
    assert any("core/hosts.py:1" in e["label"] for e in scan["evidence"])
    finding = Finding.objects.get(kind="internal_ref")
    with django_capture_on_commit_callbacks(execute=True):
        finding = finding_triage(
            finding=finding, actor=state.world.reviewers["compliance"],
            state=TriageState.ACCEPTED_RISK, reason="Public wiki mirror.",
        )  # fmt: skip
    release.refresh_from_db()
    # One reviewer's word is a proposal: a blocking finding waits for a second one.
    assert release.state == ReleaseState.BLOCKED
    assert "await a second reviewer" in gate(release, "scan")["reason"]
    with django_capture_on_commit_callbacks(execute=True):
        finding_confirm(finding=finding, actor=state.world.second_reviewer("compliance"))
    release.refresh_from_db()
    assert release.state == ReleaseState.READY
    assert release.evaluations.first().trigger == "finding triaged"


def test_incomplete_or_missing_scan_blocks_and_says_so(approved):
    state = approved()
    ScanRun.objects.filter(commit=state.submission.commit).update(
        status="incomplete", error="time limit: the scan hit its time limit"
    )
    release = state.release()
    assert "is incomplete (time limit" in gate(release, "scan")["reason"]
    assert "never counts as clean" in gate(release, "scan")["reason"]
    ScanRun.objects.all().delete()
    release_evaluate(release_id=release.pk, trigger="manual")
    assert gate(release, "scan")["reason"].startswith("No scan of commit")
    assert gate(release, "licensing")["status"] == "blocked"
    # The community files are read from the export plan, which needs no scan.
    assert gate(release, "community")["status"] == "pass"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"LICENSE": MIT_TEXT},
         "the LICENSE file says MIT, the component is Apache-2.0"),
        ({"LICENSE": None}, "no LICENSE file with a recognised license"),
        ({"core/gpl.py": "# SPDX-License-Identifier: GPL-3.0-only\n"},
         "1 file carries a denied license (GPL-3.0-only)"),
        ({"core/mit.py": "# SPDX-License-Identifier: MIT\n"},
         "1 file header disagrees with Apache-2.0"),
    ],
)  # fmt: skip
def test_licensing_gate_blocks_with_the_reason(approved, files, expected):
    merged = {**CLEAN_FILES, **files}
    state = approved({k: v for k, v in merged.items() if v is not None})
    licensing = gate(state.release(), "licensing")
    assert licensing["status"] == "blocked"
    assert expected in licensing["reason"], licensing["reason"]


def test_community_gate_lists_missing_files(approved):
    files = {k: v for k, v in CLEAN_FILES.items() if k not in ("SECURITY.md", "CONTRIBUTING.md")}
    community = gate(approved(files).release(), "community")
    assert community["status"] == "blocked"
    assert community["reason"].startswith("Missing community files: CONTRIBUTING, SECURITY.")


def test_maintainers_gate_needs_pmc_and_committer(approved, django_capture_on_commit_callbacks):
    state = approved()
    with django_capture_on_commit_callbacks(execute=True):
        component_role_set(component=state.component, user=state.committer,
                           role="", actor=state.world.admin)  # fmt: skip
    release = state.release()
    maintainers = gate(release, "maintainers")
    assert maintainers["reason"] == "Name a committer on the component page before releasing."
    with django_capture_on_commit_callbacks(execute=True):
        component_role_set(component=state.component, user=state.committer,
                           role=CommunityRole.COMMITTER, actor=state.pmc)  # fmt: skip
    release.refresh_from_db()
    assert release.state == ReleaseState.READY
    assert release.evaluations.first().trigger == "roles changed"


def test_gate_policy_per_component_is_data(approved):
    state = approved({k: v for k, v in CLEAN_FILES.items() if k != "SECURITY.md"})
    GatePolicy.objects.create(component=None, gates=["reviews", "scan", "community"])
    GatePolicy.objects.create(component=state.component, gates=["reviews", "scan"])
    release = state.release()
    assert [g["gate"] for g in release.gates] == ["reviews", "scan"]
    assert release.state == ReleaseState.READY


def test_gate_waiver_passes_and_its_expiry_reblocks_on_its_own(
    approved, django_capture_on_commit_callbacks
):
    state = approved({k: v for k, v in CLEAN_FILES.items() if k != "SECURITY.md"})
    release = state.release()
    assert release.state == ReleaseState.BLOCKED
    world = state.world
    with django_capture_on_commit_callbacks(execute=True):
        waiver = waiver_grant(
            actor=world.admin, reason="Security policy lands next sprint.", owner=world.alice,
            expires_at=timezone.now() + timedelta(days=7), release=release, gate="community",
        )  # fmt: skip
    community = gate(release, "community")
    assert release.state == ReleaseState.READY
    assert community["status"] == "waived"
    assert "Security policy lands next sprint." in community["reason"]
    assert "Without the waiver: Missing community files: SECURITY." in community["reason"]
    # Time passes: the beat task notices the expiry and the gate blocks again by itself.
    Waiver.objects.filter(pk=waiver.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert waivers_lapse() == 1
    assert waivers_lapse() == 0
    release.refresh_from_db()
    assert release.state == ReleaseState.BLOCKED
    assert release.evaluations.first().trigger == "waiver expired"
    assert AuditEvent.objects.filter(action="waiver.expired").count() == 1


def test_finding_waiver_holds_across_rescans_until_revoked(
    approved, django_capture_on_commit_callbacks
):
    files = {**CLEAN_FILES, "core/hosts.py": 'URL = "https://wiki.corp.example-internal.net/x"\n'}
    state = approved(files)
    release = state.release()
    finding = Finding.objects.get(kind="internal_ref")
    with django_capture_on_commit_callbacks(execute=True):
        waiver = waiver_grant(
            actor=state.world.admin, reason="Host is being renamed.", owner=state.world.bob,
            expires_at=timezone.now() + timedelta(days=30), finding=finding,
        )  # fmt: skip
    release.refresh_from_db()
    assert release.state == ReleaseState.READY
    with django_capture_on_commit_callbacks(execute=True):
        waiver_revoke(waiver=waiver, actor=state.world.admin)
    release.refresh_from_db()
    assert release.state == ReleaseState.BLOCKED


def test_only_admins_grant_waivers_and_bad_input_writes_nothing(approved):
    state = approved()
    release = state.release()
    world = state.world
    good = {"reason": "ok", "owner": world.alice, "release": release, "gate": "scan",
            "expires_at": timezone.now() + timedelta(days=1)}  # fmt: skip
    with pytest.raises(PermissionDenied):
        waiver_grant(actor=world.alice, **good)
    bad = [
        ({"reason": "  "}, "reason"),
        ({"expires_at": timezone.now() - timedelta(days=1)}, "expires_at"),
        ({"expires_at": timezone.now() + timedelta(days=400)}, "expires_at"),
        ({"expires_at": None}, "expires_at"),
        ({"gate": "nonsense"}, "gate"),
        ({"owner": None}, "owner"),
    ]
    for change, field in bad:
        with pytest.raises(ValidationError) as caught:
            waiver_grant(actor=world.admin, **{**good, **change})
        assert field in caught.value.message_dict
    assert not Waiver.objects.exists()


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("1.0", "is not a semantic version"),
        ("01.0.0", "is not a semantic version"),
        ("banana", "is not a semantic version"),
        ("1\u0661.0.0", "is not a semantic version"),  # another script's digit
        ("1.0.0-" + "a" * 70, "at most 64 characters"),
        ("1.0.0", "already has a release 1.0.0"),
    ],
)
def test_release_version_is_validated(approved, version, message):
    state = approved()
    state.release("1.0.0")
    with pytest.raises(ValidationError) as caught:
        state.release(version)
    assert message in str(caught.value)
    assert Release.objects.count() == 1


def test_version_must_exceed_the_last_published_and_commit_is_checked(approved):
    state = approved()
    release = state.release("1.2.0")
    Release.objects.filter(pk=release.pk).update(state=ReleaseState.PUBLISHED)
    for version in ("1.1.9", "1.2.0", "1.2.0-rc.1"):
        with pytest.raises(ValidationError, match="not greater than the last published 1.2.0"):
            state.release(version)
    assert state.release("v1.2.1").version == "1.2.1"
    with pytest.raises(ValidationError, match="full 40-character commit"):
        state.release("1.3.0", commit="abc123")


def test_only_owners_and_admins_create_and_cancel(approved):
    state = approved()
    with pytest.raises(PermissionDenied):
        release_create(component=state.component, actor=state.world.bob, version="1.0.0")
    release = state.release()
    with pytest.raises(PermissionDenied):
        release_cancel(release=release, actor=state.world.bob, reason="no")
    with pytest.raises(ValidationError):
        release_cancel(release=release, actor=state.world.alice, reason=" ")
    release = release_cancel(release=release, actor=state.world.alice, reason="Wrong commit.")
    assert release.state == ReleaseState.CANCELLED
    # A cancelled release is no longer evaluated.
    release_evaluate(release_id=release.pk, trigger="manual")
    release.refresh_from_db()
    assert release.state == ReleaseState.CANCELLED


def test_evaluating_twice_without_change_stores_one_history_entry(approved):
    release = approved().release()
    release_evaluate(release_id=release.pk, trigger="manual")
    release_evaluate(release_id=release.pk, trigger="manual")
    assert release.evaluations.count() == 1


def test_last_pmc_member_cannot_step_down_alone(approved):
    state = approved()
    with pytest.raises(ValidationError, match="last PMC member"):
        component_role_set(component=state.component, user=state.pmc, role="", actor=state.pmc)
    with pytest.raises(PermissionDenied):
        component_role_set(component=state.component, user=state.world.bob,
                           role=CommunityRole.PMC, actor=state.world.alice)  # fmt: skip


def test_a_named_person_sees_the_component_until_the_role_goes(approved):
    state = approved()
    from governance.rules import can_view_component

    bob = state.world.bob
    assert not can_view_component(bob, state.component)
    component_role_set(component=state.component, user=bob, role=CommunityRole.CONTRIBUTOR,
                       actor=state.pmc)  # fmt: skip
    bob = type(bob).objects.get(pk=bob.pk)  # a fresh user: guardian caches permissions
    assert can_view_component(bob, state.component)
    component_role_set(component=state.component, user=bob, role="", actor=state.pmc)
    bob = type(bob).objects.get(pk=bob.pk)
    assert not can_view_component(bob, state.component)
    assert AuditEvent.objects.filter(action="component.role_changed").count() == 4


def test_waivers_only_for_open_releases_their_gates_and_open_findings(
    approved, django_capture_on_commit_callbacks
):
    files = {**CLEAN_FILES, "core/hosts.py": 'URL = "https://wiki.corp.example-internal.net/x"\n'}
    state = approved(files)
    world = state.world
    release = state.release()
    GatePolicy.objects.create(component=state.component, gates=["reviews", "scan"])
    other = state.release("1.0.1")
    week = timezone.now() + timedelta(days=7)
    base = {"actor": world.admin, "reason": "r", "owner": world.alice, "expires_at": week}
    with pytest.raises(ValidationError, match="this release's gates: reviews, scan"):
        waiver_grant(release=other, gate="community", **base)
    finding = Finding.objects.get(kind="internal_ref")
    with django_capture_on_commit_callbacks(execute=True):
        finding_triage(finding=finding, actor=world.reviewers["compliance"],
                       state=TriageState.FALSE_POSITIVE, reason="Test fixture.")  # fmt: skip
    finding.refresh_from_db()
    with pytest.raises(ValidationError, match="already triaged"):
        waiver_grant(finding=finding, **base)
    release_cancel(release=release, actor=world.alice, reason="Superseded by 1.0.1.")
    release.refresh_from_db()
    with pytest.raises(ValidationError, match="cancelled release takes no more waivers"):
        waiver_grant(release=release, gate="scan", **base)
    world.bob.is_active = False
    world.bob.save()
    with pytest.raises(ValidationError, match="active user"):
        waiver_grant(release=other, gate="scan", **{**base, "owner": world.bob})
    assert not Waiver.objects.exists()
