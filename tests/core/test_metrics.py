"""/metrics: only for the bearer of the token; Prometheus's text format with the request
latency of the views just requested and the jobs and queues counted at the scrape."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from kombu import Connection
from prometheus_client.parser import text_string_to_metric_families

from governance.models import Repository
from scans.models import ScanRun


@pytest.fixture(autouse=True)
def broker(settings, own_broker):
    """Queues of this test's own, so that counting them counts only our messages."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    settings.CELERY_TASK_DEFAULT_QUEUE = f"{name}-default"
    settings.CELERY_TASK_ROUTES = {"scans.*": {"queue": f"{name}-scans"}}
    return name


@pytest.fixture
def token(settings) -> str:
    settings.GATEHOUSE_METRICS_TOKEN = secrets.token_urlsafe(40)
    return settings.GATEHOUSE_METRICS_TOKEN


def scrape(client, token: str) -> dict:
    """{family name: [samples]} of one scrape, parsed as Prometheus parses it."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert response["Cache-Control"] == "no-store"
    families = text_string_to_metric_families(response.content.decode())
    return {family.name: family.samples for family in families}


def value(samples, name: str, **labels) -> float | None:
    found = [s.value for s in samples if s.name == name and s.labels == labels]
    assert len(found) <= 1
    return found[0] if found else None


def test_metrics_are_a_404_without_a_token_configured(client, settings, db):
    settings.GATEHOUSE_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_metrics_are_a_404_without_the_right_bearer_token(client, token, db):
    assert client.get("/metrics").status_code == 404
    wrong = secrets.token_urlsafe(40)
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {wrong}").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token[:-1]}").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {token}").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=token).status_code == 404
    ok = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert ok.status_code == 200 and b"gatehouse_jobs" in ok.content


def test_the_latency_of_a_view_just_requested_is_in_its_histogram(client, token, db):
    labels = {"view": "login", "method": "GET", "status": "2xx"}
    before = value(
        scrape(client, token)["gatehouse_http_request_duration_seconds"],
        "gatehouse_http_request_duration_seconds_count", **labels,
    ) or 0  # fmt: skip
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/no-such-page/").status_code == 404

    samples = scrape(client, token)["gatehouse_http_request_duration_seconds"]
    count = "gatehouse_http_request_duration_seconds_count"
    assert value(samples, count, **labels) == before + 1
    assert value(samples, "gatehouse_http_request_duration_seconds_sum", **labels) > 0
    inf = value(samples, "gatehouse_http_request_duration_seconds_bucket", **labels, le="+Inf")
    assert inf == before + 1
    assert value(samples, count, view="unresolved", method="GET", status="4xx") >= 1
    # The first scrape was timed too, under its own URL name.
    assert value(samples, count, view="core:metrics", method="GET", status="2xx") >= 1


def test_job_gauges_count_the_scan_runs_in_the_database(client, token, db):
    now = timezone.now()
    repository = Repository.objects.create(url="https://git.example/a.git", key="git.example/a")

    def scan(status, *, attempts=1, ran=None, lease=None):
        return ScanRun.objects.create(
            repository=repository, commit=uuid.uuid4().hex, engine_version="e",
            policy_version="p", status=status, attempts=attempts,
            started_at=now - timedelta(seconds=ran) if ran is not None else None,
            finished_at=now if ran is not None else None,
            lease_expires_at=now + timedelta(seconds=lease) if lease is not None else None,
        )  # fmt: skip

    scan("queued", attempts=0)
    scan("queued", attempts=0)
    scan("running", attempts=2, lease=-5)  # its owner died: the lease lapsed
    scan("running", lease=50)
    scan("done", ran=10)
    scan("done", attempts=3, ran=30)
    scan("failed", attempts=3, ran=5)

    families = scrape(client, token)
    jobs = families["gatehouse_jobs"]
    expected = {"queued": 2, "running": 2, "done": 2, "failed": 1, "incomplete": 0}
    for status, count in expected.items():
        assert value(jobs, "gatehouse_jobs", kind="scan", status=status) == count
    durations = families["gatehouse_job_duration_seconds"]
    name = "gatehouse_job_duration_seconds"
    assert value(durations, f"{name}_count", kind="scan", outcome="done") == 2
    assert value(durations, f"{name}_sum", kind="scan", outcome="done") == pytest.approx(40)
    assert value(durations, f"{name}_count", kind="scan", outcome="failed") == 1
    assert value(durations, f"{name}_sum", kind="scan", outcome="failed") == pytest.approx(5)
    assert value(durations, f"{name}_count", kind="scan", outcome="incomplete") is None
    retaken = families["gatehouse_job_leases_retaken"]
    assert value(retaken, "gatehouse_job_leases_retaken", kind="scan") == 1 + 2 + 2
    expired = families["gatehouse_job_leases_expired"]
    assert value(expired, "gatehouse_job_leases_expired", kind="scan") == 1


def test_queue_depths_are_the_messages_waiting_on_the_broker(client, token, settings, broker, db):
    connection = Connection(
        settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS
    )
    queue = connection.SimpleQueue(f"{broker}-scans")
    try:
        for n in range(3):
            queue.put({"n": n})
        families = scrape(client, token)
        assert value(families["gatehouse_broker_up"], "gatehouse_broker_up") == 1
        depth = families["gatehouse_queue_depth"]
        assert value(depth, "gatehouse_queue_depth", queue=f"{broker}-scans") == 3
        assert value(depth, "gatehouse_queue_depth", queue=f"{broker}-default") == 0
    finally:
        queue.clear()
        queue.queue.delete()
        queue.close()
        connection.release()


def test_an_unreachable_broker_is_reported_and_the_rest_still_counted(client, token, settings, db):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    families = scrape(client, token)
    assert value(families["gatehouse_broker_up"], "gatehouse_broker_up") == 0
    assert "gatehouse_queue_depth" not in families
    assert value(families["gatehouse_jobs"], "gatehouse_jobs", kind="scan", status="done") == 0


def test_a_guessable_metrics_token_is_refused_at_start(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env |= {"GATEHOUSE_VAR_DIR": str(tmp_path), "GATEHOUSE_METRICS_TOKEN": secrets.token_hex(15)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=Path(__file__).resolve().parents[2],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "GATEHOUSE_METRICS_TOKEN must be at least 32 characters long" in result.stderr
