"""Load benchmark (issue 12): the production stack on this machine under a mix of people.

    .venv/bin/pip install -r requirements-bench.txt      # locust, once (not installed for you)
    .venv/bin/python benchmarks/load.py [--users 25 50 100] [--seconds 60] [--spawn-rate 10]

Everything runs on 127.0.0.1 and is bounded in time: each level takes its ramp (every
user signing in, at most --ready-timeout) plus --seconds, the script stops at the end
whatever happens. It sets up, in order:

* a PostgreSQL database of its own (--database, default ``gatehouse_load`` on
  postgres://postgres@127.0.0.1:5432, trust auth; dropped first if left over, dropped at
  the end unless --keep) and Redis database 14 (--redis; flushed at the start and at the
  end), a fresh GATEHOUSE_VAR_DIR in a temporary folder (static files, mirrors, logs);
* migrations and the demo data (``seed_demo``, ``seed_demo_releases``, ``seed_demo_sync``
  with --force, as ``make setup`` does), then the benchmark's own people: reviewers in
  each department's group, engineers, and API clients with the global view permission and
  a personal API token each (``core.tokens.token_create``), all with one password (real
  PBKDF2, so each sign-in costs what it costs in production); and a backlog of --backlog
  submissions made through ``submission_create`` from local git repositories, so that the
  reviewers have tickets from the first second;
* ``scripts/serve.sh`` (gunicorn, WEB_CONCURRENCY=4 workers, DEBUG=0, bound to
  127.0.0.1 only through BIND), 2 Celery workers (``celery -A config worker -Q
  default,scans --concurrency 1``, one process each: the machine has two cores) and one
  beat (/healthz reports failing without it); it waits for /healthz to answer 200 and the
  backlog's scans to finish.

The settings are production's, with a random SECRET_KEY, GATEHOUSE_AUDIT_KEY and
GATEHOUSE_FINGERPRINT_KEY, and plain http: ``SECURE_SSL_REDIRECT=0`` (no redirect to
https), ``SECURE_COOKIES=0`` (the session and CSRF cookies travel over http) and
``SECURE_HSTS_SECONDS=0``. ``GATEHOUSE_GIT_ALLOW`` lists only the benchmark's repository
folders (``file://``). Nothing else is changed: the login lockout, the API throttles and
the password hasher are production's.

Then, for each level of --users, it runs benchmarks/locustfile.py (locust as a library,
in a process of its own so that gevent's monkey-patching never meets Django) with that
many users: reviewers reading their department's queue and tickets and signing off,
engineers submitting new components from a pool of local git repositories and answering
requested changes, API clients polling /api/dashboard/ and /api/releases/ (the file's
docstring has the details). People wait 1-5 s between actions (engineers 2-8 s), API
clients 2-5 s between polls: busy people, about 0.3 requests/s each. Users sign in once,
as they start; the steady window starts when all have, and the sign-ins are reported on
their own (their errors count in the level's errors). Between levels it waits (at most two
minutes) for the Celery queues to empty. With --seconds 30 the three levels take about
five minutes in all, setup included.

For each level it prints, over the steady window, requests/s, p50/p95/p99 (locust's
percentiles: rounded to two significant digits above 100 ms) and errors, in total and
per endpoint; the errors by message; where the machine's CPU went (web, Celery,
PostgreSQL, the load generator, the rest -- the machine may be shared); and what the
users wrote (sign-offs, submissions, resubmits, scans). The exceptions the server logged
during the level are listed under its errors (the last line of each traceback); with --keep
the logs of every process stay in the work folder it names. At the end, one line per level
and the verdict on the target.

Target (issue 12): at 50 users, 0 errors and p95 under 300 ms on this 2-core machine. The
script exits 1 when any level had an error (a p95 over the target is reported, not fatal:
timings vary with the machine and whatever else runs on it).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib.util
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import markdown_table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PY = sys.executable
PASSWORD = "load-benchmark-password"
TARGET_USERS, TARGET_P95_MS = 50, 300.0
#: The locustfile's user classes and their weights (reviewers, engineers, API clients).
SHARES = {"reviewers": 5, "engineers": 2, "api_tokens": 3}
DEPARTMENT_SLUGS = ["technical", "compliance", "legal", "security"]


# --------------------------------------------------------------------------- processes


class Stack:
    """The processes this script starts, each in a session of its own (so that stopping
    one stops its children: gunicorn's workers, Celery's pool), logs under ``logs``."""

    def __init__(self, logs: Path, env: dict[str, str]):
        self.logs = logs
        self.env = env
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, cmd: list[str]) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.procs[name] = proc
        return proc

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited ({proc.returncode}):\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def stop(self) -> None:
        """SIGTERM to each started process group, SIGKILL to what is left after 30 s."""
        for proc in self.procs.values():
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=10)
        for proc in self.procs.values():  # a worker's pool children outliving their parent
            _signal_group(proc, signal.SIGKILL)
        self.procs.clear()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)  # the group this script made for that process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")


def wait_healthy(url: str, stack: Stack, timeout: float) -> float:
    began = time.monotonic()
    last = ""
    while time.monotonic() - began < timeout:
        stack.check_alive()
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own
                if response.status == 200:
                    return time.monotonic() - began
        except urllib.error.HTTPError as exc:
            last = f"{exc.code} {exc.read().decode(errors='replace')}"
        except OSError as exc:
            last = str(exc)
        time.sleep(1)
    raise SystemExit(f"{url} did not answer 200 within {timeout:.0f} s (last: {last})")


# --------------------------------------------------------------------------- PostgreSQL, Redis


def admin_connection(server: str):
    import psycopg

    return psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5)


def database_recreate(server: str, name: str) -> None:
    with admin_connection(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(server: str, name: str) -> None:
    with admin_connection(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_timeout=5).flushdb()


# --------------------------------------------------------------------------- repositories


def make_repository(path: Path, slug: str) -> None:
    """A small Python project of its own (its own code, so its own commit and scan)."""
    files = {
        "README.md": f"# {slug}\n\nA library submitted by the load benchmark.\n",
        "LICENSE": "Apache License, Version 2.0\n\nCopyright 2025 Example Financial Group\n",
        "pyproject.toml": f'[project]\nname = "{slug}"\nversion = "1.0.0"\n'
        'license = "Apache-2.0"\n',
        "src/__init__.py": f'# SPDX-License-Identifier: Apache-2.0\n"""{slug}."""\n',
        "src/core.py": "# SPDX-License-Identifier: Apache-2.0\n\n"
        + "".join(f"def step_{i}(x):\n    return x * {i} + {len(slug)}\n\n\n" for i in range(8)),
        "internal/deploy.py": "# SPDX-License-Identifier: LicenseRef-Example-Internal\n"
        f'HOST = "{slug}.build.corp.example.internal"\n',
    }
    for name, content in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(content)
    git = ["git", "-c", "user.name=Load Bench", "-c", "user.email=load@example.com",
           "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"]  # fmt: skip
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "Import"]):
        subprocess.run([*git, *args], cwd=path, check=True, capture_output=True)


def make_repositories(folder: Path, slugs: list[str]) -> list[dict]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / slug for slug in slugs]
    for path in paths:
        path.mkdir()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(make_repository, paths, slugs))
    return [{"slug": s, "url": f"file://{p}"} for s, p in zip(slugs, paths, strict=True)]


# --------------------------------------------------------------------------- Django side


def django_setup(env: dict[str, str]) -> None:
    """This process reads and seeds the benchmark's database through the app's code, with
    the server's settings and keys (the audit chain is sealed with the same key)."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


