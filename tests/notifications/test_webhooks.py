"""Outgoing webhooks to a real https receiver on 127.0.0.1 that checks the signature:
delivered in order, retried with backoff, disabled after repeated failure, refused by the
egress guard, managed by the open-source office alone."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.models import AuditEvent
from notifications.enums import DeliveryState
from notifications.models import WebhookDelivery, WebhookSubscription
from notifications.services import deliveries_due, outbox_drain
from notifications.webhooks import (
    subscription_create,
    subscription_rotate,
    subscription_set_active,
    webhooks_deliver,
)
from tests.conftest import submit
from tests.notifications.receiver import Receiver


@pytest.fixture
def receiver(settings):
    with Receiver() as server:
        settings.GATEHOUSE_WEBHOOK_ALLOW = ["https://", server.url.rsplit("/", 1)[0] + "/"]
        settings.GATEHOUSE_WEBHOOK_CA_FILE = server.ca_file
        settings.GATEHOUSE_WEBHOOK_RETRY_SECONDS = 0
        yield server


def _subscribe(world, receiver, events=("*",)):
    subscription, secret = subscription_create(
        actor=world.admin, url=receiver.url, events=list(events)
    )
    receiver.secret = secret
    return subscription


def test_events_reach_the_receiver_signed_and_in_order(world, repo, receiver):
    subscription = _subscribe(world, receiver)
    submit(world, repo)
    outbox_drain()
    sent = webhooks_deliver(subscription_id=subscription.pk)

    expected = list(
        AuditEvent.objects.filter(seq__gt=subscription.after_seq)
        .order_by("seq")
        .values_list("seq", "action")
    )
    assert sent == len(expected) and receiver.refused == 0
    assert [(d["seq"], d["action"]) for d in receiver.received] == expected
    created = next(d for d in receiver.received if d["action"] == "submission.created")
    assert created["object"]["type"] == "reviews.submission"
    assert created["hash"] == AuditEvent.objects.get(seq=created["seq"]).hash
    delivery = WebhookDelivery.objects.get(event__seq=created["seq"])
    assert delivery.state == DeliveryState.DELIVERED and delivery.response_code == 200
    assert webhooks_deliver(subscription_id=subscription.pk) == 0  # once each


def test_only_the_families_asked_for(world, repo, receiver):
    subscription = _subscribe(world, receiver, events=["submission"])
    submit(world, repo)
    outbox_drain()
    webhooks_deliver(subscription_id=subscription.pk)
    assert {d["action"].split(".")[0] for d in receiver.received} == {"submission"}


def test_a_failing_receiver_is_retried_in_order_then_disabled(
    world, repo, make_repo, receiver, settings
):
    settings.GATEHOUSE_WEBHOOK_MAX_FAILURES = 3
    subscription = _subscribe(world, receiver)
    submit(world, repo)
    outbox_drain()
    receiver.status = 503

    assert webhooks_deliver(subscription_id=subscription.pk) == 0
    first = WebhookDelivery.objects.filter(subscription=subscription).order_by("event__seq")[0]
    first.refresh_from_db()
    assert (first.attempts, first.response_code, first.error) == (1, 503, "HTTP 503")
    # The failed one holds back those after it: nothing later was attempted.
    assert not WebhookDelivery.objects.filter(attempts__gt=0).exclude(pk=first.pk).exists()
    assert subscription.pk in deliveries_due()  # the beat hands it to a sender again

    receiver.status = 200
    assert webhooks_deliver(subscription_id=subscription.pk) > 0  # recovered: all go out
    seqs = [d["seq"] for d in receiver.received]
    assert seqs == sorted(seqs) and seqs[0] == first.event.seq

    submit(world, make_repo(), slug="mq-two")
    outbox_drain()
    receiver.status = 500
    for _ in range(3):
        webhooks_deliver(subscription_id=subscription.pk)
    subscription.refresh_from_db()
    assert not subscription.is_active and "3 failed attempts" in subscription.disabled_reason
    assert AuditEvent.objects.filter(action="webhook.disabled").exists()
    assert subscription.pk not in deliveries_due()

    # Enabled again, the queue resumes where it stopped.
    receiver.status = 200
    subscription_set_active(subscription=subscription, actor=world.admin, active=True)
    webhooks_deliver(subscription_id=subscription.pk)
    assert not WebhookDelivery.objects.filter(
        subscription=subscription, event__seq__lte=seqs[-1] + 1, state="pending"
    ).exists()


def test_a_receiver_on_an_internal_address_needs_the_office_to_name_it(world, settings):
    settings.GATEHOUSE_WEBHOOK_ALLOW = ["https://"]
    with pytest.raises(ValidationError) as refused:
        subscription_create(actor=world.admin, url="https://127.0.0.1:9/hook", events=["*"])
    assert "internal network address" in str(refused.value)
    with pytest.raises(ValidationError):
        subscription_create(actor=world.admin, url="http://hooks.example.com/", events=["*"])
    with pytest.raises(ValidationError):
        subscription_create(actor=world.admin, url="https://hooks.example.com/", events=["bogus"])
    assert not WebhookSubscription.objects.exists()


def test_the_guard_is_asked_again_at_delivery(world, repo, receiver, settings):
    subscription = _subscribe(world, receiver)
    submit(world, repo)
    outbox_drain()
    settings.GATEHOUSE_WEBHOOK_ALLOW = ["https://"]  # the office took the entry out
    webhooks_deliver(subscription_id=subscription.pk)
    delivery = WebhookDelivery.objects.filter(attempts=1).get()
    assert "egress guard" in delivery.error and receiver.received == []


def test_a_rotated_secret_signs_from_then_on(world, repo, receiver):
    subscription = _subscribe(world, receiver)
    old = receiver.secret
    new = subscription_rotate(subscription=subscription, actor=world.admin)
    assert new != old
    submit(world, repo)
    outbox_drain()
    webhooks_deliver(subscription_id=subscription.pk)
    assert receiver.refused == 1  # the receiver still expects the old secret
    receiver.secret = new
    assert webhooks_deliver(subscription_id=subscription.pk) > 0


def test_a_sender_never_overtakes_another(world, repo, receiver):
    subscription = _subscribe(world, receiver)
    submit(world, repo)
    outbox_drain()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        lease_owner="sender:elsewhere",
        lease_expires_at=AuditEvent.objects.last().created_at.replace(year=2999),
    )
    assert webhooks_deliver(subscription_id=subscription.pk) == 0
    assert receiver.received == []


def test_only_the_office_manages_webhooks(client, world, receiver):
    url = reverse("notifications:webhooks")
    client.force_login(world.alice)
    assert client.get(url).status_code == 404
    assert client.post(url, {"url": receiver.url, "events": ["*"]}).status_code == 404
    assert not WebhookSubscription.objects.exists()

    client.force_login(world.admin)
    made = client.post(url, {"url": receiver.url, "events": ["release", "vote"]})
    assert made.status_code == 201
    subscription = WebhookSubscription.objects.get()
    assert subscription.events == ["release.*", "vote.*"]
    secret = made.context["secret"]
    assert secret in made.content.decode()
    page = client.get(reverse("notifications:webhook", args=[subscription.pk])).content.decode()
    assert secret not in page  # shown once
    assert secret not in str(list(AuditEvent.objects.values_list("after", flat=True)))

    client.force_login(world.alice)
    assert client.get(reverse("notifications:webhook", args=[subscription.pk])).status_code == 404
    for name in ("notifications:webhook-rotate", "notifications:webhook-toggle"):
        response = client.post(reverse(name, args=[subscription.pk]))
        assert response.status_code == 404
    bad = client.post(url, {"url": "not a url", "events": ["*"]})
    assert bad.status_code == 404
    client.force_login(world.admin)
    bad = client.post(url, {"url": "ftp://x", "events": ["*"]})
    assert bad.status_code == 400 and "https://" in bad.content.decode()
