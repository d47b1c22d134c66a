"""Leases on long jobs: which attempt works on a row now, and until when.

A job row (a scan today) is claimed by an attempt with a conditional UPDATE that sets the
owner and an expiry; a heartbeat thread pushes the expiry on while the attempt works. A
redelivered or retried task claims the row only when its lease has expired (or is its own,
for a retry of the same task); a job whose lease keeps expiring is failed after a bounded
number of attempts (see ``stalled``). The attempt that finishes writes its results only if
it still holds the lease, so whatever is killed and redelivered, one set of results is
written.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    models,
    transaction,
)
from django.db.models import F, Q
from django.utils import timezone

log = logging.getLogger(__name__)

__all__ = ["Heartbeat", "claim", "new_owner", "requeue_stalled", "stalled"]


def task_options() -> dict:
    """The Celery options of a task that runs a leased job (a scan, a git job). A lost
    database connection or a restarting database is tried again with backoff; a retry
    keeps the task id, so it takes its own lease back at once (``task_owner``). The limits
    stay within the broker's visibility timeout (the scan limit + 300 s), so a job still
    running is never handed to a second worker by the broker."""
    return {
        "bind": True,
        "acks_late": True,
        "autoretry_for": (OperationalError, InterfaceError),
        "retry_backoff": 2,
        "retry_backoff_max": 60,
        "max_retries": 5,
        "soft_time_limit": settings.GATEHOUSE_SCAN_TIME_LIMIT + 60,
        "time_limit": settings.GATEHOUSE_SCAN_TIME_LIMIT + 120,
    }


def task_owner(task) -> str | None:
    """The lease owner of a bound task's attempts: its id, the same across its retries."""
    return f"task:{task.request.id}" if task.request.id else None


def lease_seconds() -> float:
    return float(settings.GATEHOUSE_LEASE_SECONDS)


def new_owner() -> str:
    """An attempt's name: host, process and a random part (unique per attempt)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def claim(model: type[models.Model], pk: int, *, owner: str, waiting: str, running: str) -> bool:
    """Take the job for ``owner``: when it is waiting, when its lease has expired, or when
    the lease is ``owner``'s own (a retry of the same task). Counts the attempt; refuses
    once the job has had GATEHOUSE_JOB_MAX_ATTEMPTS. One conditional UPDATE, so two
    attempts never both win."""
    now = timezone.now()
    claimable = (
        Q(status=waiting)
        | Q(status=running, lease_expires_at__lt=now)
        | Q(status=running, lease_owner=owner)
    )
    return (
        model.objects.filter(
            claimable, pk=pk, attempts__lt=settings.GATEHOUSE_JOB_MAX_ATTEMPTS
        ).update(
            status=running,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds()),
            attempts=F("attempts") + 1,
        )
        == 1
    )


def stalled(model: type[models.Model], *, running: str, now=None) -> models.QuerySet:
    """Jobs marked running whose lease has expired: their attempt died (or lost the
    database for longer than a lease)."""
    now = now or timezone.now()
    return model.objects.filter(status=running, lease_expires_at__lt=now)


def requeue_stalled(
    model: type[models.Model], *, waiting: str, running: str, failed: str,
    failure: Callable[[int], dict], send: Callable[[int], None],
    on_failed: Callable[[int], None] | None = None,
) -> dict[str, int]:  # fmt: skip
    """The beat pass over one kind of job. Jobs marked running whose lease expired (their
    worker was killed, or lost the database for longer than a lease) are made waiting
    again and ``send`` is called after commit, or, after GATEHOUSE_JOB_MAX_ATTEMPTS
    attempts, they are marked ``failed`` with the fields ``failure(attempts)`` gives and
    ``on_failed`` is called after commit. Jobs still waiting GATEHOUSE_RESEND_QUEUED_SECONDS
    after they were sent (``sent_at``) have lost their message (a broker restarted without
    its data) and are sent again. Each change is a conditional update, so two passes at
    once change a job once; a second message is harmless, as only one attempt claims."""
    now = timezone.now()
    counts = {"requeued": 0, "failed": 0, "resent": 0}
    cleared = {"lease_owner": "", "lease_expires_at": None}
    for pk, attempts in stalled(model, running=running, now=now).values_list("pk", "attempts")[
        :1000
    ]:
        still = model.objects.filter(pk=pk, status=running, lease_expires_at__lt=now)
        with transaction.atomic():
            if attempts >= settings.GATEHOUSE_JOB_MAX_ATTEMPTS:
                if still.update(status=failed, finished_at=now, **failure(attempts), **cleared):
                    counts["failed"] += 1
                    if on_failed is not None:
                        transaction.on_commit(lambda pk=pk: on_failed(pk))
            elif still.update(status=waiting, **cleared):
                counts["requeued"] += 1
                transaction.on_commit(lambda pk=pk: send(pk))
    lost = now - timedelta(seconds=settings.GATEHOUSE_RESEND_QUEUED_SECONDS)
    lost_jobs = model.objects.filter(status=waiting, sent_at__lt=lost)
    for pk in lost_jobs.values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            if lost_jobs.filter(pk=pk).update(sent_at=now):
                counts["resent"] += 1
                transaction.on_commit(lambda pk=pk: send(pk))
    if any(counts.values()):
        log.warning("stalled %s: %s", model._meta.verbose_name_plural, counts)
    return counts


class Heartbeat:
    """While the block runs, a thread renews ``owner``'s lease on the row every third of
    a lease (on a database connection of its own, closed at the end). A failed renewal is
    logged and tried again at the next beat; an attempt that lost its lease anyway finds
    out when it writes its results (they are discarded)."""

    def __init__(self, model: type[models.Model], pk: int, owner: str):
        self.model, self.pk, self.owner = model, pk, owner
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{pk}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        interval = max(lease_seconds() / 3, 0.05)
        try:
            while not self._stop.wait(interval):
                try:
                    close_old_connections()
                    self.model.objects.filter(pk=self.pk, lease_owner=self.owner).update(
                        lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds())
                    )
                except DatabaseError as exc:
                    log.warning(
                        "lease of %s #%s not renewed: %s", self.model.__name__, self.pk, exc
                    )
        finally:
            connection.close()
