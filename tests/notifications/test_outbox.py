"""The outbox: every committed audit event fanned out once, in order; nothing for a change
that rolled back; a drain run twice or cut into batches changes nothing."""

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.audit import audit_record
from core.models import AuditEvent
from notifications.models import Notification, OutboxCursor, WebhookDelivery
from notifications.services import OUTBOX, outbox_drain, outbox_lag
from notifications.webhooks import subscription_create
from reviews.services import comment_create
from tests.conftest import submit

RECEIVER = "https://hooks.example.com/gatehouse"


def _subscribe(world):
    subscription, _secret = subscription_create(actor=world.admin, url=RECEIVER, events=["*"])
    return subscription


def test_each_event_is_fanned_out_once_in_order(world, repo):
    subscription = _subscribe(world)
    submission = submit(world, repo)
    events = list(AuditEvent.objects.order_by("seq"))

    assert outbox_drain() == len(events)
    assert outbox_drain() == 0  # nothing new: nothing done twice

    deliveries = WebhookDelivery.objects.filter(subscription=subscription).order_by("event__seq")
    # The subscription's own creation came before it existed: only later events go out.
    later = [e.seq for e in events if e.seq > events[0].seq]
    assert [d.event.seq for d in deliveries] == later
    told = Notification.objects.filter(event__action="submission.created")
    assert sorted(n.user.username for n in told) == ["cora", "leo", "sam", "tina"]
    assert all(n.url.startswith("/tickets/") for n in told)
    assert OutboxCursor.objects.get(name=OUTBOX).last_seq == events[-1].seq
    assert submission.tickets.count() == 4


def test_a_change_that_rolled_back_is_never_announced(world, repo):
    _subscribe(world)
    outbox_drain()
    try:
        with transaction.atomic():
            audit_record(actor=world.alice, action="component.created", obj=world.alice)
            raise RuntimeError("the request failed after writing")
    except RuntimeError:
        pass
    assert outbox_drain() == 0
    assert not WebhookDelivery.objects.filter(event__action="component.created").exists()

    # The next event takes the sequence number the rolled-back one would have had.
    event = audit_record(actor=world.alice, action="component.created", obj=world.alice)
    assert event.seq == OutboxCursor.objects.get(name=OUTBOX).last_seq + 1
    assert outbox_drain() == 1


def test_batches_continue_where_the_last_stopped(world, repo, django_capture_on_commit_callbacks):
    subscription = _subscribe(world)
    submit(world, repo)
    total = AuditEvent.objects.count()
    # A drain that reads a full batch queues the next one at commit (run here eagerly).
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_drain(limit=2) == 2
    assert outbox_lag() == 0
    seqs = list(
        WebhookDelivery.objects.filter(subscription=subscription)
        .order_by("event__seq")
        .values_list("event__seq", flat=True)
    )
    assert seqs == list(range(2, total + 1))
    assert len(set(seqs)) == len(seqs)


def test_commits_wake_the_outbox(world, repo, outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        submit(world, repo)
    assert outbox_lag() == 0
    assert Notification.objects.filter(event__action="submission.created").count() == 4
    # One wake for the whole transaction, however many events it wrote.
    wakes = [c for c in callbacks if getattr(c, "__name__", "") == "_wake_outbox"]
    assert len(wakes) == 1


def test_an_event_no_handler_expected_does_not_stop_the_outbox(world, repo, caplog):
    """A scan that makes approvals stale audits ``signoff.stale_by_finding`` on the ticket,
    not on a sign-off; an event whose object its handler cannot read (a comment event on a
    ticket here) is logged and passed over, not a wall for every later event."""
    submission = submit(world, repo)
    ticket = submission.tickets.get(department__slug="security")
    audit_record(actor=None, action="signoff.stale_by_finding", obj=ticket, after={})
    audit_record(actor=world.alice, action="comment.created", obj=ticket, after={})
    audit_record(actor=world.alice, action="ticket.state_changed", obj=ticket,
                 after={"state": "open", "reason": "reopened"})  # fmt: skip

    assert outbox_drain() == AuditEvent.objects.count()
    assert OutboxCursor.objects.get(name=OUTBOX).last_seq == AuditEvent.objects.last().seq
    assert "could not be fanned out" in caplog.text
    # The event after the one that failed is told as usual.
    told = Notification.objects.filter(event__action="ticket.state_changed")
    assert told.filter(user=world.reviewers["security"]).exists()


def _drain_queries(world, submission, comments: int) -> int:
    ticket = submission.tickets.get(department__slug="security")
    for n in range(comments):
        body = f"@alice note {n}" if n % 2 else f"Note {n}."
        comment_create(submission=submission, ticket=ticket, actor=world.reviewers["security"],
                       body=body)  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        outbox_drain()
    return len(queries)


def test_a_drain_reads_each_object_once_not_each_events_people(world, repo):
    """Comments on one ticket: the comment itself (and a mention's names) per event; the
    ticket's readers, stakeholders and their preferences once per drain."""
    submission = submit(world, repo)
    outbox_drain()
    ten = _drain_queries(world, submission, 10)
    thirty = _drain_queries(world, submission, 30)
    assert thirty - ten <= 20 * 1.5, (ten, thirty)
