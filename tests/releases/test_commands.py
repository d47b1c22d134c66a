"""seed_demo_releases (roles and releases for the demo) and seed_scale (bulk load)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core.audit import verify_chain
from governance.models import Component, ComponentRole
from releases.models import Release
from reviews.models import ReviewTicket
from scans.models import Finding, ScanRun
from scans.services import scan_execute
from tests.reviews.test_seed_demo import demo_settings, seed  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def seed_releases() -> str:
    out = StringIO()
    call_command("seed_demo_releases", stdout=out)
    return out.getvalue()


def test_demo_releases_are_blocked_for_the_reasons_the_demo_shows(
    demo_settings,  # noqa: F811
    scan_on_submit,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    from releases.sync import component_sync

    demo_settings.GATEHOUSE_SYNC_DIR = tmp_path / "sync"
    with django_capture_on_commit_callbacks(execute=False):
        seed()
    output = seed_releases()
    # The external repositories were part of the review; the first sync is seed_demo_sync's.
    assert "mq-core 1.0.0: blocked (blocked by scan, licensing, community, versions)" in output
    assert set(Release.objects.values_list("version", flat=True)) == {
        "1.0.0", "0.9.0", "0.1.0", "2.1.0"
    }  # fmt: skip
    assert "mq-core 1.0.0: community gate waived for 30 days" in output
    # The worker's scans finish: each release is re-evaluated on its own.
    with django_capture_on_commit_callbacks(execute=True):
        for scan in ScanRun.objects.filter(status="queued"):
            scan_execute(scan_id=scan.pk)
        for component in Component.objects.all():
            component_sync(component_id=component.pk, trigger="demo")
    mq = Release.objects.get(component__slug="mq-core")
    assert ScanRun.objects.filter(status="done").count() == 4
    assert mq.state == "ready"
    assert [g["status"] for g in mq.gates] == ["pass"] * 3 + ["waived", "pass", "pass"]
    assert Release.objects.get(component__slug="rpc-interfaces").state == "ready"
    config = Release.objects.get(component__slug="config-client")
    assert {g["gate"] for g in config.blocking_gates} == {"reviews", "community", "maintainers"}
    trade = Release.objects.get(component__slug="trade-gateway")
    assert {g["gate"] for g in trade.blocking_gates} >= {"reviews", "scan", "maintainers"}
    assert ComponentRole.objects.filter(component__slug="mq-core").count() == 2
    # Twice is the same as once.
    again = seed_releases()
    assert "skipped (release exists)" in again and Release.objects.count() == 4
    assert verify_chain() is None


def test_seed_demo_releases_needs_the_demo(demo_settings):  # noqa: F811
    with pytest.raises(CommandError, match="Run seed_demo first"):
        seed_releases()


def test_seed_scale_bulk_loads_a_portfolio_and_adds_only_missing_components():
    out = StringIO()
    call_command("seed_scale", components=12, findings=20, stdout=out)
    assert Component.objects.count() == 12
    assert ReviewTicket.objects.count() == 12 * 4
    assert 12 * 18 <= Finding.objects.count() <= 12 * 22
    assert "Synthetic" in Component.objects.first().description
    call_command("seed_scale", components=15, findings=20, stdout=out)
    assert Component.objects.count() == 15
    with pytest.raises(CommandError):
        call_command("seed_scale", components=0, stdout=out)


def test_demo_sync_leaves_one_component_in_each_status(
    demo_settings,  # noqa: F811
    scan_on_submit,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    from releases.models import SyncState

    demo_settings.GATEHOUSE_SYNC_DIR = tmp_path / "sync"
    with django_capture_on_commit_callbacks(execute=False):
        seed()
    with django_capture_on_commit_callbacks(execute=True):
        seed_releases()
        out = StringIO()
        call_command("seed_demo_sync", stdout=out)
        call_command("seed_demo_sync", stdout=StringIO())  # idempotent
    latest = {
        slug: SyncState.objects.filter(component__slug=slug).first().status
        for slug in ("rpc-interfaces", "mq-core", "config-client", "trade-gateway")
    }
    assert latest == {
        "rpc-interfaces": "in_sync", "mq-core": "backport_needed",
        "config-client": "diverged", "trade-gateway": "export_pending",
    }  # fmt: skip
    published = Release.objects.filter(state="published").values_list("component__slug", flat=True)
    assert sorted(published) == ["mq-core", "rpc-interfaces"]
    assert "rpc-interfaces 2.1.0: published as v2.1.0" in out.getvalue()
    candidate = Release.objects.get(version="2.2.0-rc.1")
    assert candidate.state == "ready", candidate.blocking_gates
