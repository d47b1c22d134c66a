"""Community events: who may hold them, what is refused, the calendar and the iCalendar
feed (RFC 5545), and what a person who may not see a component never sees of its events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import assign_perm

from community import services
from community.enums import EventKind
from community.models import Event
from core.models import AuditEvent
from governance.enums import CommunityRole
from governance.models import Component, ComponentRole
from tests.conftest import make_user

SOON = timezone.now().replace(microsecond=0) + timedelta(days=7)


@pytest.fixture
def lib(world):
    """A component alice owns, bob may see, and carol (its PMC member) hosts for."""
    component = Component.objects.create(
        name="Lib", slug="lib", created_by=world.alice, license="MIT"
    )
    component.owners.add(world.alice)
    assign_perm("governance.view_component", world.alice, component)
    assign_perm("governance.view_component", world.bob, component)
    carol = make_user("carol")
    assign_perm("governance.view_component", carol, component)
    ComponentRole.objects.create(component=component, user=carol, role=CommunityRole.PMC)
    component.carol = carol
    return component


@pytest.fixture
def secret(world):
    """A component only the office sees."""
    return Component.objects.create(name="Secret", slug="secret", created_by=world.admin,
                                    license="MIT")  # fmt: skip


def make_event(actor, components, *, title="Meetup", starts=SOON, hours=2, **extra):
    return services.event_create(
        actor=actor, title=title, kind=extra.pop("kind", EventKind.MEETUP), starts_at=starts,
        ends_at=starts + timedelta(hours=hours), components=components, **extra,
    )  # fmt: skip


def test_owners_pmc_and_the_office_hold_events_others_are_refused(world, lib, secret):
    make_event(world.alice, [lib], title="By the owner")
    make_event(lib.carol, [lib], title="By the PMC")
    make_event(world.admin, [], title="By the office, of no component")
    with pytest.raises(PermissionDenied):
        make_event(world.bob, [lib])  # may see it, but neither owns it nor is on its PMC
    with pytest.raises(PermissionDenied):
        make_event(world.alice, [lib, secret])  # not hers, the second one
    with pytest.raises(PermissionDenied):
        make_event(world.alice, [])
    assert Event.objects.count() == 3
    created = AuditEvent.objects.filter(action="event.created").order_by("seq")
    assert [e.after["title"] for e in created] == [
        "By the owner", "By the PMC", "By the office, of no component",
    ]  # fmt: skip
    assert created[0].after["components"] == ["lib"] and created[0].scope == lib.audit_scope


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"hours": -1}, "ends_at"),
        ({"link": "javascript:alert(1)"}, "link"),
        ({"link": "ftp://files.example.org/x"}, "link"),
        ({"title": "  "}, "title"),
        ({"title": "Two\nlines"}, "title"),
    ],
)
def test_an_event_is_refused_with_a_reason(world, lib, changes, field):
    with pytest.raises(ValidationError) as caught:
        make_event(world.alice, [lib], **changes)
    assert field in caught.value.message_dict
    assert not Event.objects.exists()


def test_updating_an_event_and_writing_its_report_afterwards_is_audited(world, lib):
    event = make_event(world.alice, [lib], time_zone="Europe/Berlin")
    updated = services.event_update(event=event, actor=lib.carol, report="Twenty came.",
                                    place="Berlin")  # fmt: skip
    assert updated.report == "Twenty came." and updated.place == "Berlin"
    audit = AuditEvent.objects.get(action="event.updated")
    assert audit.before["has_report"] is False and audit.after["has_report"] is True
    # The same again changes nothing and writes nothing.
    services.event_update(event=event, actor=lib.carol, report="Twenty came.", place="Berlin")
    assert AuditEvent.objects.filter(action="event.updated").count() == 1
    with pytest.raises(PermissionDenied):
        services.event_update(event=event, actor=world.bob, report="Mine now")
    with pytest.raises(ValidationError):
        services.event_update(event=event, actor=world.alice, ends_at=event.starts_at
                              - timedelta(minutes=1))  # fmt: skip
    services.event_delete(event=event, actor=world.alice)
    assert not Event.objects.exists() and AuditEvent.objects.filter(action="event.deleted")


def test_the_form_reads_times_in_the_events_own_time_zone(client, world, lib):
    client.force_login(world.alice)
    response = client.post("/community/events/new/", {
        "title": "Meetup Berlin", "kind": "meetup", "time_zone": "Europe/Berlin",
        "starts": "2027-07-01T18:30", "ends": "2027-07-01T21:00", "place": "Berlin",
        "link": "https://meetup.example.org/x", "description": "", "components": [lib.pk],
    })  # fmt: skip
    event = Event.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/community/events/{event.pk}/"
    assert event.starts_at == datetime(2027, 7, 1, 16, 30, tzinfo=UTC)  # CEST is UTC+2
    page = client.get(f"/community/events/{event.pk}/").content.decode()
    assert "Thursday 1 July 2027, 18:30" in page and "2027-07-01 16:30" in page

    bad = client.post("/community/events/new/", {
        "title": "Backwards", "kind": "meetup", "time_zone": "UTC",
        "starts": "2027-07-01T18:30", "ends": "2027-07-01T17:00", "components": [lib.pk],
    })  # fmt: skip
    assert bad.status_code == 400 and "cannot end before it starts" in bad.content.decode()
    assert Event.objects.count() == 1


def test_the_calendar_shows_zone_and_utc_and_hides_events_of_unseen_components(
    client, world, lib, secret
):
    make_event(world.alice, [lib], title="Lib meetup", time_zone="America/New_York",
               starts=datetime(2027, 3, 10, 23, 0, tzinfo=UTC))  # fmt: skip
    make_event(world.admin, [secret], title="Secret summit")
    make_event(world.admin, [lib, secret], title="Joint lab")
    make_event(world.admin, [], title="Open house")
    make_event(world.alice, [lib], title="Old lab", starts=timezone.now() - timedelta(days=40),
               report="It went well.")  # fmt: skip
    client.force_login(world.bob)

    body = client.get("/community/").content.decode()
    assert "Lib meetup" in body and "Open house" in body and "Joint lab" in body
    assert "Secret summit" not in body and ">Secret<" not in body  # not named on the joint lab
    assert "Wed 10 Mar 2027, 18:00" in body and "America/New_York" in body  # EST is UTC-5
    assert "(Wed 10 Mar, 23:00–Thu 11 Mar, 01:00 UTC)" in body  # past midnight in UTC
    assert "It went well." in body and "March 2027" in body

    only_lib = client.get("/community/?component=lib").content.decode()
    assert "Lib meetup" in only_lib and "Open house" not in only_lib
    assert client.get("/community/?component=secret").status_code == 404
    secret_event = Event.objects.get(title="Secret summit")
    assert client.get(f"/community/events/{secret_event.pk}/").status_code == 404
    client.force_login(world.admin)
    assert "Secret summit" in client.get("/community/").content.decode()


def _calendar_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/community/").status_code == 200
    return len(queries)


def test_the_calendar_costs_the_same_queries_for_few_or_many_events(client, world, lib):
    client.force_login(world.bob)
    for i in range(2):
        make_event(world.alice, [lib], title=f"Event {i}", starts=SOON + timedelta(days=i))
    make_event(world.admin, [], title="Past 1", starts=timezone.now() - timedelta(days=1))
    small = _calendar_queries(client)
    for i in range(2, 12):
        make_event(world.alice, [lib], title=f"Event {i}", starts=SOON + timedelta(days=40 * i))
        make_event(world.admin, [], title=f"Past {i}", starts=timezone.now() - timedelta(days=i))
    assert _calendar_queries(client) == small


# --------------------------------------------------------------------------- iCalendar


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_the_ics_feed_is_rfc_5545_with_escaping_and_folding(client, world, lib):
    event = make_event(
        world.alice, [lib], title="Lab, part 1; paths\\names",
        description="First line\nSecond line, with a comma; and more " + "x" * 80,
        place="Berlin, Mitte", link="https://meet.example.org/lab",
        starts=datetime(2027, 5, 4, 16, 0, tzinfo=UTC),
    )  # fmt: skip
    client.force_login(world.bob)
    response = client.get("/community/events.ics")
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    raw = response.content
    text = raw.decode()

    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    assert text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")  # every line ends in CRLF
    assert all(len(line.encode()) <= 75 for line in raw.decode().split("\r\n"))
    assert "\r\n " in text  # the long description was folded
    lines = unfold(text)
    assert r"SUMMARY:Lab\, part 1\; paths\\names" in lines
    assert r"LOCATION:Berlin\, Mitte" in lines
    assert "DTSTART:20270504T160000Z" in lines and "DTEND:20270504T180000Z" in lines
    description = next(line for line in lines if line.startswith("DESCRIPTION:"))
    assert description.startswith(r"DESCRIPTION:First line\nSecond line\, with a comma\; and")
    assert f"UID:event-{event.pk}@127.0.0.1" in lines
    assert "URL:https://meet.example.org/lab" in lines
    assert any(line.startswith("DTSTAMP:") and line.endswith("Z") for line in lines)
    # Stable: the same event has the same UID in the next fetch.
    assert f"UID:event-{event.pk}@127.0.0.1" in unfold(client.get("/community/events.ics")
                                                       .content.decode())  # fmt: skip


def test_folding_never_splits_a_character():
    from community.views import ics_fold

    folded = ics_fold("SUMMARY:" + "é" * 60)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == "SUMMARY:" + "é" * 60


def test_the_ics_feed_holds_only_events_its_reader_may_see_and_takes_a_revocable_token(
    client, world, lib, secret
):
    make_event(world.alice, [lib], title="Lib meetup")
    make_event(world.admin, [secret], title="Secret summit")
    assert client.get("/community/events.ics").status_code == 302  # to sign in

    feed = services.feed_address_make(user=world.bob)
    token = services.feed_token(feed)
    body = client.get(f"/community/events.ics?token={token}").content.decode()
    assert "Lib meetup" in body and "Secret summit" not in body
    assert token not in str(list(AuditEvent.objects.values_list("after", flat=True)))

    services.feed_address_make(user=world.bob)  # a new address: the old one stops
    assert client.get(f"/community/events.ics?token={token}").status_code == 404
    services.feed_address_revoke(user=world.bob)
    assert client.get("/community/events.ics?token=1-bogus").status_code == 404
    assert services.feed_user("") is None


def test_the_feed_address_is_shown_only_to_its_owner(client, world, lib):
    feed = services.feed_address_make(user=world.bob)
    token = services.feed_token(feed)
    client.force_login(world.bob)
    assert token in client.get("/community/").content.decode()
    client.force_login(world.alice)
    assert token not in client.get("/community/").content.decode()
    client.post("/community/feed-address/")
    assert services.feed_user(token) == world.bob  # alice's own address, not bob's
    client.force_login(world.bob)
    client.post("/community/feed-address/", {"action": "revoke"})
    assert services.feed_user(token) is None
