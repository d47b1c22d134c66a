"""Fault benchmark: kill -9 of a real Celery worker in the middle of a scan, a sync and a
publish, at random points, and a restart of Redis under load; jobs finished, duplicated
and stuck.

    .venv/bin/python benchmarks/faults.py [--trials 10] [--files 6000] [--seed 12]

It needs PostgreSQL at postgres://postgres@127.0.0.1:5432 (trust auth; it makes a database
of its own, gatehouse_faults, and drops it at the end) and redis-server on the PATH: it
starts a Redis server of its own on a free port (never the machine's), so that it can
kill and restart it. Workers (`celery worker --pool solo`) and beat run as real
processes against that Redis and that database, with a 3 s lease and beat's requeue pass
every 2 s (production: 60 s and 60 s), so a dead attempt is noticed within seconds.

Per kind, one calibration run without a kill measures how long the job takes; then, until
--trials kills have landed in the middle of a job, each time a fresh job (a repository of
--files distinct files with one secret for a scan; a fresh component with both
repositories for a sync; a fresh approved component with a ready release for a publish)
is started on the one live worker, and once the job is running the worker is killed with
SIGKILL after a random delay within that duration (a job that ends first shortens the
window to how long it ran). A new worker is started at once. The trial then waits for
the job to finish and checks:

- finished: the job ended (scan done, job succeeded) within two minutes of the kill;
- duplicated: a scan wrote more than one set of findings (a finding twice, or not exactly
  the one secret), a sync more than one sync row, a publish more than one export commit or
  tag on the external repository, or a second run or job appeared;
- stuck: still queued or running two minutes after the kill.

A kill that came after the job had already finished is counted apart ("ended first").

Then, with two workers, it queues a batch of scans and syncs, kills Redis (kill -9, no
persistence: every queued message is lost), starts it again a second later, and counts
the same three figures two minutes on (beat sends again the jobs whose message was lost,
after GATEHOUSE_RESEND_QUEUED_SECONDS, 10 s here).

Target (issue 12): every job finished, 0 duplicated, 0 stuck, each within two minutes of
the kill. The script exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "gatehouse_faults"
SERVER = "postgres://postgres@127.0.0.1:5432"
WORK = Path(tempfile.mkdtemp(prefix="gatehouse-faults-"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


REDIS_PORT = free_port()
ENV = {
    "DATABASE_URL": f"{SERVER}/{DB_NAME}",
    "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "GATEHOUSE_VAR_DIR": str(WORK / "var"),
    "GATEHOUSE_GIT_ALLOW": f"file://{WORK}/",
    "GATEHOUSE_LEASE_SECONDS": "3",
    "GATEHOUSE_REQUEUE_INTERVAL": "2",
    "GATEHOUSE_RESEND_QUEUED_SECONDS": "10",
    "GATEHOUSE_SYNC_INTERVAL": "86400",
    "GATEHOUSE_SCAN_ON_SUBMIT": "1",
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
from django.db import close_old_connections, connection  # noqa: E402

from config.celery import app as celery_app  # noqa: E402
from governance.enums import CommunityRole, RepositoryKind  # noqa: E402
from governance.models import Component, Repository  # noqa: E402
from governance.services import component_role_set  # noqa: E402
from releases.jobs import publish_request, sync_request  # noqa: E402
from releases.models import GitJob, Release, SyncState  # noqa: E402
from releases.services import release_create  # noqa: E402
from releases.sync import TRAILER_RELEASE, component_sync  # noqa: E402
from reviews.models import ReviewTicket  # noqa: E402
from reviews.services import component_set_external  # noqa: E402
from scans.enums import ScanStatus  # noqa: E402
from scans.models import ScanPolicy, ScanRun  # noqa: E402
from scans.services import scan_request  # noqa: E402
from tests.conftest import OPEN_PATHS, World, approve, make_user, submit  # noqa: E402
from tests.gitrepo import GitRepo  # noqa: E402
from tests.releases.conftest import CLEAN_FILES  # noqa: E402
from tests.tokens import github_token  # noqa: E402
from vcs import normalize_url  # noqa: E402

DEADLINE = 120.0  # seconds after the kill by which a job must have finished
WORDS = ["lease", "worker", "scan", "commit", "tree", "blob", "queue", "broker", "retry", "tag"]


# --------------------------------------------------------------------------- processes


class Proc:
    """A process in a session of its own: kill() is kill -9 of it and all it forked."""

    def __init__(self, args: list[str], log: Path):
        self.log = log.open("ab")
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env={**os.environ, **ENV}, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=15)
        self.kill()


CELERY = str(Path(sys.executable).with_name("celery"))
_workers = 0


def start_worker() -> Proc:
    global _workers
    _workers += 1
    return Proc(
        [CELERY, "-A", "config", "worker", "-Q", "default,scans", "--pool", "solo",
         "-n", f"w{_workers}@%h", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-l", "warning"],
        WORK / f"worker-{_workers}.log",
    )  # fmt: skip


def start_beat() -> Proc:
    return Proc([CELERY, "-A", "config", "beat", "-l", "warning"], WORK / "beat.log")


def start_redis() -> Proc:
    proc = Proc(
        ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        WORK / "redis.log",
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def wait(predicate, timeout: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        if predicate():
            return True
        time.sleep(every)
    return False


# --------------------------------------------------------------------------- fixtures


def prose_tree(files: int, seed: int) -> dict[str, str]:
    """Distinct text files (no blob in the cache yet), about 2 KB each."""
    rng = random.Random(seed)  # noqa: S311 - text, not secrets
    return {
        f"core/part{i // 500:02}/m{i:05}.txt": " ".join(rng.choices(WORDS, k=300)) + "\n"
        for i in range(files)
    }


def new_repo(name: str, files: dict[str, str]) -> GitRepo:
    repo = GitRepo(WORK / "repos" / name)
    repo.git("config", "gc.auto", "0")
    repo.commit(files, "initial")
    return repo


def bare(name: str) -> Path:
    path = WORK / "repos" / f"{name}.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


def register(url: str, kind: str = RepositoryKind.INTERNAL) -> Repository:
    return Repository.objects.create(url=url, key=normalize_url(url), kind=kind)


@dataclass
class Trial:
    kind: str
    killed: bool = False
    ended_first: bool = False
    finished: bool = False
    duplicated: bool = False
    stuck: bool = False
    recovery: float | None = None  # seconds from the kill to the end
    attempts: int = 0
    notes: list[str] = field(default_factory=list)
    took: float | None = None  # seconds it ran, when it ended before the kill

    def describe(self) -> str:
        marks = [
            "killed" if self.killed else "ended first",
            "finished" if self.finished else "NOT finished",
            *(["DUPLICATED"] if self.duplicated else []),
            *(["STUCK"] if self.stuck else []),
        ]
        took = f"{self.recovery or 0:.1f} s, {self.attempts} attempts"
        return f"{', '.join(marks)} in {took} {self.notes}"


class Scenario:
    """Make one job of a kind, see when it runs and ends, and check it ran once."""

    def __init__(self, kind: str, files: int, seed: int, world: World):
        self.kind, self.files, self.seed, self.world = kind, files, seed, world
        self.n = 0

    # -- making
    def tree(self) -> dict[str, str]:
        return prose_tree(self.files, self.seed * 1000 + self.n)

    def prepare(self):
        self.n += 1
        tag = f"{self.kind}-{self.n}"
        if self.kind == "scan":
            token = github_token(f"faults {tag}")
            files = {**self.tree(), "app.py": f'T = "{token}"\n'}
            repo = new_repo(tag, files)
            return register(repo.url), repo.head()
        if self.kind == "sync":
            repo = new_repo(tag, {**CLEAN_FILES, **self.tree()})
            external = bare(f"{tag}-external")
            return Component.objects.create(
                name=tag, slug=tag, license="Apache-2.0", created_by=self.world.admin,
                open_paths=OPEN_PATHS, internal_repository=register(repo.url),
                external_repository=register(f"file://{external}", RepositoryKind.EXTERNAL),
            )  # fmt: skip
        return self._ready_release(tag)

    def _ready_release(self, tag: str) -> Release:
        """An approved component with a ready release, through the real services (run in
        this process, eagerly)."""
        repo = new_repo(tag, {**CLEAN_FILES, **self.tree()})
        external = bare(f"{tag}-external")
        eager(True)
        try:
            submission = submit(self.world, repo, slug=tag)
            component = submission.component
            component_set_external(
                component=component, actor=self.world.alice, url=f"file://{external}"
            )
            for ticket in ReviewTicket.objects.filter(submission=submission).select_related(
                "department", "submission"
            ):
                approve(ticket, self.world.reviewers[ticket.department.slug])
            admin = self.world.admin
            for user, role in [(self.world.pmc, CommunityRole.PMC),
                               (self.world.committer, CommunityRole.COMMITTER)]:  # fmt: skip
                component_role_set(component=component, user=user, role=role, actor=admin)
            component_sync(component_id=component.pk, trigger="bench")
            release = release_create(component=component, actor=self.world.alice, version="1.0.0")
        finally:
            eager(False)
        release.refresh_from_db()
        if release.state != "ready":
            raise SystemExit(f"{tag}: the release is not ready: {release.blocking_gates}")
        release.external = external
        return release

    # -- running
    def start(self, target):
        if self.kind == "scan":
            repository, commit = target
            return scan_request(repository=repository, commit=commit, force=True)
        if self.kind == "sync":
            return sync_request(component=target, actor=self.world.admin)[0]
        return publish_request(release=target, actor=self.world.alice)[0]

    def state(self, job) -> str:
        """queued, running or ended."""
        model = ScanRun if self.kind == "scan" else GitJob
        row = model.objects.filter(pk=job.pk).values("status", "attempts").first()
        self.attempts = row["attempts"]
        if row["status"] in ("queued", "running"):
            return row["status"]
        return "ended"

    def check(self, job, target, trial: Trial) -> None:
        """Whether the job succeeded, and ran once."""
        if self.kind == "scan":
            run = ScanRun.objects.get(pk=job.pk)
            trial.finished = run.status == ScanStatus.DONE
            keys = list(run.findings.values_list("path", "line", "rule"))
            secret = list(run.findings.filter(kind="secret").values_list("path", flat=True))
            runs = ScanRun.objects.filter(repository=target[0]).count()
            trial.duplicated = len(keys) != len(set(keys)) or secret != ["app.py"] or runs != 1
            if not trial.finished:
                trial.notes.append(f"scan {run.status}: {run.error[:120]}")
            return
        done = GitJob.objects.get(pk=job.pk)
        trial.finished = done.status == GitJob.Status.SUCCEEDED
        if not trial.finished:
            trial.notes.append(f"{self.kind} {done.status}: {done.errors[:1]}")
        jobs = GitJob.objects.filter(key=done.key).count()
        if self.kind == "sync":
            rows = SyncState.objects.filter(component=target).count()
            trial.duplicated = rows != 1 or jobs != 1
            return
        release = Release.objects.get(pk=target.pk)
        log = subprocess.run(
            ["git", "--git-dir", str(target.external), "log", "--format=%B%x00", "main"],
            capture_output=True, text=True,
        ).stdout  # fmt: skip
        exports = sum(f"{TRAILER_RELEASE}: {release.pk}" in m for m in log.split("\0"))
        tags = subprocess.run(
            ["git", "--git-dir", str(target.external), "tag", "--list"],
            capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        trial.duplicated = exports > 1 or tags not in ([], ["v1.0.0"]) or jobs != 1
        trial.finished = trial.finished and release.state == "published" and exports == 1


def eager(on: bool) -> None:
    celery_app.conf.task_always_eager = on


# --------------------------------------------------------------------------- the runs


def calibrate(scenario: Scenario) -> float:
    """One run without a kill: how long the job takes, from running to its end."""
    target = scenario.prepare()
    job = scenario.start(target)
    if not wait(lambda: scenario.state(job) != "queued", 60, 0.01):
        raise SystemExit(f"{scenario.kind}: no worker took the calibration job")
    began = time.monotonic()
    if not wait(lambda: scenario.state(job) == "ended", 300, 0.01):
        raise SystemExit(f"{scenario.kind}: the calibration job did not end")
    seconds = time.monotonic() - began
    trial = Trial(scenario.kind)
    scenario.check(job, target, trial)
    if not trial.finished or trial.duplicated:
        raise SystemExit(f"{scenario.kind}: the calibration job failed: {trial.notes}")
    return seconds


def kill_trial(scenario: Scenario, worker: Proc, duration: float, rng: random.Random):
    """Returns (trial, the live worker afterwards)."""
    trial = Trial(scenario.kind)
    target = scenario.prepare()
    job = scenario.start(target)
    if not wait(lambda: scenario.state(job) != "queued", 60, 0.005):
        trial.stuck = True
        trial.notes.append("never started")
        return trial, worker
    began = time.monotonic()
    trial.ended_first = wait(lambda: scenario.state(job) == "ended", rng.uniform(0, duration), 0.01)
    if trial.ended_first:
        trial.took = time.monotonic() - began
    worker.kill()
    killed_at = time.monotonic()
    trial.killed = not trial.ended_first
    worker = start_worker()
    if wait(lambda: scenario.state(job) == "ended", DEADLINE, 0.1):
        trial.recovery = time.monotonic() - killed_at
    else:
        trial.stuck = True
    trial.attempts = scenario.attempts
    scenario.check(job, target, trial)
    time.sleep(0.3)  # let a stray redelivery show itself before the next trial
    return trial, worker


def redis_restart(scenarios: dict[str, Scenario], count: int) -> list[Trial]:
    """Two workers; ``count`` scans and ``count`` syncs queued; Redis killed and restarted."""
    global redis
    workers = [start_worker(), start_worker()]
    time.sleep(4)
    targets = [
        (scenarios[kind], scenarios[kind].prepare())
        for kind in ("scan", "sync")
        for _ in range(count)
    ]
    started = [(scenario, scenario.start(target), target) for scenario, target in targets]
    time.sleep(0.5)
    live = sum(scenario.state(job) != "ended" for scenario, job, _ in started)
    print(f"Redis killed with {live} of {len(started)} jobs queued or running", flush=True)
    redis.kill()
    time.sleep(1.0)
    redis = start_redis()
    killed_at = time.monotonic()
    trials = []
    for scenario, job, target in started:
        trial = Trial(scenario.kind, killed=True)
        left = DEADLINE - (time.monotonic() - killed_at)
        if wait(lambda s=scenario, j=job: s.state(j) == "ended", max(left, 0), 0.1):
            trial.recovery = time.monotonic() - killed_at
        else:
            trial.stuck = True
        trial.attempts = scenario.attempts
        scenario.check(job, target, trial)
        trials.append(trial)
    for w in workers:
        w.stop()
    return trials


def summary(label: str, trials: list[Trial]) -> tuple[str, bool]:
    killed = [t for t in trials if t.killed]
    finished = sum(t.finished and not t.stuck and t.recovery is not None for t in trials)
    duplicated = sum(t.duplicated for t in trials)
    stuck = sum(t.stuck for t in trials)
    recoveries = [t.recovery for t in trials if t.recovery is not None]
    worst = max(recoveries, default=0.0)
    median = statistics.median(recoveries) if recoveries else 0.0
    attempts = max((t.attempts for t in trials), default=0)
    ok = finished == len(trials) and duplicated == 0 and stuck == 0 and worst <= DEADLINE
    row = (
        f"| {label} | {len(trials)} | {len(killed)} | {len(trials) - len(killed)} | "
        f"{finished} | {duplicated} | {stuck} | {median:.1f} | {worst:.1f} | {attempts} |"
    )
    return row, ok


def main() -> int:
    global redis
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--files", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--batch", type=int, default=5, help="scans and syncs under the restart")
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is not on the PATH")
    rng = random.Random(args.seed)  # noqa: S311 - kill points, not secrets
    redis = start_redis()
    procs: list[Proc] = []
    try:
        call_command("migrate", verbosity=0)
        ScanPolicy.objects.get_or_create(pk=1)
        eager(True)
        world = World()
        world.pmc, world.committer = make_user("petra"), make_user("carl")
        eager(False)
        kinds = ("scan", "sync", "publish")
        scenarios = {k: Scenario(k, args.files, args.seed, world) for k in kinds}
        beat = start_beat()
        procs.append(beat)
        worker = start_worker()
        print(f"# Faults: {args.trials} kills per kind, {args.files} files per repository, "
              f"Redis on port {REDIS_PORT}, work in {WORK}\n")  # fmt: skip
        rows, all_ok = [], True
        for kind, scenario in scenarios.items():
            duration = calibrate(scenario)
            print(f"{kind}: a run takes {duration:.2f} s (calibration, not killed)", flush=True)
            trials = []
            # Until --trials kills landed mid-job (at most three times as many tries): a job
            # that ended before its kill point shortens the window the next points are
            # drawn from to how long it actually ran.
            while sum(t.killed for t in trials) < args.trials and len(trials) < 3 * args.trials:
                trial, worker = kill_trial(scenario, worker, duration, rng)
                trials.append(trial)
                if trial.took is not None:
                    duration = min(duration, trial.took)
                print(f"  {kind} {len(trials)}: {trial.describe()}", flush=True)
            row, ok = summary(f"kill -9 mid-{kind}", trials)
            rows.append(row)
            all_ok &= ok
        worker.stop()
        trials = redis_restart(scenarios, args.batch)
        for t in trials:
            if not t.finished or t.duplicated or t.stuck:
                print(f"  restart: {t.kind} {t.notes}")
        row, ok = summary("Redis restarted under load", trials)
        rows.append(row)
        all_ok &= ok
        print()
        print("| fault | jobs | killed mid-job | ended before the kill | finished | duplicated "
              "| stuck | median s to end | worst s | most attempts |")  # fmt: skip
        print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        print("\n".join(rows))
        print(f"\nTarget: all finished, 0 duplicated, 0 stuck, each within {DEADLINE:.0f} s "
              f"of the kill: {'met' if all_ok else 'MISSED'}.")  # fmt: skip
        return 0 if all_ok else 1
    finally:
        for proc in procs:
            proc.stop()
        redis.kill()
        connection.close()
        admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
