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
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, models
from django.db.models import F, Q
from django.utils import timezone

log = logging.getLogger(__name__)

__all__ = ["Heartbeat", "claim", "new_owner", "stalled"]


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
