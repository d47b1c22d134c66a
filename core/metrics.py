"""Prometheus metrics for /metrics: request latency, measured by a middleware, and the
state of the background jobs, read from the database and the broker at each scrape.

The jobs' figures are counted at scrape time (``JobCollector``), not kept in process
memory, so they are the same whichever gunicorn worker answers and include the work of
every Celery worker on every machine. Request latency is per process: with several
gunicorn workers, ``PROMETHEUS_MULTIPROC_DIR`` (scripts/serve.sh sets it) makes
prometheus-client keep it in files there that every worker adds up at a scrape.

The job tables are data: settings.GATEHOUSE_METRICS_JOBS lists each job model by label
(looked up through django.apps, so core imports no app above it). A model with a
``kind`` field of its own names it as ``kind_field``; one kind of job per table names
it as ``kind``.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, SummaryMetricFamily

from core.broker import queue_depths

log = logging.getLogger(__name__)

#: Methods counted by name; anything else is "other" (the label set stays bounded).
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

REQUEST_SECONDS = Histogram(
    "gatehouse_http_request_duration_seconds",
    "Time to answer an HTTP request, by view (URL name), method and status class.",
    ["view", "method", "status"],
    registry=None,  # exposed by exposition(), through the multiprocess files or directly
)


class RequestLatencyMiddleware:
    """First in MIDDLEWARE: times every request, the other middleware included, and
    labels it with the URL name the request resolved to ("unresolved" for a 404 of no
    route, a redirect to https, a static file)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        REQUEST_SECONDS.labels(
            view=match.view_name if match else "unresolved",
            method=request.method if request.method in METHODS else "other",
            status=f"{response.status_code // 100}xx",
        ).observe(time.perf_counter() - started)
        return response


# --------------------------------------------------------------------------- access


def authorized(request) -> bool:
    """Only with GATEHOUSE_METRICS_TOKEN set, and sent as ``Authorization: Bearer
    <token>``; compared in constant time."""
    token = settings.GATEHOUSE_METRICS_TOKEN
    if not token:
        return False
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


# --------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class JobTable:
    """One job model: its label, its kind (fixed, or the field that holds it), the status
    that means running, the statuses that mean finished (each an outcome), and the two
    time fields a finished job's duration is measured between."""

    model: str
    kind: str = ""
    kind_field: str = ""
    running: str = "running"
    finished: tuple[str, ...] = ("done", "failed", "incomplete")
    started_field: str = "started_at"
    finished_field: str = "finished_at"


def job_tables() -> list[JobTable]:
    return [
        JobTable(**{**entry, "finished": tuple(entry.get("finished", JobTable.finished))})
        for entry in settings.GATEHOUSE_METRICS_JOBS
    ]


def _grouped(queryset, table: JobTable, group: list[str], **aggregates):
    """(kind, row) per group of ``queryset``: grouped by the table's kind field (if it has
    one) and ``group``; one row for the whole table otherwise."""
    fields = [table.kind_field] if table.kind_field else []
    fields += group
    if not fields:
        yield table.kind, queryset.aggregate(**aggregates)
        return
    for row in queryset.order_by().values(*fields).annotate(**aggregates):
        yield (str(row[table.kind_field]) if table.kind_field else table.kind), row


def _choices(model, field: str) -> list[str]:
    return [str(value) for value, _ in model._meta.get_field(field).choices or []]


class JobCollector:
    """The jobs and queues, counted when Prometheus scrapes (three queries a job table,
    one broker round trip)."""

    def describe(self):
        return []  # registering must not query the database

    def collect(self):
        jobs = GaugeMetricFamily(
            "gatehouse_jobs", "Jobs in the database, by kind and status.", labels=["kind", "status"]
        )
        durations = SummaryMetricFamily(
            "gatehouse_job_duration_seconds",
            "How long finished jobs ran (started to finished), by kind and outcome.",
            labels=["kind", "outcome"],
        )
        retaken = GaugeMetricFamily(
            "gatehouse_job_leases_retaken",
            "Attempts beyond each job's first (a lease taken over, or a retry), by kind.",
            labels=["kind"],
        )
        expired = GaugeMetricFamily(
            "gatehouse_job_leases_expired",
            "Jobs marked running whose lease has expired (no live owner), by kind.",
            labels=["kind"],
        )
        now = timezone.now()
        for table in job_tables():
            model = apps.get_model(table.model)
            kinds = [table.kind] if not table.kind_field else _choices(model, table.kind_field)
            for (kind, status), n in self._counts(model, table, kinds):
                jobs.add_metric([kind, status], n)
            for (kind, outcome), n, total in self._durations(model, table):
                durations.add_metric([kind, outcome], n, total)
            for kind, (again, lapsed) in self._leases(model, table, kinds, now):
                retaken.add_metric([kind], again)
                expired.add_metric([kind], lapsed)
        yield from (jobs, durations, retaken, expired)
        yield from self._queues()

    @staticmethod
    def _counts(model, table: JobTable, kinds: list[str]):
        """Every status of every known kind, 0 when no row has it."""
        counts = {(kind, status): 0 for kind in kinds for status in _choices(model, "status")}
        for kind, row in _grouped(model.objects.all(), table, ["status"], n=Count("pk")):
            counts[(kind, str(row["status"]))] = row["n"]
        return sorted(counts.items())

    @staticmethod
    def _durations(model, table: JobTable):
        ran = ExpressionWrapper(
            F(table.finished_field) - F(table.started_field), output_field=DurationField()
        )
        finished = model.objects.filter(status__in=table.finished).exclude(
            Q(**{f"{table.started_field}__isnull": True})
            | Q(**{f"{table.finished_field}__isnull": True})
        )
        for kind, row in _grouped(finished, table, ["status"], n=Count("pk"), total=Sum(ran)):
            total = row["total"].total_seconds() if row["total"] else 0.0
            yield (kind, str(row["status"])), row["n"], total

    @staticmethod
    def _leases(model, table: JobTable, kinds: list[str], now):
        leases = dict.fromkeys(kinds, (0, 0))
        for kind, row in _grouped(
            model.objects.all(),
            table,
            [],
            retaken=Sum(F("attempts") - 1, filter=Q(attempts__gt=1)),
            expired=Count("pk", filter=Q(status=table.running, lease_expires_at__lt=now)),
        ):
            leases[kind] = (row["retaken"] or 0, row["expired"] or 0)
        return sorted(leases.items())

    def _queues(self):
        up = GaugeMetricFamily("gatehouse_broker_up", "1 when the broker answered this scrape.")
        depth = GaugeMetricFamily(
            "gatehouse_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"]
        )
        try:
            depths = queue_depths()
        except Exception:  # noqa: BLE001 - a scrape still reports the rest
            log.warning("metrics: the broker did not answer", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for queue, count in sorted(depths.items()):
            depth.add_metric([queue], count)
        yield from (up, depth)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric, and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
    registry.register(JobCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST
