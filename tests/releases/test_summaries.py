"""The derived tables the dashboards read (releases.summaries): the finding tallies follow
scans and triage, the charts summary follows changes (debounced) and the weeks, both are
rebuilt by seed_scale and the rebuild command; and the four dashboard pages cost the same
number of queries on a small and a larger seeded portfolio."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.tokens import token_create
from governance.models import Component
from releases import dashboard, departments
from releases.models import ChartSummary, FindingTally
from releases.summaries import (
    chart_figures,
    chart_summary_changed,
    chart_summary_refresh,
    finding_tallies_refresh,
)
from reviews.models import ReviewTicket
from scans.enums import ScanStatus, Severity
from scans.models import Finding, ScanRun
from scans.signals import scan_finished
from tests.conftest import PASSWORD, approve, make_user
from tests.releases.conftest import CLEAN_FILES

INTERNAL = {**CLEAN_FILES, "core/hosts.py": 'URL = "https://wiki.corp.example-internal.net/x"\n'}


def _counter(page: str) -> int:
    return int(re.search(r"<strong>(\d+)</strong> open blocking findings", page).group(1))


def _rescan(component, findings, *, finished_at=None) -> ScanRun:
    """A finished scan with ``findings`` (kind, severity), announced as scans does after
    commit."""
    scan = ScanRun.objects.create(
        repository=component.internal_repository, component=component, commit="f" * 40,
        status=ScanStatus.DONE, engine_version="t", policy_version="t",
        finished_at=finished_at or timezone.now(),
    )  # fmt: skip
    Finding.objects.bulk_create(
        Finding(scan=scan, kind=kind, rule="r", severity=severity, message="m",
                fingerprint=f"{scan.pk}-{n}")
        for n, (kind, severity) in enumerate(findings)
    )  # fmt: skip
    scan_finished.send(sender=ScanRun, scan_id=scan.pk)
    return scan


def test_tallies_follow_a_finished_scan_and_a_triage(
    approved, client, django_capture_on_commit_callbacks
):
    state = approved(INTERNAL)
    component, world = state.component, state.world
    tallies = FindingTally.objects.filter(component=component, severity=Severity.BLOCKING)
    assert [(t.kind, t.state, t.n, t.latest) for t in tallies] == [
        ("internal_ref", "open", 1, True)
    ]
    client.login(username="admin", password=PASSWORD)
    assert _counter(client.get(reverse("home")).content.decode()) == 1

    # A rescan with two secrets: the counter reads the latest scan only.
    with django_capture_on_commit_callbacks(execute=True):
        _rescan(component, [("secret", Severity.BLOCKING)] * 2 + [("hygiene", Severity.WARNING)])
    assert dashboard.portfolio_counters(world.admin).open_blocking_findings == 2
    assert not FindingTally.objects.get(component=component, kind="internal_ref").latest
    assert _counter(client.get(reverse("home")).content.decode()) == 2

    # Set aside by one reviewer, the secret still counts (four eyes); confirmed, it stops.
    secret = Finding.objects.filter(kind="secret").order_by("pk").first()
    with django_capture_on_commit_callbacks(execute=True):
        world.set_aside(secret)
    assert dashboard.portfolio_counters(world.admin).open_blocking_findings == 1
    settled = FindingTally.objects.get(component=component, kind="secret", confirmed=True)
    assert settled.state == "accepted_risk" and settled.n == 1 and settled.triaged_at


def test_chart_summary_is_refreshed_when_a_scan_finishes_and_when_a_ticket_changes(
    approved, client, world, make_repo, django_capture_on_commit_callbacks
):
    state = approved(INTERNAL)
    now = timezone.now()
    client.login(username="admin", password=PASSWORD)
    client.get(reverse("releases:charts"))  # the first view computes the summary
    summary = ChartSummary.objects.get()
    first = chart_figures(world.admin, now=now)
    assert first.findings.by_kind["Internal reference"][-1] == 1

    with django_capture_on_commit_callbacks(execute=True):
        _rescan(state.component, [("secret", Severity.BLOCKING)] * 3)
    summary.refresh_from_db()
    assert summary.stale_since is None and summary.computed_at > now
    page = client.get(reverse("releases:charts")).content.decode()
    assert '<th scope="col">Secret</th>' in page  # the findings chart's table
    figures = chart_figures(world.admin, now=timezone.now())
    assert figures.findings.by_kind["Secret"][-1] == 3
    assert "Internal reference" not in figures.findings.by_kind  # gone from the rescan

    # A ticket changes: a second component's legal review approved through the service.
    from tests.conftest import submit

    with django_capture_on_commit_callbacks(execute=True):
        other = submit(world, make_repo(), slug="other")
    legal = ReviewTicket.objects.get(submission=other, department__slug="legal")
    before = {m.name: m.approvals for m in chart_figures(world.admin, now=now).medians}
    ReviewTicket.objects.filter(pk=legal.pk).update(created_at=timezone.now() - timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        approve(legal, world.reviewers["legal"])
    after = {m.name: m.approvals for m in chart_figures(world.admin, now=timezone.now()).medians}
    assert after["Legal"] == before["Legal"] + 1
    assert chart_figures(world.admin, now=timezone.now()).activity.submissions[-1] == 2


def test_chart_summary_refreshes_once_for_a_burst_and_anew_each_week(
    world, django_capture_on_commit_callbacks
):
    assert chart_summary_changed() is False  # nothing to refresh before the first read
    now = timezone.now()
    chart_figures(world.admin, now=now)
    assert ChartSummary.objects.get().stale_since is None
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert chart_summary_changed() is True
        assert chart_summary_changed() is False  # rides along with the queued refresh
    assert len(queued) == 1 and ChartSummary.objects.get().stale_since is not None
    # A queued refresh that never ran (a lost message): a read later queues it again.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        chart_figures(world.admin, now=timezone.now())
        assert not queued  # queued a moment ago: still on its way
        ChartSummary.objects.update(stale_since=timezone.now() - timedelta(minutes=30))
        chart_figures(world.admin, now=timezone.now())
    assert len(queued) == 1
    # A new week: recomputed on the spot, with the new week's columns.
    later = now + timedelta(weeks=1)
    figures = chart_figures(world.admin, now=later)
    assert figures.activity.weeks == departments.week_starts(later)
    assert ChartSummary.objects.get().figures["weeks"][-1] == figures.activity.weeks[-1].isoformat()


def test_someone_who_sees_part_of_the_portfolio_gets_live_figures(world, make_repo):
    from tests.conftest import submit

    submit(world, make_repo(), slug="alices")
    submit(world, make_repo(), slug="bobs", actor=world.bob)
    now = timezone.now()
    chart_summary_refresh(now=now)
    assert chart_figures(world.admin, now=now).activity.submissions[-1] == 2
    assert chart_figures(world.alice, now=now).activity.submissions[-1] == 1


def test_seed_scale_writes_tallies_and_the_rebuild_command_restores_them(db):
    call_command("seed_scale", components=6, findings=30, stdout=StringIO())
    tallied = FindingTally.objects.aggregate(n=Sum("n"))["n"]
    counted = Finding.objects.filter(severity__in=[Severity.BLOCKING, Severity.WARNING]).count()
    assert tallied == counted > 0
    assert ChartSummary.objects.exists()
    FindingTally.objects.all().delete()
    ChartSummary.objects.all().delete()
    out = StringIO()
    call_command("rebuild_dashboard_summaries", stdout=out)
    assert FindingTally.objects.aggregate(n=Sum("n"))["n"] == tallied
    assert ChartSummary.objects.exists() and "rebuild_dashboard_summaries" in out.getvalue()
    finding_tallies_refresh(component_ids=list(Component.objects.values_list("pk", flat=True)))
    assert FindingTally.objects.aggregate(n=Sum("n"))["n"] == tallied  # idempotent


@pytest.mark.django_db
def test_dashboard_pages_cost_the_same_queries_on_a_small_and_a_larger_portfolio(client):
    """The four pages of the scale benchmark (benchmarks/dashboard_bench.py), on 5 and
    on 30 seeded components."""
    admin = make_user("admin", superuser=True)
    _, key = token_create(user=admin, name="test")

    def counts() -> dict[str, int]:
        legal = client.__class__()
        assert legal.login(username="scale-legal", password=PASSWORD)
        client.login(username="admin", password=PASSWORD)
        token = client.__class__()
        pages = {
            "portfolio": lambda: client.get(reverse("home")),
            "api": lambda: token.get("/api/dashboard/", HTTP_AUTHORIZATION=f"Token {key}"),
            "department": lambda: legal.get(reverse("releases:department", args=["legal"])),
            "charts": lambda: client.get(reverse("releases:charts")),
        }
        found = {}
        for name, get in pages.items():
            get()  # warm
            with CaptureQueriesContext(connection) as ctx:
                assert get().status_code == 200, name
            found[name] = len(ctx.captured_queries)
        return found

    def seed(n: int):
        call_command("seed_scale", components=n, findings=20, stdout=StringIO())
        legal = type(admin).objects.get(username="scale-legal")
        legal.set_password(PASSWORD)
        legal.save()

    seed(5)
    small = counts()
    seed(30)
    large = counts()
    assert small == large, (small, large)
    page = client.get(reverse("home")).content.decode()
    assert page.count('data-component="') == 30
    assert f"<strong>{Component.objects.count()}</strong> components" in page
