"""/healthz: each part ok or failing, for real; nothing in the answer but names and words;
served over plain http to the load balancer while every other page goes to https."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from core.health import BEAT, HeartbeatThread, heartbeat_forget, heartbeat_record
from core.models import ServiceHeartbeat

ROOT = Path(__file__).resolve().parents[2]
PARTS = {"database", "broker", "worker", "beat"}
WORKER = "worker:gatehouse@host-1"


pytestmark = pytest.mark.usefixtures("own_broker")


@pytest.fixture
def alive(db):
    """A worker consuming both queues, and beat, as their heartbeat threads record them."""
    heartbeat_record(name=WORKER, queues=["default", "scans"])
    heartbeat_record(name=BEAT)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends


def answer(client, **extra) -> tuple[int, dict]:
    response = client.get("/healthz", **extra)
    body = json.loads(response.content)
    # The whole answer is these names and words: no error text, host, path or URL.
    assert set(body) == {"status", "checks"} and set(body["checks"]) == PARTS
    assert {body["status"], *body["checks"].values()} <= {"ok", "failing"}
    assert response["Cache-Control"] == "no-store" and "Set-Cookie" not in response
    return response.status_code, body


def failing(body: dict) -> set[str]:
    return {part for part, state in body["checks"].items() if state == "failing"}


def test_healthz_is_ok_without_signing_in_when_every_part_is_alive(client, alive):
    status, body = answer(client)
    assert status == 200
    assert body == {"status": "ok", "checks": dict.fromkeys(sorted(PARTS), "ok")}
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_a_stale_worker_heartbeat_fails_the_worker(client, alive, settings):
    settings.GATEHOUSE_HEALTH_WORKER_SECONDS = 120
    ServiceHeartbeat.objects.filter(name=WORKER).update(
        seen_at=timezone.now() - timedelta(seconds=121)
    )
    status, body = answer(client)
    assert status == 503 and body["status"] == "failing" and failing(body) == {"worker"}

    heartbeat_record(name=WORKER, queues=["default", "scans"])  # it beats again
    assert answer(client)[0] == 200


def test_a_worker_that_stopped_cleanly_stops_counting_at_once(client, alive):
    heartbeat_forget(name=WORKER)
    status, body = answer(client)
    assert status == 503 and failing(body) == {"worker"}


def test_every_queue_needs_a_live_worker(client, alive):
    """Workers for `default` only: scans would wait for ever, so the worker part fails."""
    heartbeat_record(name=WORKER, queues=["default"])
    assert failing(answer(client)[1]) == {"worker"}
    heartbeat_record(name="worker:scanner@host-2", queues=["scans"])
    assert answer(client)[0] == 200


def test_a_stale_beat_heartbeat_fails_beat(client, alive, settings):
    settings.GATEHOUSE_HEALTH_BEAT_SECONDS = 180
    ServiceHeartbeat.objects.filter(name=BEAT).update(
        seen_at=timezone.now() - timedelta(seconds=181)
    )
    status, body = answer(client)
    assert status == 503 and failing(body) == {"beat"}


def test_an_unreachable_broker_fails_the_broker_and_names_nothing(client, alive, settings):
    port = closed_port()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 3  # bounded: a probe must not hang
    status, body = answer(client)
    assert status == 503 and failing(body) == {"broker"}
    for leak in ("127.0.0.1", str(port), "redis", "Error", "refused"):
        assert leak not in response.content.decode()


def test_a_file_system_broker_without_its_folder_fails(client, alive, settings, tmp_path):
    gone = str(tmp_path / "no-such-folder")
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": gone, "data_folder_out": gone}
    status, body = answer(client)
    assert status == 503 and failing(body) == {"broker"}
    assert "no-such-folder" not in json.dumps(body)


def test_a_database_that_cannot_be_opened_fails_the_database(tmp_path):
    """A real server process whose SQLite file lies in a folder that does not exist: the
    database part fails (and with it the heartbeats, which live there)."""
    var = tmp_path / "var"
    for folder in ("queue", "processed", "control"):
        (var / "celery" / folder).mkdir(parents=True)
    missing = tmp_path / "no-such-folder" / "gatehouse.sqlite3"
    script = (
        "import json, django; django.setup();"
        "from django.test import Client;"
        "r = Client(HTTP_HOST='127.0.0.1').get('/healthz');"
        "print(r.status_code); print(r.content.decode())"
    )
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "GATEHOUSE_VAR_DIR": str(var),
            "DATABASE_URL": f"sqlite:///{missing}"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    status, body = result.stdout.splitlines()[-2:]
    assert status == "503"
    assert json.loads(body) == {
        "status": "failing",
        "checks": {"database": "failing", "broker": "ok", "worker": "failing", "beat": "failing"},
    }
    assert "no-such-folder" not in body and "sqlite" not in body.lower()


def test_healthz_and_metrics_answer_plain_http_while_pages_go_to_https(client, alive, settings):
    settings.SECURE_SSL_REDIRECT = True  # as with DEBUG off
    settings.GATEHOUSE_METRICS_TOKEN = ""
    assert answer(client)[0] == 200
    assert client.get("/metrics").status_code == 404  # not redirected: refused
    login = client.get("/accounts/login/")
    assert login.status_code == 301 and login["Location"] == "https://testserver/accounts/login/"
    # ALLOWED_HOSTS still holds: a load balancer sends the site's Host.
    assert client.get("/healthz", HTTP_HOST="attacker.example").status_code == 400


def test_the_heartbeat_thread_writes_while_it_runs_and_forgets_on_stop(transactional_db):
    thread = HeartbeatThread(WORKER, queues=["scans", "default"], interval=0.05).start()
    try:
        deadline = time.monotonic() + 5
        while not ServiceHeartbeat.objects.filter(name=WORKER).exists():
            assert time.monotonic() < deadline, "no heartbeat written"
            time.sleep(0.02)
        first = ServiceHeartbeat.objects.get(name=WORKER)
        assert first.queues == ["default", "scans"]
        while ServiceHeartbeat.objects.get(name=WORKER).seen_at == first.seen_at:
            assert time.monotonic() < deadline, "the heartbeat was not renewed"
            time.sleep(0.02)
    finally:
        thread.stop()
    assert not ServiceHeartbeat.objects.filter(name=WORKER).exists()


def test_a_process_that_says_it_is_stuck_writes_no_heartbeat(transactional_db):
    asked = []

    def stuck() -> bool:
        asked.append(True)
        return False

    thread = HeartbeatThread(BEAT, alive=stuck, interval=0.05).start()
    deadline = time.monotonic() + 5
    try:
        while len(asked) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert not ServiceHeartbeat.objects.filter(name=BEAT).exists()
    finally:
        thread.stop()


def test_heartbeats_of_processes_gone_for_a_day_are_deleted(db):
    heartbeat_record(name="worker:old@container-1", queues=["default"])
    ServiceHeartbeat.objects.update(seen_at=timezone.now() - timedelta(days=2))
    heartbeat_record(name=WORKER, queues=["default", "scans"])
    assert list(ServiceHeartbeat.objects.values_list("name", flat=True)) == [WORKER]
