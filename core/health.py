"""Is Gatehouse up? The checks /healthz runs, and the heartbeats they read.

Four parts, each "ok" or "failing": the database answers a query; the broker answers a
round trip; a Celery worker consuming every queue Gatehouse sends to has written its
heartbeat within GATEHOUSE_HEALTH_WORKER_SECONDS; beat, within
GATEHOUSE_HEALTH_BEAT_SECONDS. Workers and beat write their heartbeat themselves, from a
thread of their own process (config.celery starts it), so the answer is right however
many processes and machines there are: the rows are in the one database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, connections
from django.utils import timezone

from core.broker import app_queues, broker_reachable
from core.models import ServiceHeartbeat

log = logging.getLogger(__name__)

OK, FAILING = "ok", "failing"
WORKER_PREFIX = "worker:"
BEAT = "beat"
#: Rows of processes not heard from this long are deleted (a container that starts with a
#: new host name each time would otherwise leave one row per start).
FORGET_AFTER = timedelta(days=1)


# --------------------------------------------------------------------------- heartbeats


def heartbeat_record(*, name: str, queues: Sequence[str] = ()) -> ServiceHeartbeat:
    """Record that the process ``name`` is alive now (one row per name, updated in place)
    and delete the rows of processes silent for a day. Idempotent but for the time."""
    now = timezone.now()
    beat, _ = ServiceHeartbeat.objects.update_or_create(
        name=name, defaults={"seen_at": now, "queues": sorted(queues)}
    )
    ServiceHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()
    return beat


def heartbeat_forget(*, name: str) -> None:
    """A process that stops cleanly deletes its row: /healthz stops counting it at once."""
    ServiceHeartbeat.objects.filter(name=name).delete()


class HeartbeatThread:
    """Writes ``name``'s heartbeat at start and every GATEHOUSE_HEARTBEAT_SECONDS, on a
    database connection of its own (closed after each write), until ``stop()``, which
    deletes the row. ``alive``, when given, is asked first: a beat is skipped while it
    says the process is stuck. A failed write is logged and tried again next time."""

    def __init__(
        self,
        name: str,
        *,
        queues: Sequence[str] = (),
        alive: Callable[[], bool] | None = None,
        interval: float | None = None,
    ):
        self.name, self.queues, self.alive = name, tuple(queues), alive
        self.interval = float(interval or settings.GATEHOUSE_HEARTBEAT_SECONDS)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{name}", daemon=True)

    def start(self) -> HeartbeatThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while True:
                if self.alive is None or self.alive():
                    self._write(heartbeat_record, name=self.name, queues=self.queues)
                if self._stop.wait(self.interval):
                    break
            self._write(heartbeat_forget, name=self.name)
        finally:
            connections.close_all()

    def _write(self, service, **kwargs) -> None:
        try:
            service(**kwargs)
        except DatabaseError as exc:
            log.warning("heartbeat of %s not written: %s", self.name, exc)
        finally:
            connections.close_all()


def beat_ticking(service) -> Callable[[], bool]:
    """For beat's heartbeat: is its scheduler loop still going? Celery's beat service
    stamps ``_last_tick`` (a monotonic time) at each pass and sleeps at most its maximum
    interval between passes; a pass overdue by more than a minute on top of that means a
    stuck scheduler, whose process alone is no sign of health. A celery without the stamp
    (or before the first pass): the process being alive is all we can tell."""

    def ticking() -> bool:
        last = getattr(service, "_last_tick", None)
        if last is None:
            return True
        allowed = 2 * float(getattr(service, "max_interval", 0) or 5) + 60
        return time.monotonic() - last < allowed

    return ticking


# --------------------------------------------------------------------------- checks


def _database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # noqa: BLE001 - whatever the reason, the database is failing
        log.warning("health: the database did not answer", exc_info=True)
        return False


def _heartbeats() -> list[ServiceHeartbeat] | None:
    try:
        return list(ServiceHeartbeat.objects.all())
    except Exception:  # noqa: BLE001 - no database, no heartbeats to read
        return None


def _worker(beats: list[ServiceHeartbeat], now) -> bool:
    since = now - timedelta(seconds=settings.GATEHOUSE_HEALTH_WORKER_SECONDS)
    served: set[str] = set()
    for beat in beats:
        if beat.name.startswith(WORKER_PREFIX) and beat.seen_at >= since:
            served.update(beat.queues)
    missing = [q for q in app_queues() if q not in served]
    if missing:
        log.warning("health: no live worker consumes %s", ", ".join(missing))
    return not missing


def _beat(beats: list[ServiceHeartbeat], now) -> bool:
    since = now - timedelta(seconds=settings.GATEHOUSE_HEALTH_BEAT_SECONDS)
    return any(beat.name == BEAT and beat.seen_at >= since for beat in beats)


def health_report() -> dict:
    """{"status": "ok"|"failing", "checks": {part: "ok"|"failing"}}: names and words only,
    never an error's text, a host or a URL (the reasons go to the server log)."""
    now = timezone.now()
    database = _database()
    beats = _heartbeats() if database else None
    checks = {
        "database": database,
        "broker": broker_reachable(),
        "worker": beats is not None and _worker(beats, now),
        "beat": beats is not None and _beat(beats, now),
    }
    return {
        "status": OK if all(checks.values()) else FAILING,
        "checks": {part: OK if fine else FAILING for part, fine in checks.items()},
    }
