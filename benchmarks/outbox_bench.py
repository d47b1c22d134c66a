"""Outbox benchmark: how fast committed audit events become notifications and webhooks.

    .venv/bin/python benchmarks/outbox_bench.py [--comments 2000] [--deliveries 300]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/outbox_bench.py

It builds a throwaway test database (test_<name>, dropped at the end), one real submission
(a real git repository, four departments' tickets), then --comments comments through the
real ``comment_create`` (one transaction each), every other one mentioning the submitter,
and one outgoing webhook subscription to every event. Printed:

* the outbox's drain rate (events/s and notifications/s, in batches of 500 as the task
  drains), each event checked against who may see it;
* the outgoing webhook sender's rate to a real https receiver on 127.0.0.1 that checks
  every signature (deliveries/s, one connection per delivery, in event order);
* the latency from a commit to the signed delivery reaching the receiver (p50/p95 over
  --samples single events: wake, drain, send, as the worker does, here in-process).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402

from config.celery import app as celery_app  # noqa: E402
from core.models import AuditEvent  # noqa: E402
from governance.defaults import ensure_default_departments  # noqa: E402
from governance.services import ComponentDraft  # noqa: E402
from notifications.models import Notification, WebhookDelivery  # noqa: E402
from notifications.services import outbox_drain  # noqa: E402
from notifications.webhooks import subscription_create, webhooks_deliver  # noqa: E402
from reviews.services import comment_create, submission_create  # noqa: E402
from tests.notifications.receiver import Receiver  # noqa: E402


def make_submission(root: Path):
    path = root / "repo"
    path.mkdir()
    ident = ["-c", "user.name=Bench", "-c", "user.email=bench@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    (path / "README.md").write_text("# bench\n")
    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    subprocess.run(["git", *ident, "commit", "-q", "-m", "init"], cwd=path, check=True)
    User = get_user_model()
    reviewers = {}
    for department, name in zip(ensure_default_departments(), ["tina", "cora", "leo", "sam"],
                                strict=True):  # fmt: skip
        reviewers[department.slug] = User.objects.create_user(name, f"{name}@example.com", "x")
        reviewers[department.slug].groups.add(department.reviewer_group)
    alice = User.objects.create_user("alice", "alice@example.com", "x")
    admin = User.objects.create_superuser("admin", "admin@example.com", "x")
    submission = submission_create(
        actor=alice, repository_url=f"file://{path}", branch="main",
        justification="Benchmark submission.",
        new_component=ComponentDraft(name="Bench", slug="bench", license="MIT", open_paths=["**"]),
    ).submission  # fmt: skip
    return submission, reviewers, admin


def drain_all() -> tuple[int, float]:
    began = time.perf_counter()
    events = 0
    while read := outbox_drain():
        events += read
    return events, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=2000)
    parser.add_argument("--deliveries", type=int, default=300)
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.GATEHOUSE_OUTBOX_WAKE = False  # drained by hand, to time the drain alone
    settings.GATEHOUSE_SCAN_ON_SUBMIT = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # What a drain queues (e-mails, a sender per subscription) goes to an in-memory broker
    # nobody consumes: the drain is timed alone, the sender after it.
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "memory://"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with tempfile.TemporaryDirectory(prefix="outbox-bench-") as tmp, Receiver() as receiver:
            settings.GATEHOUSE_AUDIT_ANCHOR_FILE = Path(tmp) / "anchors.jsonl"
            settings.GATEHOUSE_GIT_ALLOW = [f"file://{tmp}/"]
            settings.GATEHOUSE_WEBHOOK_ALLOW = ["https://", receiver.url.rsplit("/", 1)[0] + "/"]
            settings.GATEHOUSE_WEBHOOK_CA_FILE = receiver.ca_file
            submission, reviewers, admin = make_submission(Path(tmp))
            subscription, receiver.secret = subscription_create(
                actor=admin, url=receiver.url, events=["*"]
            )
            ticket = submission.tickets.get(department__slug="security")
            for n in range(args.comments):
                body = f"@alice note {n}" if n % 2 else f"Note {n}, no mention."
                comment_create(submission=submission, ticket=ticket,
                               actor=reviewers["security"], body=body)  # fmt: skip
            print(f"database: {connection.vendor}; {os.cpu_count()} cores; "
                  f"{AuditEvent.objects.count()} events to fan out")  # fmt: skip

            events, seconds = drain_all()
            made = Notification.objects.count()
            print(f"outbox drain: {events / seconds:8.0f} events/s, {made / seconds:8.0f} "
                  f"notifications/s ({events} events, {made} notifications, "
                  f"{WebhookDelivery.objects.count()} deliveries in {seconds:.2f} s)")  # fmt: skip

            began = time.perf_counter()
            sent = webhooks_deliver(subscription_id=subscription.pk, limit=args.deliveries)
            seconds = time.perf_counter() - began
            assert receiver.refused == 0 and len(receiver.received) == sent
            seqs = [d["seq"] for d in receiver.received]
            assert seqs == sorted(seqs)
            print(f"webhook sender: {sent / seconds:8.0f} deliveries/s over https "
                  f"({sent} signed deliveries, in order, {seconds:.2f} s)")  # fmt: skip
            WebhookDelivery.objects.filter(state="pending").delete()  # the backlog is done

            latencies = []
            for n in range(args.samples):
                began = time.perf_counter()
                comment_create(submission=submission, actor=reviewers["legal"],
                               body=f"@alice sample {n}")  # fmt: skip
                outbox_drain()
                webhooks_deliver(subscription_id=subscription.pk)
                latencies.append(1000 * (time.perf_counter() - began))
            latencies.sort()
            p95 = latencies[int(0.95 * (len(latencies) - 1))]
            print(f"commit → notified and delivered: p50 {statistics.median(latencies):6.1f} ms,"
                  f" p95 {p95:6.1f} ms ({args.samples} single events)")  # fmt: skip
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