def seed_people(counts: dict[str, int]) -> dict:
    """The benchmark's accounts; returns the locustfile's view of them."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Permission

    from core.tokens import token_create
    from governance.models import Department

    User = get_user_model()
    password = make_password(PASSWORD)  # hashed once: a million PBKDF2 rounds per user is slow
    departments = {d.slug: d for d in Department.objects.select_related("reviewer_group")}
    slugs = [s for s in DEPARTMENT_SLUGS if s in departments]
    reviewers = [
        (f"load-{slugs[i % len(slugs)]}-{i // len(slugs) + 1:02d}", slugs[i % len(slugs)])
        for i in range(counts["reviewers"])
    ]
    engineers = [f"load-engineer-{i + 1:02d}" for i in range(counts["engineers"])]
    clients = [f"load-api-{i + 1:02d}" for i in range(counts["api_tokens"])]
    users = User.objects.bulk_create(
        User(username=name, email=f"{name}@example.com", password=password)
        for name in [*(r for r, _ in reviewers), *engineers, *clients]
    )
    by_name = {u.username: u for u in users}
    User.groups.through.objects.bulk_create(
        User.groups.through(user_id=by_name[name].pk, group_id=departments[slug].reviewer_group_id)
        for name, slug in reviewers
    )
    view = Permission.objects.get(content_type__app_label="governance", codename="view_component")
    User.user_permissions.through.objects.bulk_create(
        User.user_permissions.through(user_id=by_name[name].pk, permission_id=view.pk)
        for name in clients
    )
    tokens = [token_create(user=by_name[name], name="load benchmark")[1] for name in clients]
    return {
        "password": PASSWORD,
        "reviewers": [{"username": n, "department": d} for n, d in reviewers],
        "engineers": [{"username": n} for n in engineers],
        "api_tokens": tokens,
    }


def seed_backlog(repos: list[dict], engineers: list[str]) -> None:
    """Submissions waiting for review, made the way the submit form makes them."""
    from django.contrib.auth import get_user_model

    from governance.services import ComponentDraft
    from reviews.services import submission_create

    User = get_user_model()
    people = list(User.objects.filter(username__in=engineers).order_by("username"))
    for n, repo in enumerate(repos):
        submission_create(
            actor=people[n % len(people)],
            repository_url=repo["url"],
            branch="main",
            justification="Other teams outside the company want to use it.",
            new_component=ComponentDraft(
                name=repo["slug"].replace("-", " ").title(), slug=repo["slug"],
                license="Apache-2.0", description="A library the load benchmark submits.",
                open_paths=["src/**", "README.md", "LICENSE"], internal_paths=["internal/**"],
            ),
        )  # fmt: skip


def scans_pending() -> int:
    from django.db import connections

    from scans.enums import ScanStatus
    from scans.models import ScanRun

    try:
        return ScanRun.objects.filter(status__in=[ScanStatus.QUEUED, ScanStatus.RUNNING]).count()
    finally:
        connections.close_all()


def wait_scans_idle(timeout: float, stack: Stack) -> tuple[float, int]:
    began = time.monotonic()
    pending = scans_pending()
    while pending and time.monotonic() - began < timeout:
        stack.check_alive()
        time.sleep(1)
        pending = scans_pending()
    return time.monotonic() - began, pending


def writes_since(since) -> dict:
    """What the users wrote since ``since`` (a time of this process's clock)."""
    from django.db import connections
    from django.db.models import Count

    from core.models import AuditEvent
    from reviews.enums import PENDING_TICKET_STATES, SubmissionState
    from reviews.models import ReviewTicket, SignOff, Submission
    from scans.enums import FINISHED_STATUSES
    from scans.models import ScanRun

    try:
        decisions = dict(
            SignOff.objects.filter(created_at__gte=since)
            .values_list("decision")
            .annotate(n=Count("id"))
            .values_list("decision", "n")
        )
        return {
            "approvals": decisions.get("approve", 0),
            "change requests": decisions.get("request_changes", 0),
            "submissions": Submission.objects.filter(created_at__gte=since).count(),
            "resubmits": AuditEvent.objects.filter(
                action="submission.resubmitted", created_at__gte=since
            ).count(),
            "scans finished": ScanRun.objects.filter(
                status__in=FINISHED_STATUSES, finished_at__gte=since
            ).count(),
            "tickets waiting at the end": ReviewTicket.objects.filter(
                state__in=PENDING_TICKET_STATES,
                submission__state__in=[
                    SubmissionState.IN_REVIEW,
                    SubmissionState.CHANGES_REQUESTED,
                ],
            ).count(),
        }
    finally:
        connections.close_all()


# --------------------------------------------------------------------------- CPU


class CpuMeter:
    """Where the machine's CPU went between two samples: our web and Celery process trees,
    PostgreSQL (every database), the load generator, and the rest of the machine."""

    def __init__(self, stack: Stack):
        try:
            import psutil  # comes with locust
        except ImportError:
            psutil = None
        self.psutil = psutil
        self.stack = stack

    def _tree(self, pid: int) -> dict[int, float]:
        ps = self.psutil
        try:
            root = ps.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except ps.Error:
            return {}
        times = {}
        for proc in procs:
            try:
                cpu = proc.cpu_times()
            except ps.Error:
                continue
            # with the children it waited for: git, run by the web and Celery workers
            times[proc.pid] = cpu.user + cpu.system + cpu.children_user + cpu.children_system
        return times

    def sample(self, generator_pid: int) -> dict | None:
        """CPU seconds so far per process of each kind (per process: one that exits
        between two samples drops out instead of making the sum go down)."""
        ps = self.psutil
        if ps is None:
            return None
        celery: dict[int, float] = {}
        for name, proc in self.stack.procs.items():
            if name != "web":
                celery.update(self._tree(proc.pid))
        postgres = {}
        for proc in ps.process_iter(["name", "cpu_times"]):
            cpu = proc.info["cpu_times"]
            if proc.info["name"] in ("postgres", "postmaster") and cpu:
                postgres[proc.pid] = cpu.user + cpu.system
        machine = ps.cpu_times()
        busy = machine.user + machine.nice + machine.system + getattr(machine, "irq", 0)
        busy += getattr(machine, "softirq", 0) + getattr(machine, "steal", 0)
        return {
            "web": self._tree(self.stack.procs["web"].pid),
            "celery": celery,
            "postgres": postgres,
            "generator": self._tree(generator_pid),
            "busy": {0: busy},
            "at": time.monotonic(),
        }

    @staticmethod
    def spent(before: dict | None, after: dict | None) -> str:
        if not before or not after:
            return "CPU: not measured (psutil missing)"
        seconds = after["at"] - before["at"]
        used = {
            kind: sum(cpu - before[kind].get(pid, 0.0) for pid, cpu in after[kind].items())
            / seconds
            for kind in before
            if kind != "at"
        }
        ours = used["web"] + used["celery"] + used["postgres"] + used["generator"]
        rest = max(0.0, used["busy"] - ours)
        return (
            f"CPU over the window (cores, of {os.cpu_count()}): web {used['web']:.2f}, "
            f"Celery {used['celery']:.2f}, PostgreSQL (all databases) {used['postgres']:.2f}, "
            f"load generator {used['generator']:.2f}, rest of the machine {rest:.2f}"
            + (" (something else shared the machine: these figures are pessimistic)"
               if rest > 0.25 else "")
        )  # fmt: skip


# --------------------------------------------------------------------------- logs


def server_errors(log: Path, offset: int) -> list[str]:
    """The exceptions the server logged after ``offset``: "path: last line of each
    exception" (Django logs "Internal Server Error: <path>" and the traceback)."""
    if not log.exists():
        return []
    with open(log, "rb") as f:
        f.seek(offset)
        lines = f.read().decode(errors="replace").splitlines()
    found, path, in_traceback = [], "?", False
    for line in lines:
        if line.startswith(("Internal Server Error: ", "Bad Request: ", "Service Unavailable: ")):
            path = line.split(": ", 1)[1]
        if line.startswith("Traceback (most recent call last):"):
            in_traceback = True
        elif in_traceback and line and not line.startswith((" ", "During handling", "The above")):
            found.append(f"{path}: {line[:200]}")
            in_traceback = False
        elif "[CRITICAL] WORKER TIMEOUT" in line:
            found.append(f"gunicorn: {line.split('] ', 2)[-1]}")
    return found


# --------------------------------------------------------------------------- a level


def shares(users: int) -> dict[str, int]:
    total = sum(SHARES.values())
    return {role: math.ceil(users * weight / total) for role, weight in SHARES.items()}


def run_level(*, users: int, args, host: str, people: dict, work: Path, stack: Stack) -> dict:
    """One locust run; its figures, the users' writes and the CPU spent."""
    import django.utils.timezone as tz

    engineers = shares(users)["engineers"] + 1
    # Engineers submit every 40 s or so; a pool for one every 10 s never runs dry.
    ramp_guess = 20 + users * 0.5
    count = math.ceil(engineers * (args.seconds + ramp_guess) / 10) + 5
    slugs = [f"load-u{users}-{n:04d}" for n in range(count)]
    repos = make_repositories(work / "repos" / f"u{users}", slugs)
    config = work / f"locust-u{users}.json"
    config.write_text(json.dumps({**people, "repos": repos}))
    out = work / f"result-u{users}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "GATEHOUSE"))}
    env["GATEHOUSE_LOAD_CONFIG"] = str(config)
    cmd = [
        PY, str(ROOT / "benchmarks" / "locustfile.py"), "--host", host, "--users", str(users),
        "--spawn-rate", str(args.spawn_rate), "--seconds", str(args.seconds),
        "--ready-timeout", str(args.ready_timeout), "--out", str(out),
    ]  # fmt: skip
    meter = CpuMeter(stack)
    web_log = work / "logs" / "web.log"
    log_offset = web_log.stat().st_size if web_log.exists() else 0
    started = tz.now()
    load_before = os.getloadavg()[0]
    with open(work / "logs" / f"locust-u{users}.log", "ab") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log)
    # Bounded in time: a run that overstays its ramp, window and the wait for the window's
    # last answers by two minutes is killed.
    watchdog = threading.Timer(2 * args.ready_timeout + args.seconds + 120, proc.kill)
    watchdog.start()
    before = after = None
    try:
        for line in proc.stdout:
            if line.startswith(b"@@steady-start"):
                before = meter.sample(proc.pid)
            elif line.startswith(b"@@steady-end"):
                after = meter.sample(proc.pid)
        proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode or not out.exists():
        log_text = (work / "logs" / f"locust-u{users}.log").read_text(errors="replace")
        raise SystemExit(f"locust at {users} users failed ({proc.returncode}):\n{log_text[-3000:]}")
    result = json.loads(out.read_text())
    result["cpu"] = CpuMeter.spent(before, after)
    result["load_before"] = load_before
    result["writes"] = writes_since(started)
    result["server_errors"] = server_errors(web_log, log_offset)
    return result


