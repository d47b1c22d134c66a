"""Real Celery workers for the integration tests: each in its own process and session,
consuming from real Redis and writing to the same real database as the test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app

#: One queue for every module of the session: Celery builds its router once per process,
#: so the first queue a module routes scans to is where they go for the rest of it.
QUEUE = f"test-{uuid.uuid4().hex[:12]}"

#: What every module of real workers needs: Redis and a database the worker can share.
needs_real_services = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.REDIS_URL,
        reason="set REDIS_URL to run the worker against real Redis (CI does)",
    ),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the worker process needs a database it can share with the test: set DATABASE_URL",
    ),
]


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(tmp_path: Path, allow_root: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "GATEHOUSE_VAR_DIR": str(tmp_path / "var"),
        "GATEHOUSE_GIT_ALLOW": f"file://{allow_root}/",
        # What the worker itself queues (the outbox's e-mails, a refresh's scan) goes to
        # queues of this session's too, which its workers consume.
        "GATEHOUSE_QUEUE_PREFIX": f"{QUEUE}-",
        **extra,
    }


class Worker:
    """One `celery worker` on ``queue``, the leader of a session of its own, so that
    ``kill()`` takes down it and everything it forked at once, as a lost machine would."""

    def __init__(self, queue: str, env: dict[str, str], *, pool: str = "solo"):
        celery = Path(sys.executable).with_name("celery")
        self.process = subprocess.Popen(
            [str(celery), "-A", "config", "worker", "-Q", f"{queue},{queue}-default,{queue}-scans",
             "--pool", pool,
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
            env=env, cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        """kill -9 of the worker and its children: no handler, no cleanup, no ack."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> str:
        """Stop it (warm shutdown, then a kill) and return the end of its log."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            output, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            output, _ = self.process.communicate()
        return (output or b"").decode(errors="replace")[-4000:]


class routed_to:
    """Send this process's tasks (scans included) to ``queue``, not eagerly. Celery builds
    its router once, so a module sets its queue once."""

    def __init__(self, queue: str):
        self.queue = queue

    def __enter__(self):
        conf = celery_app.conf
        self.saved = (conf.task_always_eager, conf.task_default_queue, conf.task_routes)
        conf.task_always_eager = False
        conf.task_default_queue = self.queue
        conf.task_routes = {"scans.*": {"queue": self.queue}}
        return self

    def __exit__(self, *exc):
        conf = celery_app.conf
        conf.task_always_eager, conf.task_default_queue, conf.task_routes = self.saved


def worker_idle() -> bool:
    """No task running or waiting on any worker (asked over the broker)."""
    inspect = celery_app.control.inspect(timeout=1.0)
    active, reserved = inspect.active(), inspect.reserved()
    if active is None or reserved is None:
        return False
    return not any(active.values()) and not any(reserved.values())


def wait_for(predicate: Callable[[], bool], timeout: float = 45.0, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False
