"""Production's processes, for real: scripts/serve.sh refuses to start without its keys,
and otherwise runs gunicorn with DEBUG off, reachable over plain http for /healthz and
/metrics; a real Celery worker and beat write the heartbeats that make /healthz ok.

Each test runs on SQLite and the file-system broker in a var folder of its own, with the
keys made at run time; the database starts migrated (a copy of the test session's own,
when that is SQLite), which serve.sh's migrate then finds up to date."""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KEYS = [
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "GATEHOUSE_AUDIT_KEY",
    "GATEHOUSE_FINGERPRINT_KEY",
    "GATEHOUSE_EVIDENCE_KEY",
    "GATEHOUSE_WEBHOOK_KEY",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory, django_db_setup, django_db_blocker) -> Path:
    """A migrated SQLite database file: the test session's own database copied out when it
    is SQLite (migrating a new file takes ten seconds), else migrated here."""
    path = tmp_path_factory.mktemp("migrated") / "gatehouse.sqlite3"
    with django_db_blocker.unblock():
        if connection.vendor == "sqlite":
            # The test database (the tests' django_db mark has it made), never var/'s.
            name = connection.settings_dict["NAME"]
            assert connection.creation.is_in_memory_db(name), name
            connection.ensure_connection()
            target = sqlite3.connect(path)
            connection.connection.backup(target)
            target.close()
            return path
    env = base_env(path.parent) | {"GATEHOUSE_VAR_DIR": str(path.parent)}
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return path


def base_env(home: Path) -> dict[str, str]:
    """No DATABASE_URL or REDIS_URL: SQLite and the file-system broker under the var dir."""
    return {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}


def var_dir(tmp_path: Path, migrated: Path) -> Path:
    var = tmp_path / "var"
    for folder in ("queue", "processed", "control"):  # as make setup and run.sh make them
        (var / "celery" / folder).mkdir(parents=True)
    (var / "gatehouse.sqlite3").write_bytes(migrated.read_bytes())
    return var


def production_env(tmp_path: Path, var: Path, **extra: str) -> dict[str, str]:
    return base_env(tmp_path) | {
        "GATEHOUSE_VAR_DIR": str(var),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "GATEHOUSE_AUDIT_KEY": secrets.token_urlsafe(40),
        "GATEHOUSE_FINGERPRINT_KEY": secrets.token_urlsafe(40),
        "GATEHOUSE_EVIDENCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "GATEHOUSE_WEBHOOK_KEY": secrets.token_urlsafe(40),
        **extra,
    }


class Process:
    """A service in a session of its own, its output in a log file; stop() ends the
    session (SIGTERM, then SIGKILL after ``grace`` seconds) and leaves nothing behind."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path):
        self.log = log
        with log.open("wb") as out:
            self.popen = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self, grace: float = 20) -> int:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            status = self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
            raise AssertionError(f"still running after {grace}s:\n{self.output()}") from None
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)  # a child left over in the session?
        except ProcessLookupError:
            pass
        else:
            raise AssertionError(f"a process of {self.popen.args[0]} outlived it")
        return status


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """A plain http GET that follows no redirect."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_for_answer(url: str, process: Process, *, until=lambda status: True, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.popen.poll() is None, process.output()
        try:
            status, headers, body = get(url)
        except OSError:
            time.sleep(0.2)
            continue
        if until(status):
            return status, headers, body
        time.sleep(0.2)
    raise AssertionError(f"no awaited answer from {url}:\n{process.output()}")


# --------------------------------------------------------------------------- serve.sh


