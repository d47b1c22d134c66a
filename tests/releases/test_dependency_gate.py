"""A dependency the policy denies, declared by a published manifest, blocks the licensing
gate with the reason; one in a file that is not published does not; triaged (and
confirmed, four eyes) it stops blocking as any other finding does."""

from __future__ import annotations

import json

import pytest

from governance.models import Component
from reviews.services import component_scope_update
from scans.models import Finding, ScanPolicy
from tests.conftest import OPEN_PATHS
from tests.releases.conftest import CLEAN_FILES

pytestmark = pytest.mark.django_db

PACKAGE = json.dumps(
    {"name": "client", "dependencies": {"left-pad": "1.3.0", "express": "^4.19.2"}}, indent=2
)
REQUIREMENTS = "PyCrypto==2.6.1\nrequests==2.32.3\n"


@pytest.fixture
def policy(db):
    """The tests' policy (overrides the releases one), denying left-pad anywhere and
    pycrypto on PyPI."""
    return ScanPolicy.objects.create(
        pk=1,
        internal_domains=["corp.example-internal.net"],
        licenses_denied=["GPL-3.0-only"],
        dependencies_denied=["left-pad", "pypi:pycrypto"],
    )


def gate(release, key):
    release.refresh_from_db()
    return next(g for g in release.gates if g["gate"] == key)


def test_a_denied_dependency_in_a_published_manifest_blocks_licensing_with_the_reason(approved):
    release = approved({**CLEAN_FILES, "core/package.json": PACKAGE}).release()
    licensing = gate(release, "licensing")
    assert licensing["status"] == "blocked"
    assert licensing["reason"] == (
        "Licensing: 1 denied dependency is declared in the published tree: "
        "core/package.json:4: npm dependency left-pad 1.3.0 (runtime) is denied by the "
        "policy: left-pad is denied."
    )
    assert any("core/package.json:4" in e["label"] for e in licensing["evidence"])
    finding = Finding.objects.get(rule="denied-dependency")
    assert any(e["url"].endswith(f"#finding-{finding.pk}") for e in licensing["evidence"])
    # The finding is blocking, so the scan gate holds it too, as a dependency finding.
    assert "1 dependency finding" in gate(release, "scan")["reason"]


def test_a_denied_ecosystem_names_the_ecosystem(approved, policy):
    policy.dependencies_denied = []
    policy.dependency_ecosystems_denied = ["pypi"]
    policy.save()
    licensing = gate(
        approved({**CLEAN_FILES, "core/requirements.txt": REQUIREMENTS}).release(), "licensing"
    )
    assert licensing["status"] == "blocked"
    assert "2 denied dependencies are declared in the published tree" in licensing["reason"]
    assert (
        "core/requirements.txt:1: pypi dependency pycrypto 2.6.1 (runtime) is denied by the "
        "policy: the pypi ecosystem is denied" in licensing["reason"]
    )
    assert "core/requirements.txt:2: pypi dependency requests 2.32.3" in licensing["reason"]


def test_a_denied_dependency_outside_the_published_tree_does_not_block(
    approved, django_capture_on_commit_callbacks
):
    files = {
        **CLEAN_FILES,
        "tools/package.json": PACKAGE,  # outside the open scope
        "sharding/requirements.txt": REQUIREMENTS,  # internal
    }
    state = approved(files)
    release = state.release()
    assert Finding.objects.filter(rule="denied-dependency").count() == 2
    assert gate(release, "licensing")["status"] == "pass", gate(release, "licensing")
    assert gate(release, "scan")["status"] == "pass", gate(release, "scan")
    # The owner publishes tools/ as well: today's plan is judged, without a rescan.
    with django_capture_on_commit_callbacks(execute=True):
        component_scope_update(
            component=state.component, actor=state.world.alice,
            open_paths=[*OPEN_PATHS, "tools/**"],
        )  # fmt: skip
    licensing = gate(release, "licensing")
    assert licensing["status"] == "blocked"
    assert "tools/package.json:4: npm dependency left-pad" in licensing["reason"]
    assert "sharding/" not in licensing["reason"]


@pytest.mark.parametrize("state", ["accepted_risk", "false_positive"])
def test_a_triaged_denied_dependency_stops_blocking_once_confirmed(
    approved, django_capture_on_commit_callbacks, state
):
    from scans.services import finding_confirm, finding_triage

    approved_state = approved({**CLEAN_FILES, "core/package.json": PACKAGE})
    release = approved_state.release()
    world = approved_state.world
    finding = Finding.objects.get(rule="denied-dependency")
    with django_capture_on_commit_callbacks(execute=True):
        finding = finding_triage(
            finding=finding, actor=world.reviewers["technical"], state=state,
            reason="Vendored and reviewed by the technical board.",
        )  # fmt: skip
    # Set aside by one reviewer: still blocking until a second one confirms (four eyes).
    licensing = gate(release, "licensing")
    assert licensing["status"] == "blocked"
    assert (
        "(1 set aside by one reviewer, awaiting a second one's confirmation)"
        in (licensing["reason"])
    )
    with django_capture_on_commit_callbacks(execute=True):
        finding_confirm(finding=finding, actor=world.second_reviewer("technical"))
    licensing = gate(release, "licensing")
    assert licensing["status"] == "pass", licensing
    assert "no denied license or denied dependency is published" in licensing["reason"]
    assert gate(release, "scan")["status"] == "pass"


def test_a_rescan_keeps_the_triage_of_a_denied_dependency(
    approved, django_capture_on_commit_callbacks
):
    """The fingerprint does not depend on the line: the triage carries to the next scan."""
    from scans.services import scan_request

    state = approved({**CLEAN_FILES, "core/package.json": PACKAGE})
    world = state.world
    with django_capture_on_commit_callbacks(execute=True):
        world.set_aside(Finding.objects.get(rule="denied-dependency"))
    component = Component.objects.get(pk=state.component.pk)
    with django_capture_on_commit_callbacks(execute=True):
        rescan = scan_request(
            repository=component.internal_repository, commit=state.submission.commit,
            component=component, force=True,
        )  # fmt: skip
    rescan.refresh_from_db()
    assert rescan.status == "done"
    carried = Finding.objects.get(scan=rescan, rule="denied-dependency")
    assert carried.state == "accepted_risk" and carried.confirmed_at is not None
    assert gate(state.release(), "licensing")["status"] == "pass"
