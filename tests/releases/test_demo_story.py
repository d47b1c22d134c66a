"""The demo tells a story across twelve weeks: seeding dates its events back, so that the
charts and every age show a history on a fresh ``make run`` (issue 10)."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from core.audit import verify_chain
from releases import departments
from releases.models import ExternalAlert, Release, SyncState
from reviews.models import ReviewTicket, SignOff, Submission
from scans.models import ScanRun
from tests.reviews.test_seed_demo import demo_settings, seed  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def _dates():
    return {
        "submissions": sorted(Submission.objects.values_list("created_at", flat=True)),
        "signoffs": sorted(SignOff.objects.values_list("created_at", flat=True)),
        "releases": sorted(Release.objects.values_list("created_at", "published_at")),
        "scans": sorted(ScanRun.objects.values_list("finished_at", flat=True)),
        "syncs": sorted(SyncState.objects.values_list("created_at", flat=True)),
    }


def test_seeded_demo_spans_twelve_weeks_and_every_chart_shows_a_history(
    demo_settings,  # noqa: F811
    scan_on_submit,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    demo_settings.GATEHOUSE_SYNC_DIR = tmp_path / "sync"
    with django_capture_on_commit_callbacks(execute=False):
        seed()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo_releases", stdout=StringIO())
        call_command("seed_demo_sync", stdout=StringIO())
    first = _dates()
    with django_capture_on_commit_callbacks(execute=True):
        seed()
        call_command("seed_demo_releases", stdout=StringIO())
        call_command("seed_demo_sync", stdout=StringIO())

    assert _dates() == first  # seeding again moves nothing
    now = timezone.now()
    admin = get_user_model().objects.get(username="admin")

    activity = departments.weekly_activity(admin, now=now)
    assert sum(1 for n in activity.submissions if n) >= 3  # submissions in several weeks
    assert sum(1 for n in activity.releases if n) >= 3
    oldest = min(first["submissions"])
    assert timedelta(weeks=10) < now - oldest < timedelta(weeks=12)

    medians = {m.name: m.median_days for m in departments.approval_medians(admin, now=now)}
    assert medians["Technical"] < 1.5 < medians["Security"] < medians["Compliance"]
    assert medians["Compliance"] < medians["Legal"]

    findings = departments.open_findings_over_time(admin, now=now)
    assert any(counts[0] == 0 and counts[-1] > 0 for counts in findings.by_kind.values())
    sync = departments.sync_status_over_time(admin, now=now)
    assert sum(counts[5] for counts in sync.by_status.values()) >= 1  # weeks before this one

    # Ages are real: config-client's compliance review has waited for weeks (overdue).
    waiting = ReviewTicket.objects.get(
        submission__component__slug="config-client", department__slug="compliance"
    )
    assert (now - waiting.created_at).days >= 28
    # A contributor's slip outside: an open alert on mq-core, security's review open again.
    alert = ExternalAlert.objects.get(component__slug="mq-core")
    assert (alert.kind, alert.department.slug, alert.state) == ("secret", "security", "open")
    assert alert.path == "api/examples/ci_publish.py" and alert.author_name == "Dana Contributor"
    security = ReviewTicket.objects.get(
        submission__component__slug="mq-core", department__slug="security"
    )
    assert security.state == "open"
    # The audit events keep their real, sealed times: the chain still verifies.
    assert verify_chain() is None


RAW_CODES = re.compile(
    r"\b(changes_requested|request_changes|in_review|export_pending|backport_needed|in_sync|"
    r"false_positive|accepted_risk|internal_ref|scan_finished|"
    r"(signoff|submission|ticket|component|release|waiver|finding|repository)\.[a-z_]+)\b"
)


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)  # attributes (classes, data-*) may keep codes


def test_no_page_of_the_demo_shows_a_raw_code(
    demo_settings,  # noqa: F811
    scan_on_submit,
    tmp_path,
    django_capture_on_commit_callbacks,
    client,
):
    demo_settings.GATEHOUSE_SYNC_DIR = tmp_path / "sync"
    with django_capture_on_commit_callbacks(execute=False):
        seed()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo_releases", stdout=StringIO())
        call_command("seed_demo_sync", stdout=StringIO())
    client.force_login(get_user_model().objects.get(username="admin"))
    urls = ["/", "/inbox/", "/queue/", "/submissions/", "/components/", "/departments/",
            "/charts/", "/departments/security/"]  # fmt: skip
    for slug in ("mq-core", "config-client", "trade-gateway", "rpc-interfaces"):
        urls += [f"/components/{slug}/", f"/components/{slug}/sync/",
                 f"/components/{slug}/releases/", f"/components/{slug}/alerts/"]  # fmt: skip
    urls += [a.get_absolute_url() for a in ExternalAlert.objects.all()]
    urls += [r.get_absolute_url() for r in Release.objects.all()]
    urls += [s.get_absolute_url() for s in Submission.objects.all()]
    urls += [t.get_absolute_url() for t in ReviewTicket.objects.all()]
    urls += [f"/scans/{pk}/" for pk in ScanRun.objects.values_list("pk", flat=True)]

    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        found = RAW_CODES.search(_visible_text(response.content.decode()))
        assert found is None, f"{url} shows {found.group(0)!r}"