def ms(value: float) -> str:
    return f"{value:.0f}"


def print_level(users: int, result: dict) -> None:
    ramp, steady = result["ramp"], result["steady"]
    mix = ", ".join(f"{n} {name}" for name, n in result["users"].items())
    print(f"\n== {users} users ({mix}): {steady['seconds']:.0f} s steady, after "
          f"{ramp['ready']} of {users} were signed in in {ramp['seconds']:.1f} s; "
          f"load average {result['load_before']:.2f} before ==")  # fmt: skip
    rows = []
    for row in [r for r in steady["endpoints"] if r["requests"]]:
        rows.append([f"{row['method']} {row['name']}", row["requests"], f"{row['rps']:.1f}",
                     ms(row["p50"]), ms(row["p95"]), ms(row["p99"]), row["errors"]])  # fmt: skip
    total = steady["total"]
    rows.append(["**all**", total["requests"], f"{total['rps']:.1f}", ms(total["p50"]),
                 ms(total["p95"]), ms(total["p99"]), total["errors"]])  # fmt: skip
    print(markdown_table(["endpoint", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms",
                          "errors"], rows))  # fmt: skip
    rtotal = ramp["total"]
    signins = [r for r in ramp["endpoints"] if r["method"] == "POST" and "login" in r["name"]]
    signin = signins[0] if signins else None
    print(f"ramp (sign-ins, and the first users' work meanwhile): {rtotal['requests']} requests, "
          f"{rtotal['errors']} errors, p50 {ms(rtotal['p50'])} / p95 {ms(rtotal['p95'])} ms"
          + (f"; POST /accounts/login/: {signin['requests']}, p50 {ms(signin['p50'])} / "
             f"p95 {ms(signin['p95'])} / max {ms(signin['max'])} ms"
             if signin else ""))  # fmt: skip
    slices: dict[int, list[float]] = {}
    for start, _method, _name, took, _error in result.get("timeline", []):
        slices.setdefault(int(start // 5) * 5, []).append(took)
    if slices:
        print("steady p95 by 5 s of start time: " + ", ".join(
            f"{at}s {ms(sorted(v)[min(len(v) - 1, int(len(v) * 0.95))])}"
            for at, v in sorted(slices.items())))  # fmt: skip
    if steady.get("unanswered"):
        print(f"  {steady['unanswered']} requests started in the window never got an answer")
    for phase, data in (("ramp", ramp), ("steady", steady)):
        for error in data["errors"]:
            print(f"  error ({phase}) x{error['count']}: {error['method']} {error['name']}: "
                  f"{error['error']}")  # fmt: skip
    for exc in result["exceptions"]:
        print(f"  exception in the load generator x{exc['count']}: {exc['msg']}")
    for line, n in Counter(result["server_errors"]).most_common():
        print(f"  server log x{n}: {line}")
    print(result["cpu"] + f"; the load generator used {steady['generator_cpu']:.1f} s of CPU")
    print("written during the level: "
          + ", ".join(f"{v} {k}" for k, v in result["writes"].items()))  # fmt: skip
    if result["notes"]:
        print("users' notes: " + ", ".join(f"{k} x{v}" for k, v in result["notes"].items()))


def level_errors(result: dict) -> int:
    exceptions = sum(e["count"] for e in result["exceptions"])
    steady = result["steady"]
    return (
        result["ramp"]["total"]["errors"]
        + steady["total"]["errors"]
        + steady.get("unanswered", 0)
        + exceptions
    )


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--seconds", type=float, default=60, help="Steady window per level.")
    parser.add_argument("--spawn-rate", type=float, default=10, help="Users started a second.")
    parser.add_argument("--ready-timeout", type=float, default=180,
                        help="At most this long for every user to sign in.")  # fmt: skip
    parser.add_argument("--backlog", type=int, default=40, help="Submissions made up front.")
    parser.add_argument("--web-workers", type=int, default=4, help="WEB_CONCURRENCY.")
    parser.add_argument("--celery-workers", type=int, default=2)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="gatehouse_load")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--port", type=int, default=0, help="Default: a free one.")
    parser.add_argument(
        "--keep", action="store_true", help="Keep the database and the work folder (logs)."
    )
    args = parser.parse_args()
    levels = sorted(set(args.users))

    if importlib.util.find_spec("locust") is None:
        print("locust is missing: run  .venv/bin/pip install -r requirements-bench.txt",
              file=sys.stderr)  # fmt: skip
        return 2
    work = Path(tempfile.mkdtemp(prefix="gatehouse-load-"))
    var, logs, repos = work / "var", work / "logs", work / "repos"
    for folder in (var / "demo-repos", var / "run", logs, repos):
        folder.mkdir(parents=True)
    port = args.port or free_port()
    host = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GATEHOUSE_", "DJANGO"))},
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "GATEHOUSE_AUDIT_KEY": secrets.token_urlsafe(32),
        "GATEHOUSE_FINGERPRINT_KEY": secrets.token_urlsafe(32),
        "GATEHOUSE_EVIDENCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "GATEHOUSE_WEBHOOK_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"{args.server}/{args.database}",
        "REDIS_URL": args.redis,
        "GATEHOUSE_VAR_DIR": str(var),
        "GATEHOUSE_BASE_URL": host,
        # Plain http on 127.0.0.1: no https redirect, cookies over http, no HSTS.
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "SECURE_HSTS_SECONDS": "0",
        "GATEHOUSE_GIT_ALLOW": f"file://{repos}/,file://{var / 'demo-repos'}/",
        "GATEHOUSE_VENV": str(BIN.parent),
        "WEB_CONCURRENCY": str(args.web_workers),
        "BIND": f"127.0.0.1:{port}",
        "PORT": str(port),
    }
    stack = Stack(logs, env)
    results: dict[int, dict] = {}
    try:
        began = time.monotonic()
        database_recreate(args.server, args.database)
        redis_flush(args.redis)
        print(f"work folder {work}; database {args.database}; Redis {args.redis}; {host}",
              flush=True)  # fmt: skip
        manage(env, "migrate", "--noinput", "-v0")
        for command in ("seed_demo", "seed_demo_releases", "seed_demo_sync"):
            manage(env, command, "--force")
        django_setup(env)
        counts = {role: n + 2 for role, n in shares(max(levels)).items()}
        people = seed_people(counts)
        backlog = make_repositories(repos / "backlog", [f"load-backlog-{n:03d}"
                                                        for n in range(args.backlog)])  # fmt: skip
        seed_backlog(backlog, [e["username"] for e in people["engineers"]])
        print(f"seeded in {time.monotonic() - began:.0f} s: the demo, "
              f"{counts['reviewers']} reviewers, {counts['engineers']} engineers, "
              f"{counts['api_tokens']} API clients, {args.backlog} submissions waiting",
              flush=True)  # fmt: skip

        stack.start("web", [str(ROOT / "scripts" / "serve.sh")])
        for n in range(1, args.celery_workers + 1):
            stack.start(f"celery-{n}", [
                str(BIN / "celery"), "-A", "config", "worker", "-Q", "default,scans",
                "--concurrency", "1", "-n", f"load{n}@127.0.0.1", "-l", "info",
            ])  # fmt: skip
        stack.start("beat", [
            str(BIN / "celery"), "-A", "config", "beat", "-l", "info",
            "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
            "--pidfile", str(var / "run" / "celerybeat.pid"),
            "--schedule", str(var / "run" / "celerybeat-schedule"),
        ])  # fmt: skip
        took = wait_healthy(f"{host}/healthz", stack, timeout=300)
        print(f"/healthz 200 after {took:.0f} s: gunicorn ({args.web_workers} workers), "
              f"{args.celery_workers} Celery workers, beat", flush=True)  # fmt: skip
        took, pending = wait_scans_idle(300, stack)
        print(f"backlog scans finished in {took:.0f} s ({pending} still pending)", flush=True)

        for users in levels:
            stack.check_alive()
            results[users] = run_level(
                users=users, args=args, host=host, people=people, work=work, stack=stack
            )
            print_level(users, results[users])
            took, pending = wait_scans_idle(120, stack)
            print(f"(Celery queues empty {took:.0f} s after the level; {pending} scans pending)",
                  flush=True)  # fmt: skip
    finally:
        stack.stop()
        if args.keep:
            print(f"kept database {args.database} and {work}")
        else:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # noqa: BLE001, S110 - Django may never have been set up
                pass
            database_drop(args.server, args.database)
            redis_flush(args.redis)
            shutil.rmtree(work, ignore_errors=True)

    print(f"\n== summary ({args.seconds:.0f} s steady per level; {os.cpu_count()} cores) ==")
    rows, failed = [], False
    for users, result in results.items():
        total = result["steady"]["total"]
        errors = level_errors(result)
        failed = failed or errors > 0
        rows.append([users, f"{total['rps']:.1f}", ms(total["p50"]), ms(total["p95"]),
                     ms(total["p99"]), errors,
                     "yes" if total["p95"] < TARGET_P95_MS else "NO"])  # fmt: skip
    headers = ["users", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors (ramp + steady)",
               f"p95 < {TARGET_P95_MS:.0f}"]  # fmt: skip
    print(markdown_table(headers, rows))
    if TARGET_USERS in results:
        result = results[TARGET_USERS]
        p95, errors = result["steady"]["total"]["p95"], level_errors(result)
        met = errors == 0 and p95 < TARGET_P95_MS
        print(f"target at {TARGET_USERS} users (0 errors, p95 < {TARGET_P95_MS:.0f} ms): "
              + ("met" if met else f"MISSED ({errors} errors, p95 {p95:.0f} ms)"))  # fmt: skip
    else:
        print(f"target at {TARGET_USERS} users: not measured (--users has no {TARGET_USERS})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
