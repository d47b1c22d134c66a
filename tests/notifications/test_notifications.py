"""What people are told, how, and what they can do with it: preferences, mentions,
escalation past the SLA, the pages and the API."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from notifications.enums import Channel, Kind
from notifications.models import Escalation, Notification
from notifications.services import (
    daily_digest_send,
    outbox_drain,
    preferences_set,
    tickets_escalate,
)
from notifications.tasks import send_daily_digests, send_notification_email
from reviews.models import ReviewTicket
from reviews.services import comment_create
from tests.conftest import approve, make_user, submit
from tests.notifications.smtp import SmtpServer


def _security_ticket(submission):
    return submission.tickets.get(department__slug="security")


def test_channel_decides_mail_now_digest_bell_only_or_nothing(
    world, repo, django_capture_on_commit_callbacks
):
    preferences_set(user=world.reviewers["technical"], channels={Kind.REVIEW: Channel.DAILY})
    preferences_set(user=world.reviewers["legal"], channels={Kind.REVIEW: Channel.APP})
    preferences_set(user=world.reviewers["compliance"], channels={Kind.REVIEW: Channel.OFF})
    submit(world, repo)
    with django_capture_on_commit_callbacks(execute=True):
        outbox_drain()

    told = {n.user.username: n.channel for n in Notification.objects.filter(kind=Kind.REVIEW)}
    assert told == {"sam": "immediate", "tina": "daily", "leo": "app"}
    assert [m.to for m in mail.outbox] == [["sam@example.com"]]  # only the immediate one

    assert daily_digest_send() == 1
    digest = mail.outbox[-1]
    assert digest.to == ["tina@example.com"] and "Mq Core" in digest.body
    assert daily_digest_send() == 0  # claimed: never sent twice
    assert len(mail.outbox) == 2


def test_nobody_is_told_of_their_own_act(world, repo):
    submission = submit(world, repo)
    outbox_drain()
    approve(_security_ticket(submission), world.reviewers["security"])
    outbox_drain()
    decided = Notification.objects.filter(kind=Kind.DECISION)
    assert [n.user for n in decided] == [world.alice]
    assert "security: approve" in decided.get().title.lower()


def test_a_mention_notifies_who_may_see_it_and_nobody_else(world, repo):
    submission = submit(world, repo)
    ticket = _security_ticket(submission)
    outsider = make_user("mallory")  # sees nothing of this submission
    outbox_drain()
    comment_create(
        submission=submission, ticket=ticket, actor=world.reviewers["security"],
        body="@alice can you rotate the key? cc @mallory @nobody, mail sam@example.com",
    )  # fmt: skip
    outbox_drain()
    mentions = Notification.objects.filter(kind=Kind.MENTION)
    assert [n.user for n in mentions] == [world.alice]
    assert mentions.get().url == ticket.get_absolute_url()
    assert not Notification.objects.filter(user=outsider).exists()
    # The mention wins over "a comment on your submission": one notification per event.
    assert Notification.objects.filter(user=world.alice, kind=Kind.COMMENT).count() == 0


def test_overdue_tickets_tell_reviewers_then_the_leads(world, repo):
    security = world.departments["security"]
    # A lead is told only of what they may open: here a senior reviewer of the department.
    lead = make_user("lena", groups=[security.reviewer_group])
    security.leads.add(lead)
    submission = submit(world, repo)
    outbox_drain()
    ReviewTicket.objects.filter(submission=submission, department=security).update(
        created_at=timezone.now() - timedelta(days=security.sla_days, hours=1)
    )
    assert tickets_escalate() == 1  # only security's ticket has waited that long
    assert tickets_escalate() == 0  # each level once
    outbox_drain()
    overdue = Notification.objects.filter(kind=Kind.OVERDUE)
    assert {n.user.username for n in overdue} == {"sam", "lena"}  # the reviewers

    ReviewTicket.objects.filter(submission=submission, department=security).update(
        created_at=timezone.now() - timedelta(days=2 * security.sla_days, hours=1)
    )
    assert tickets_escalate() == 1
    outbox_drain()
    second = overdue.filter(event__after__level=2)
    assert [n.user for n in second] == [lead]
    assert "twice" in second.get().body
    assert Escalation.objects.filter(ticket=_security_ticket(submission)).count() == 2


# --------------------------------------------------------------------------- pages and API


@pytest.fixture
def told(world, repo):
    submit(world, repo)
    outbox_drain()
    return Notification.objects.get(user=world.reviewers["security"])


def test_bell_counts_unread_and_the_list_marks_read(client, world, told):
    client.force_login(world.reviewers["security"])
    page = client.get(reverse("inbox")).content.decode()
    assert 'data-testid="bell-count">1<' in page

    response = client.get(reverse("notifications:open", args=[told.pk]))
    assert response.status_code == 302 and response["Location"] == told.url
    told.refresh_from_db()
    assert told.read_at is not None
    assert 'data-testid="bell-count"' not in client.get(reverse("inbox")).content.decode()


def test_someone_elses_notification_is_a_404_everywhere(client, api, world, told):
    client.force_login(world.bob)
    assert client.get(reverse("notifications:open", args=[told.pk])).status_code == 404
    assert client.post(reverse("notifications:read", args=[told.pk])).status_code == 404
    assert api(world.bob).post(f"/api/notifications/{told.pk}/read/").status_code == 404
    assert api(world.bob).get("/api/notifications/").json()["results"] == []
    told.refresh_from_db()
    assert told.read_at is None


def test_api_lists_filters_and_marks_read(api, world, told):
    client = api(world.reviewers["security"])
    body = client.get("/api/notifications/?unread=true").json()
    assert [n["id"] for n in body["results"]] == [told.pk]
    assert body["results"][0]["kind"] == "review" and body["results"][0]["read"] is False
    assert client.get("/api/notifications/?unread=maybe").status_code == 400

    assert client.post(f"/api/notifications/{told.pk}/read/").json() == {"marked": 1}
    assert client.post(f"/api/notifications/{told.pk}/read/").json() == {"marked": 0}
    assert client.get("/api/notifications/?unread=true").json()["results"] == []
    assert client.post("/api/notifications/read-all/").json() == {"marked": 0}


def test_read_all_and_a_next_that_leaves_the_site(client, world, told):
    client.force_login(world.reviewers["security"])
    response = client.post(
        reverse("notifications:read", args=[told.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("notifications:list")
    client.post(reverse("notifications:read-all"))
    assert not Notification.objects.filter(read_at=None, user=world.reviewers["security"]).exists()


def test_preferences_page_saves_and_refuses_nonsense(client, world):
    client.force_login(world.bob)
    url = reverse("notifications:preferences")
    form = dict.fromkeys(Kind.values, Channel.APP)
    assert client.post(url, {**form, "mention": "carrier-pigeon"}).status_code == 400
    assert not world.bob.notification_preferences.exists()
    assert client.post(url, {**form, "mention": Channel.OFF}).status_code == 302
    chosen = dict(world.bob.notification_preferences.values_list("kind", "channel"))
    assert chosen["mention"] == "off" and chosen["review"] == "app"


def test_a_mail_relay_that_hangs_up_is_tried_again_and_mails_once(world, repo, relay_settings):
    submit(world, repo)
    outbox_drain()  # the immediate e-mails are queued at commit, which never comes here
    note = Notification.objects.get(kind=Kind.REVIEW, user__username="sam")
    with SmtpServer(drop=2) as relay:
        relay_settings.EMAIL_PORT = relay.port
        result = send_notification_email.apply(kwargs={"notification_id": note.pk})
    assert result.successful(), result.traceback
    assert relay.connections == 3
    (message,) = relay.messages
    assert message["To"] == "sam@example.com" and "Mq Core" in message["Subject"]
    note.refresh_from_db()
    assert note.emailed_at is not None
    assert send_notification_email.apply(kwargs={"notification_id": note.pk}).result == 0


def test_a_relay_that_stays_down_leaves_the_mail_unsent_not_marked_sent(
    world, repo, relay_settings
):
    submit(world, repo)
    outbox_drain()
    note = Notification.objects.get(kind=Kind.REVIEW, user__username="sam")
    with SmtpServer(drop=1000) as relay:
        relay_settings.EMAIL_PORT = relay.port
        result = send_notification_email.apply(kwargs={"notification_id": note.pk})
    assert result.failed()
    assert relay.connections == 1 + send_notification_email.max_retries
    note.refresh_from_db()
    assert note.emailed_at is None  # a later run may still send it


def test_a_refused_address_does_not_stop_the_others_daily_digest(world, repo, relay_settings):
    for name in ("technical", "legal"):  # tina and leo
        preferences_set(user=world.reviewers[name], channels={Kind.REVIEW: Channel.DAILY})
    submit(world, repo)
    outbox_drain()
    with SmtpServer(refuse=("tina@example.com",)) as relay:
        relay_settings.EMAIL_PORT = relay.port
        assert send_daily_digests.apply().result == 1
    assert [m["To"] for m in relay.messages] == ["leo@example.com"]
    unsent = Notification.objects.filter(channel=Channel.DAILY, emailed_at=None)
    assert [n.user.username for n in unsent] == ["tina"]  # tried again tomorrow
