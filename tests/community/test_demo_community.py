"""The demo's community (seed_demo_community): events, alice's subscriptions and the
digests of the last week, made from the real demo data, the same after a second run."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from community.digest import last_full_week, week_name, week_start
from community.models import DigestSubscription, Event, WeeklyDigest
from tests.releases.test_demo_story import RAW_CODES, _visible_text
from tests.reviews.test_seed_demo import demo_settings, seed  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def _rows():
    return {
        "events": sorted(Event.objects.values_list("pk", "title", "starts_at")),
        "digests": sorted(WeeklyDigest.objects.values_list("pk", "component__slug", "week")),
        "subscriptions": sorted(
            DigestSubscription.objects.values_list("pk", "user__username", "component__slug")
        ),
    }


def test_the_demo_community_is_seeded_once_from_the_real_demo_data(
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
        out = StringIO()
        call_command("seed_demo_community", stdout=out)
    first = _rows()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo_community", stdout=StringIO())
    assert _rows() == first  # idempotent: the same rows

    last = week_name(last_full_week())
    weeks = {w for _, slug, w in first["digests"]}
    assert last in weeks
    assert {slug for _, slug, w in first["digests"] if w == last} == {
        "mq-core", "rpc-interfaces", None,
    }  # fmt: skip
    # The demo's community commit was pushed by seed_demo_sync, this week: its week is built
    # too, with the contributor as a first-time one.
    current = week_name(week_start(timezone.now()))
    assert current in weeks and "has no community commit" in out.getvalue()
    mq = WeeklyDigest.objects.get(component__slug="mq-core", week=current)
    assert [a["name"] for a in mq.facts["authors"] if a["first_time"]] == ["Dana Contributor"]
    assert "Document the client API's retry behaviour" in mq.markdown

    lab, meetup = Event.objects.order_by("starts_at")
    assert lab.report and lab.ends_at < timezone.now() < meetup.starts_at
    assert meetup.time_zone == "Europe/Berlin"
    assert [c.slug for c in meetup.components.all()] == ["mq-core"]
    last_digest = WeeklyDigest.objects.get(component__slug="mq-core", week=last)
    assert [e["title"] for e in last_digest.facts["events_past"]] == [lab.title]
    assert [e["title"] for e in last_digest.facts["events_upcoming"]] == [meetup.title]
    alice = sorted((slug or "portfolio") for _, user, slug in first["subscriptions"]
                   if user == "alice")  # fmt: skip
    assert alice == ["mq-core", "portfolio"]

    # Every community page of the demo answers, in words (no raw codes).
    client.force_login(get_user_model().objects.get(username="admin"))
    urls = ["/community/", "/community/digests/", "/community/mq-core/digests/",
            "/components/mq-core/community/", "/components/rpc-interfaces/community/",
            lab.get_absolute_url(), meetup.get_absolute_url(), f"/community/digests/{last}/",
            f"/community/mq-core/digests/{current}/"]  # fmt: skip
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        found = RAW_CODES.search(_visible_text(response.content.decode()))
        assert found is None, f"{url} shows {found.group(0)!r}"
