"""kill -9 of a real worker in the middle of a scan: the scan is not left running, a
second worker finishes it from where the first one stopped, and one set of findings is
written."""

import random
import time

from django.db import connection
from django.utils import timezone

from scans.enums import ScanStatus
from scans.models import BlobResult, ScanRun
from scans.services import scans_requeue_stalled
from tests.conftest import World, submit
from tests.gitrepo import GitRepo
from tests.integration.workers import (
    QUEUE,
    Worker,
    needs_real_services,
    routed_to,
    wait_for,
    worker_env,
)
from tests.tokens import github_token

pytestmark = needs_real_services

WORDS = ["lease", "worker", "scan", "commit", "tree", "blob", "queue", "broker", "retry"]


def big_tree(files: int, seed: int) -> dict[str, str]:
    """Plain prose, different in every file (no two blobs alike), about 4 KB each."""
    rng = random.Random(seed)
    return {
        f"src/part{i // 500:02}/m{i:05}.txt": " ".join(rng.choices(WORDS, k=600)) + "\n"
        for i in range(files)
    }


def big_repo(tmp_path_factory) -> tuple[dict[str, str], GitRepo]:
    """12,000 files and one secret, in a repository that packs nothing in the background
    (git's auto gc would prune loose objects while the worker copies them)."""
    token = github_token("killed worker")
    files = {**big_tree(12000, seed=12), "README.md": "# x\n", "app.py": f'T = "{token}"\n'}
    repo = GitRepo(tmp_path_factory.mktemp("big") / "work")
    repo.git("config", "gc.auto", "0")
    repo.commit(files, "initial")
    return files, repo


def part_way(scan_id: int) -> bool:
    run = ScanRun.objects.get(pk=scan_id)
    return (
        run.status == ScanStatus.RUNNING
        and 0 < run.files_done < run.files_total
        and BlobResult.objects.exists()
    )


def test_a_scan_whose_worker_is_killed_is_finished_by_another(tmp_path_factory, settings):
    settings.GATEHOUSE_SCAN_ON_SUBMIT = True
    queue = QUEUE
    tmp_path = tmp_path_factory.mktemp("crash")
    env = worker_env(
        tmp_path, tmp_path_factory.getbasetemp(),
        GATEHOUSE_LEASE_SECONDS="2", GATEHOUSE_SCAN_CACHE_FLUSH_SECONDS="0.1",
    )  # fmt: skip
    files, repo = big_repo(tmp_path_factory)

    with routed_to(queue):
        first = Worker(queue, env)
        try:
            submission = submit(World(), repo)
            scan = ScanRun.objects.get(commit=submission.commit)
            assert wait_for(lambda: part_way(scan.pk), timeout=60, every=0.02), (
                "the scan never got part-way"
            )
            first.kill()
        finally:
            print(first.stop())
        killed = ScanRun.objects.get(pk=scan.pk)
        kept = BlobResult.objects.count()
        assert killed.status == ScanStatus.RUNNING and killed.attempts == 1
        assert 0 < kept < len(files), "what the killed attempt read is in the cache"

        # Its lease runs out; the beat's pass (called here) requeues it for the next worker.
        assert wait_for(lambda: ScanRun.objects.get(pk=scan.pk).lease_expires_at < timezone.now())
        assert scans_requeue_stalled() == {"requeued": 1, "failed": 0, "resent": 0}
        second = Worker(queue, env)
        try:
            assert wait_for(
                lambda: ScanRun.objects.get(pk=scan.pk).status == ScanStatus.DONE, timeout=90
            ), "the second worker did not finish the scan"
            time.sleep(0.5)
        finally:
            print(second.stop())

    done = ScanRun.objects.get(pk=scan.pk)
    assert done.attempts == 2 and not done.lease_owner
    assert done.files_cached >= kept and done.files_total == len(files)
    secrets = list(done.findings.filter(kind="secret"))
    assert [(f.path, f.line) for f in secrets] == [("app.py", 1)]
    keys = list(done.findings.values_list("path", "line", "rule"))
    assert len(keys) == len(set(keys)), "one set of findings"
    assert ScanRun.objects.filter(commit=submission.commit).count() == 1


def test_a_scan_that_loses_its_database_connection_is_retried_and_finishes(
    tmp_path_factory, settings
):
    """The database drops the worker's connections mid-scan (a restart, a failover): the
    task retries with backoff, takes its own lease back and finishes, once."""
    settings.GATEHOUSE_SCAN_ON_SUBMIT = True
    queue = QUEUE
    tmp_path = tmp_path_factory.mktemp("dbdrop")
    env = worker_env(
        tmp_path, tmp_path_factory.getbasetemp(),
        GATEHOUSE_LEASE_SECONDS="5", GATEHOUSE_SCAN_CACHE_FLUSH_SECONDS="0.1",
    )  # fmt: skip
    files, repo = big_repo(tmp_path_factory)
    with routed_to(queue):
        worker = Worker(queue, env)
        try:
            submission = submit(World(), repo)
            scan = ScanRun.objects.get(commit=submission.commit)
            assert wait_for(lambda: part_way(scan.pk), timeout=60, every=0.02)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                assert cursor.fetchone()[0] >= 1
            assert wait_for(
                lambda: ScanRun.objects.get(pk=scan.pk).status == ScanStatus.DONE, timeout=90
            ), "the retried scan did not finish"
        finally:
            log = worker.stop()
            print(log)
    assert "Retry in" in log  # Celery's own word for the retry with backoff
    done = ScanRun.objects.get(pk=scan.pk)
    assert done.attempts == 2 and done.files_total == len(files)
    assert [(f.path, f.line) for f in done.findings.filter(kind="secret")] == [("app.py", 1)]