@pytest.mark.parametrize("present", [[], ["SECRET_KEY", "GATEHOUSE_AUDIT_KEY"], KEYS[1:]])
def test_serve_refuses_to_start_without_its_keys_and_hosts(tmp_path, present):
    var = tmp_path / "var"
    env = production_env(tmp_path, var)
    for name in KEYS:
        if name not in present:
            del env[name]
    env["SECRET_KEY" if "SECRET_KEY" not in present else "ALLOWED_HOSTS"] = ""  # empty: unset
    done = subprocess.run(
        ["bash", "scripts/serve.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    missing = [name for name in KEYS if name not in present or not env.get(name)]
    assert done.stderr.startswith(f"serve: refusing to start: {', '.join(missing)} must be set")
    for name in set(KEYS) - set(missing):
        assert name not in done.stderr
    assert not var.exists()  # nothing was started, migrated or collected


@pytest.mark.django_db  # only for the migrated database to copy: the test uses none
def test_serve_runs_gunicorn_with_debug_off_and_answers_health_over_plain_http(
    tmp_path, migrated_sqlite
):
    var = var_dir(tmp_path, migrated_sqlite)
    port, token = free_port(), secrets.token_urlsafe(40)
    env = production_env(
        tmp_path, var, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2",
        DEBUG="1",  # serve.sh turns it off whatever it is
        GATEHOUSE_METRICS_TOKEN=token,
    )  # fmt: skip
    (var / "run" / "prometheus").mkdir(parents=True)
    (var / "run" / "prometheus" / "counter_1.db").write_bytes(b"an earlier run's")
    server = Process(["bash", "scripts/serve.sh"], env, tmp_path / "serve.log")
    try:
        base = f"http://127.0.0.1:{port}"
        status, headers, body = wait_for_answer(f"{base}/healthz", server)
        # No worker and no beat run here (production runs them apart): the real outcome.
        assert status == 503, server.output()
        assert json.loads(body) == {
            "status": "failing",
            "checks": {"database": "ok", "broker": "ok", "worker": "failing", "beat": "failing"},
        }
        assert headers["Cache-Control"] == "no-store"
        assert headers["Server"] == "gunicorn"
        # DEBUG is off: every other page goes to https (and no debug page for a 404).
        status, headers, _ = get(f"{base}/accounts/login/")
        assert (status, headers["Location"]) == (301, f"https://127.0.0.1:{port}/accounts/login/")
        assert "Starting gunicorn" in server.output() and "Booting worker" in server.output()
        assert (var / "staticfiles" / "staticfiles.json").exists()  # collectstatic ran

        # /metrics over plain http too, for the bearer of the token only; request latency
        # is added up over both gunicorn workers (multiprocess files, the stale one gone).
        for _ in range(6):
            assert get(f"{base}/healthz")[0] == 503
        assert get(f"{base}/metrics")[0] == 404
        assert get(f"{base}/metrics", Authorization=f"Bearer {secrets.token_urlsafe(40)}")[0] == 404
        status, _, body = get(f"{base}/metrics", Authorization=f"Bearer {token}")
        assert status == 200
        families = {f.name: f for f in text_string_to_metric_families(body.decode())}
        counts = [
            s.value for s in families["gatehouse_http_request_duration_seconds"].samples
            if s.name.endswith("_count") and s.labels["view"] == "core:healthz"
        ]  # fmt: skip
        assert sum(counts) >= 7  # the first answer, then six more (plus any while booting)
        assert families["gatehouse_jobs"].samples and families["gatehouse_queue_depth"].samples
        assert not (var / "run" / "prometheus" / "counter_1.db").exists()
    finally:
        status = server.stop()
    assert status == 0, server.output()
    assert "Shutting down: Master" in server.output()


# --------------------------------------------------------------------------- worker, beat


@pytest.mark.django_db  # as above
def test_a_real_worker_and_beat_make_healthz_ok_and_a_stopped_worker_fails_it(
    tmp_path, migrated_sqlite
):
    var = var_dir(tmp_path, migrated_sqlite)
    (var / "run").mkdir()
    port = free_port()
    env = base_env(tmp_path) | {"GATEHOUSE_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE":
                                "config.settings", "GATEHOUSE_HEARTBEAT_SECONDS": "1"}  # fmt: skip
    celery = str(BIN / "celery")
    worker = Process(
        [celery, "-A", "config", "worker", "-Q", "default,scans", "--pool", "solo",
         "--without-gossip", "--without-mingle", "-n", "health@%h", "-l", "info"],
        env, tmp_path / "worker.log",
    )  # fmt: skip
    beat = Process(
        [celery, "-A", "config", "beat", "-l", "info",
         "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
         "--pidfile", str(var / "run" / "beat.pid"), "--schedule", str(var / "run" / "beat")],
        env, tmp_path / "beat.log",
    )  # fmt: skip
    web = Process(
        [str(BIN / "gunicorn"), "--config", "config/gunicorn_conf.py", "config.wsgi"],
        env | {"BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"}, tmp_path / "web.log",
    )  # fmt: skip
    processes = [worker, beat, web]
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        status, _, body = wait_for_answer(url, web, until=lambda status: status == 200)
        assert json.loads(body) == {
            "status": "ok",
            "checks": {"database": "ok", "broker": "ok", "worker": "ok", "beat": "ok"},
        }
        rows = (
            sqlite3.connect(var / "gatehouse.sqlite3")
            .execute("SELECT name, queues FROM core_serviceheartbeat ORDER BY name")
            .fetchall()
        )
        assert rows == [("beat", "[]"), (f"worker:health@{socket.gethostname()}",
                                         '["default", "scans"]')]  # fmt: skip

        # A worker stopped cleanly deletes its heartbeat: the worker part fails at once.
        assert worker.stop() == 0, worker.output()
        status, _, body = wait_for_answer(url, web, until=lambda status: status == 503)
        assert json.loads(body)["checks"] == {
            "database": "ok",
            "broker": "ok",
            "worker": "failing",
            "beat": "ok",
        }
    finally:
        for process in processes:
            process.stop()
