"""Scans that survive a dead worker: leases taken over when they expire, never while they
live, failed with the reason after repeated deaths, and one set of findings whatever ran
twice. Real git repositories, the real database, the services the task runs."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from core import leases
from scans import services
from scans.enums import ScanStatus
from scans.models import ScanPolicy, ScanRun
from scans.services import scan_execute, scan_request, scans_requeue_stalled
from tests.conftest import submit
from tests.tokens import github_token

TOKEN = github_token("leases")


@pytest.fixture
def queued(world, make_repo, db):
    ScanPolicy.objects.create(pk=1)
    repo = make_repo({"README.md": "# x\n", "core/conf.py": f'TOKEN = "{TOKEN}"\n'})
    submission = submit(world, repo)
    return scan_request(
        repository=submission.repository, commit=submission.commit,
        component=submission.component,
    )  # fmt: skip


def _as_if_running(scan, *, owner="host:1:dead", expires_in=-1.0, attempts=1):
    """The row as a worker leaves it when it is killed mid-scan (kill -9: nothing more
    is written), its lease ending ``expires_in`` seconds from now."""
    ScanRun.objects.filter(pk=scan.pk).update(
        status=ScanStatus.RUNNING, lease_owner=owner, attempts=attempts,
        started_at=timezone.now() - timedelta(minutes=5),
        lease_expires_at=timezone.now() + timedelta(seconds=expires_in),
    )  # fmt: skip


def test_a_scan_whose_worker_died_is_taken_over_by_the_next_attempt(queued):
    _as_if_running(queued, expires_in=-1)
    scan = scan_execute(scan_id=queued.pk, owner="host:2:next")
    assert scan is not None and scan.status == ScanStatus.DONE
    assert scan.findings.filter(kind="secret").count() == 1
    scan.refresh_from_db()
    assert scan.attempts == 2 and scan.lease_owner == "" and scan.lease_expires_at is None


def test_a_live_lease_is_not_taken(queued):
    _as_if_running(queued, expires_in=30)
    assert scan_execute(scan_id=queued.pk, owner="host:2:next") is None
    queued.refresh_from_db()
    assert queued.status == ScanStatus.RUNNING and queued.lease_owner == "host:1:dead"
    assert queued.findings.count() == 0


def test_a_retry_of_the_same_task_takes_its_own_lease_back(queued):
    _as_if_running(queued, owner="task:abc", expires_in=30)
    scan = scan_execute(scan_id=queued.pk, owner="task:abc")
    assert scan is not None and scan.status == ScanStatus.DONE


def test_a_finished_scan_is_never_run_again(queued):
    scan_execute(scan_id=queued.pk)
    before = queued.findings.count()
    assert scan_execute(scan_id=queued.pk, owner="host:3:late") is None
    assert queued.findings.count() == before


def test_an_attempt_that_lost_its_lease_writes_nothing(queued):
    """Claimed by A, whose lease lapsed while it worked and B took the scan over: A's
    results are dropped; B's are the only findings."""
    assert leases.claim(ScanRun, queued.pk, owner="A", waiting="queued", running="running")
    _as_if_running(queued, owner="B", expires_in=30, attempts=2)
    assert services._scan_with_lease(queued.pk, "A") is None
    queued.refresh_from_db()
    assert queued.status == ScanStatus.RUNNING and queued.findings.count() == 0
    assert services._scan_with_lease(queued.pk, "B").status == ScanStatus.DONE
    assert queued.findings.filter(kind="secret").count() == 1


def test_the_requeue_pass_queues_expired_scans_and_sends_them(
    queued, django_capture_on_commit_callbacks
):
    _as_if_running(queued, expires_in=-1)
    with django_capture_on_commit_callbacks(execute=False) as sent:
        assert scans_requeue_stalled() == {"requeued": 1, "failed": 0, "resent": 0}
    queued.refresh_from_db()
    assert queued.status == ScanStatus.QUEUED and queued.lease_owner == ""
    assert len(sent) == 1  # run_scan.delay for it, after commit
    assert scans_requeue_stalled() == {"requeued": 0, "failed": 0, "resent": 0}  # once


def test_a_queued_scan_whose_message_was_lost_is_sent_again(
    queued, settings, django_capture_on_commit_callbacks
):
    """The broker restarted without its data: the scan's message is gone, and no worker
    will ever claim it. The requeue pass sends it again, once per resend period."""
    settings.GATEHOUSE_RESEND_QUEUED_SECONDS = 600
    ScanRun.objects.filter(pk=queued.pk).update(
        status=ScanStatus.QUEUED, sent_at=timezone.now() - timedelta(seconds=601)
    )
    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert scans_requeue_stalled() == {"requeued": 0, "failed": 0, "resent": 1}
    assert sent  # sent after commit, then the finished scan's signal
    queued.refresh_from_db()
    assert queued.status == ScanStatus.DONE  # sent, and run (tasks are eager here)
    assert scans_requeue_stalled() == {"requeued": 0, "failed": 0, "resent": 0}


def test_a_queued_scan_sent_recently_is_not_sent_again(queued, settings):
    settings.GATEHOUSE_RESEND_QUEUED_SECONDS = 600
    ScanRun.objects.filter(pk=queued.pk).update(
        status=ScanStatus.QUEUED, sent_at=timezone.now() - timedelta(seconds=30)
    )
    assert scans_requeue_stalled() == {"requeued": 0, "failed": 0, "resent": 0}


def test_the_requeue_pass_leaves_live_leases_alone(queued):
    _as_if_running(queued, expires_in=30)
    assert scans_requeue_stalled() == {"requeued": 0, "failed": 0, "resent": 0}


def test_a_scan_that_keeps_dying_is_failed_with_the_reason(queued, settings):
    settings.GATEHOUSE_JOB_MAX_ATTEMPTS = 3
    _as_if_running(queued, expires_in=-1, attempts=3)
    assert scan_execute(scan_id=queued.pk, owner="host:4:x") is None  # no fourth attempt
    assert scans_requeue_stalled() == {"requeued": 0, "failed": 1, "resent": 0}
    queued.refresh_from_db()
    assert queued.status == ScanStatus.FAILED and "stopped 3 times" in queued.error
    assert queued.finished_at is not None
    # A new request is a new scan, not the failed one handed back.
    again = scan_request(repository=queued.repository, commit=queued.commit,
                         component=queued.component)  # fmt: skip
    assert again.pk != queued.pk and again.status == ScanStatus.QUEUED


def test_the_heartbeat_renews_the_lease_while_the_attempt_works(queued, settings, transactional_db):
    settings.GATEHOUSE_LEASE_SECONDS = 0.3
    # A row of its own (in this committed-transaction test the fixture's scan already ran).
    job = ScanRun.objects.create(
        repository=queued.repository, commit=queued.commit, engine_version="x", policy_version="y"
    )
    assert leases.claim(ScanRun, job.pk, owner="A", waiting="queued", running="running")
    first = ScanRun.objects.get(pk=job.pk).lease_expires_at
    with leases.Heartbeat(ScanRun, job.pk, "A"):
        deadline = timezone.now() + timedelta(seconds=5)
        while ScanRun.objects.get(pk=job.pk).lease_expires_at == first:
            assert timezone.now() < deadline, "the lease was never renewed"
            time.sleep(0.02)
    assert ScanRun.objects.get(pk=job.pk).lease_expires_at > first
