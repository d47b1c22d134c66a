"""Push webhook benchmark: how fast a forge's push is answered, and how long from the push
to the rescan of the new commit, on the production stack.

    .venv/bin/python benchmarks/webhook_bench.py [--pushes 200] [--trials 10]

It needs PostgreSQL at postgres://postgres@127.0.0.1:5432 (trust auth; it makes a database
of its own, gatehouse_webhooks, and drops it at the end) and redis-server on the PATH (it
starts one of its own on a free port). The web server is gunicorn as ``make serve`` runs it
(DEBUG off, 2 workers); one Celery worker (prefork, 2 processes, queues default and scans).

1. Answer time: --pushes signed GitHub push deliveries, one after another, to a hook of a
   repository under review, each naming a branch no submission is on (so each is verified,
   logged and queued, and the worker finds nothing to refresh). Reported: p50, p95, max of
   the HTTP round trip seen by the client. The target is well under a second.
2. Push to rescan: --trials times, a commit is made on the submission's branch, the push is
   delivered, and the clock runs until (a) the submission is re-pinned to the new commit,
   (b) the new commit's scan is queued, (c) that scan is done. Reported: p50 and max of
   each. Without the webhook the same work waits for someone to press "refresh" (and a
   sync, for the 15-minute poll).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "gatehouse_webhooks"
SERVER = "postgres://postgres@127.0.0.1:5432"
WORK = Path(tempfile.mkdtemp(prefix="gatehouse-webhooks-"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


REDIS_PORT, WEB_PORT = free_port(), free_port()
ENV = {
    "DATABASE_URL": f"{SERVER}/{DB_NAME}",
    "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_COOKIES": "0",
    "SECURE_SSL_REDIRECT": "0",
    "GATEHOUSE_VAR_DIR": str(WORK / "var"),
    "GATEHOUSE_GIT_ALLOW": f"file://{WORK}/",
    "GATEHOUSE_SCAN_ON_SUBMIT": "1",
    "GATEHOUSE_SYNC_INTERVAL": "86400",
    "GATEHOUSE_AUDIT_KEY": secrets.token_hex(32),
    "GATEHOUSE_FINGERPRINT_KEY": secrets.token_hex(32),
    "GATEHOUSE_EVIDENCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    "GATEHOUSE_WEBHOOK_KEY": secrets.token_urlsafe(40),
    "LOG_LEVEL": "WARNING",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
}
os.environ.update(ENV)

import psycopg  # noqa: E402


def admin_sql(statement: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(statement)


admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
admin_sql(f"CREATE DATABASE {DB_NAME}")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import close_old_connections  # noqa: E402

from integrations.models import HookDelivery  # noqa: E402
from integrations.services import hook_rotate  # noqa: E402
from reviews.models import Submission  # noqa: E402
from scans.enums import ScanStatus  # noqa: E402
from scans.models import ScanRun  # noqa: E402
from tests.conftest import World, submit  # noqa: E402
from tests.gitrepo import GitRepo  # noqa: E402
from tests.releases.conftest import CLEAN_FILES  # noqa: E402

BIN = Path(sys.executable).parent


class Proc:
    def __init__(self, args: list[str], log: Path, env: dict | None = None):
        self.log = log.open("ab")
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env={**os.environ, **ENV, **(env or {})}, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=15)
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.log.close()


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def wait(predicate, timeout: float = 60) -> float | None:
    """Seconds until predicate() holds, or None."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        close_old_connections()
        if predicate():
            return time.perf_counter() - started
        time.sleep(0.01)
    return None


def deliver(path: str, secret: str, body: bytes) -> tuple[int, float]:
    """POST one signed GitHub push delivery; its HTTP code and round trip in seconds."""
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": signature,
    }
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", WEB_PORT, timeout=10)
    try:
        connection.request("POST", path, body=body, headers=headers)
        reply = connection.getresponse()
        reply.read()
    finally:
        connection.close()
    return reply.status, time.perf_counter() - started


def push_body(ref: str, after: str) -> bytes:
    return json.dumps({"ref": ref, "before": "0" * 40, "after": after, "commits": []}).encode()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    (WORK / "var").mkdir(parents=True)
    call_command("migrate", verbosity=0)
    procs = [
        Proc(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
              "--appendonly", "no"], WORK / "redis.log"),
    ]  # fmt: skip
    try:
        wait_port(REDIS_PORT)
        repo = GitRepo(WORK / "repos" / "mq-core")
        repo.commit({**CLEAN_FILES, **{f"core/m{i:04}.py": f"V = {i}\n" for i in range(300)}})
        world = World()
        submission = submit(world, repo)
        hook, secret = hook_rotate(repository=submission.repository, actor=world.alice)
        url = hook.path("github")
        procs.append(Proc(
            [str(BIN / "gunicorn"), "config.wsgi:application", "--workers", "2",
             "--bind", f"127.0.0.1:{WEB_PORT}", "--access-logfile", "-"],
            WORK / "web.log",
        ))  # fmt: skip
        procs.append(Proc(
            [str(BIN / "celery"), "-A", "config", "worker", "-Q", "default,scans",
             "--concurrency", "2", "--without-gossip", "--without-mingle", "-l", "warning"],
            WORK / "worker.log",
        ))  # fmt: skip
        wait_port(WEB_PORT)
        deliver(url, secret, push_body("refs/heads/warm-up", "1" * 40))

        answers, codes = [], set()
        for n in range(args.pushes):
            code, seconds = deliver(url, secret, push_body(f"refs/heads/topic-{n}", "1" * 40))
            codes.add(code)
            answers.append(seconds * 1000)
        print(f"answer time over {args.pushes} signed pushes (HTTP codes {sorted(codes)}): "
              f"p50 {pct(answers, 0.5):.1f} ms, p95 {pct(answers, 0.95):.1f} ms, "
              f"max {max(answers):.1f} ms")  # fmt: skip

        drained = wait(lambda: not HookDelivery.objects.filter(status="queued").exists(), 120)
        print(f"all {args.pushes} pushes processed {drained:.2f} s after the last answer")

        repinned, queued, scanned = [], [], []
        for n in range(args.trials):
            head = repo.commit({f"core/change{n}.py": f"C = {n}\n"}, f"change {n}")
            started = time.perf_counter()
            code, _ = deliver(url, secret, push_body("refs/heads/main", head))
            assert code == 202, code
            marks = []
            for check in (
                lambda: Submission.objects.filter(pk=submission.pk, commit=head).exists(),  # noqa: B023
                lambda: ScanRun.objects.filter(commit=head).exists(),  # noqa: B023
                lambda: ScanRun.objects.filter(commit=head, status=ScanStatus.DONE).exists(),  # noqa: B023
            ):
                if wait(check) is None:
                    print(f"trial {n}: no rescan within a minute ({len(marks)} steps seen)")
                    return 1
                marks.append(time.perf_counter() - started)
            repinned.append(marks[0])
            queued.append(marks[1])
            scanned.append(marks[2])
        for name, values in (
            ("re-pinned", repinned),
            ("scan queued", queued),
            ("scan done", scanned),
        ):
            print(f"push → {name}: p50 {statistics.median(values) * 1000:.0f} ms, "
                  f"max {max(values) * 1000:.0f} ms over {args.trials} pushes")  # fmt: skip
    finally:
        for proc in reversed(procs):
            proc.stop()
        close_old_connections()
        from django.db import connections

        connections.close_all()
        admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        shutil.rmtree(WORK, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
