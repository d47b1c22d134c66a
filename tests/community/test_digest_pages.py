"""The digest archives: pages, the Markdown export, the Atom feeds, subscribing, and what
a person who may not see a component gets (404, or the portfolio without it)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import assign_perm

from community import services
from community.digest import digest_build, last_full_week, week_name, week_start
from community.models import DigestSubscription
from core.models import AuditEvent
from tests.community.test_digest import _released
from tests.conftest import make_user

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def libs(world):
    """Two released components with community commits; ``reader`` may see only the first."""
    made = _released(2, world.admin)
    for component in made:
        digest_build(week=timezone.now(), component=component)
    digest_build(week=timezone.now(), component=None)
    reader = make_user("reader")
    assign_perm("governance.view_component", reader, made[0])
    return made, reader


def test_a_component_digest_is_a_404_for_someone_who_may_not_see_the_component(client, libs):
    (seen, unseen), reader = libs
    week = week_name(week_start(timezone.now()))
    client.force_login(reader)
    for path in (f"/community/{unseen.slug}/digests/", f"/community/{unseen.slug}/digests/{week}/",
                 f"/community/{unseen.slug}/digests/{week}.md",
                 f"/community/{unseen.slug}/digests/feed.atom"):  # fmt: skip
        assert client.get(path).status_code == 404, path
    assert client.post(f"/community/{unseen.slug}/digests/subscription/").status_code == 404
    assert not DigestSubscription.objects.exists()

    page = client.get(f"/community/{seen.slug}/digests/{week}/")
    assert page.status_code == 200 and "change 0" in page.content.decode()


def test_the_portfolio_digest_page_and_markdown_leave_out_what_the_reader_may_not_see(
    client, libs, world
):
    (seen, unseen), reader = libs
    week = week_name(week_start(timezone.now()))
    client.force_login(reader)
    page = client.get(f"/community/digests/{week}/").content.decode()
    assert seen.name in page and unseen.name not in page

    export = client.get(f"/community/digests/{week}.md")
    assert export["Content-Type"] == "text/markdown; charset=utf-8"
    text = export.content.decode()
    assert text.startswith(f"# Portfolio community digest, {week}")
    assert seen.name in text and unseen.name not in text
    client.force_login(world.admin)
    assert unseen.name in client.get(f"/community/digests/{week}.md").content.decode()


def test_an_unknown_week_is_a_404(client, libs):
    _, reader = libs
    client.force_login(reader)
    assert client.get("/community/digests/2001-W01/").status_code == 404
    assert client.get("/community/digests/2026-W99/").status_code == 404
    assert client.get("/community/digests/yesterday/").status_code == 404


def test_subscribing_and_unsubscribing_on_the_archive_page(client, libs):
    (seen, _), reader = libs
    client.force_login(reader)
    page = client.get(f"/community/{seen.slug}/digests/").content.decode()
    assert 'data-testid="subscribe"' in page
    client.post(f"/community/{seen.slug}/digests/subscription/", {"action": "subscribe"})
    client.post(f"/community/{seen.slug}/digests/subscription/", {"action": "subscribe"})
    assert DigestSubscription.objects.filter(user=reader, component=seen).count() == 1
    assert (
        'data-testid="unsubscribe"'
        in client.get(f"/community/{seen.slug}/digests/").content.decode()
    )
    client.post("/community/digests/subscription/", {"action": "subscribe"})
    assert DigestSubscription.objects.filter(user=reader, component=None).exists()
    client.post(f"/community/{seen.slug}/digests/subscription/", {"action": "unsubscribe"})
    assert not DigestSubscription.objects.filter(user=reader, component=seen).exists()
    actions = list(AuditEvent.objects.filter(action__startswith="digest.").values_list(
        "action", flat=True))  # fmt: skip
    assert actions.count("digest.subscribed") == 2 and actions.count("digest.unsubscribed") == 1


def test_the_atom_feeds_parse_and_take_the_feed_token(client, libs, world):
    (seen, unseen), reader = libs
    assert client.get("/community/digests/feed.atom").status_code == 302  # sign in first
    token = services.feed_token(services.feed_address_make(user=reader))

    response = client.get(f"/community/digests/feed.atom?token={token}")
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.find(f"{ATOM}title").text.startswith("Portfolio community digest")
    link = entry.find(f"{ATOM}link").get("href")
    assert link.startswith("http://127.0.0.1:8000/community/digests/")
    summary = entry.find(f"{ATOM}summary").text
    assert seen.name in summary and unseen.name not in summary

    component_feed = ET.fromstring(
        client.get(f"/community/{seen.slug}/digests/feed.atom?token={token}").content
    )
    assert len(component_feed.findall(f"{ATOM}entry")) == 1
    assert (
        client.get(f"/community/{unseen.slug}/digests/feed.atom?token={token}").status_code == 404
    )
    assert client.get("/community/digests/feed.atom?token=9-nope").status_code == 404


def _archive_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_the_archive_costs_the_same_queries_for_few_or_many_weeks(client, libs):
    (seen, _), reader = libs
    client.force_login(reader)
    paths = ("/community/digests/", f"/community/{seen.slug}/digests/")
    small = {p: _archive_queries(client, p) for p in paths}
    monday = last_full_week()
    for weeks in range(1, 8):
        day = monday - timedelta(days=7 * weeks)
        digest_build(week=day, component=seen)
        digest_build(week=day, component=None)
    large = {p: _archive_queries(client, p) for p in small}
    assert large == small
    page = client.get("/community/digests/").content.decode()
    assert page.count('data-testid="digest-row"') == 8


def test_the_community_section_of_a_component_page_is_a_404_for_others(client, libs, world):
    (seen, unseen), reader = libs
    client.force_login(reader)
    assert client.get(f"/components/{unseen.slug}/community/").status_code == 404
    body = client.get(f"/components/{seen.slug}/community/").content.decode()
    assert 'data-testid="latest-digest"' in body  # a full page without htmx
    assert "<h1>Community of" in body
