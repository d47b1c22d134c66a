"""A real Celery worker, in its own process, consuming from real Redis and writing to the
same real database as the test: the path a submission's e-mails take in production."""

import time
from pathlib import Path

import pytest

from notifications.models import Notification
from notifications.tasks import send_notification_email
from tests.conftest import World, approve, submit
from tests.integration.workers import (
    QUEUE,
    Worker,
    needs_real_services,
    routed_to,
    wait_for,
    worker_env,
    worker_idle,
)
from tests.tokens import github_token

pytestmark = needs_real_services


@pytest.fixture(scope="module")
def worker(tmp_path_factory, django_db_setup):
    """Start one `celery worker` for this module on a queue of its own, and send the
    module's tasks there."""
    queue = QUEUE
    tmp_path = tmp_path_factory.mktemp("worker")
    mail_dir = tmp_path / "mail"
    env = worker_env(
        tmp_path, tmp_path_factory.getbasetemp(),
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
    )  # fmt: skip
    process = Worker(queue, env)
    try:
        with routed_to(queue):
            yield mail_dir
    finally:
        print(process.stop())


@pytest.fixture(autouse=True)
def _settled(worker):
    """A test ends when its assertion holds, but the worker may still be running what
    followed (a finished scan's signals re-evaluate gates and queue e-mails): wait until it
    is idle, so that flushing the database never races its writes."""
    yield
    wait_for(worker_idle, timeout=30.0)


def mails(mail_dir: Path) -> list[str]:
    """The messages the file-based backend wrote. It names files by second and object id,
    so several messages can share one file; each ends with a line of 79 dashes."""
    if not mail_dir.exists():
        return []
    text = "".join(path.read_text() for path in sorted(mail_dir.iterdir()))
    return [message for message in text.split("-" * 79 + "\n") if message.strip()]


def test_worker_emails_reviewers_and_submitter_through_redis(worker, make_repo, settings):
    """The commit wakes the outbox on the worker, which fans the events out and mails."""
    settings.GATEHOUSE_OUTBOX_WAKE = True
    cast = World()
    base = len(mails(worker))  # the module shares one worker and its mail folder
    submission = submit(cast, make_repo())

    told = Notification.objects.filter(
        event__action="submission.created", event__object_id=str(submission.pk)
    )
    assert wait_for(lambda: told.exclude(emailed_at=None).count() == 4), (
        "the worker did not tell every department"
    )
    assert wait_for(lambda: len(mails(worker)) == base + 4)
    sent = "\n".join(mails(worker)[base:])
    for address in ("tina@", "cora@", "leo@", "sam@"):
        assert f"To: {address}example.com" in sent
    assert submission.commit[:10] in sent

    # A duplicate delivery of the same task sends nothing more (the claim is in the database).
    send_notification_email.delay(notification_id=told.first().pk)

    signoff = approve(submission.tickets.get(department__slug="legal"), cast.reviewers["legal"])
    decided = Notification.objects.filter(
        event__action="signoff.approve", event__object_id=str(signoff.pk)
    )
    assert wait_for(lambda: decided.exclude(emailed_at=None).exists())
    assert wait_for(lambda: len(mails(worker)) == base + 5)
    assert any("To: alice@example.com" in m for m in mails(worker))
    time.sleep(1)  # give a wrongly repeated e-mail the chance to appear
    assert len(mails(worker)) == base + 5


def test_worker_scans_a_submission_on_the_scans_task(worker, make_repo, settings):
    from scans.enums import ScanStatus
    from scans.models import ScanRun

    settings.GATEHOUSE_SCAN_ON_SUBMIT = True
    cast = World()
    token = github_token("celery worker")
    submission = submit(cast, make_repo({"README.md": "# x\n", "app.py": f'T = "{token}"\n'}))

    assert wait_for(
        lambda: ScanRun.objects.filter(commit=submission.commit, status=ScanStatus.DONE).exists()
    ), "the worker did not finish the scan"
    scan = ScanRun.objects.get(commit=submission.commit)
    secret = scan.findings.get(kind="secret")
    assert (secret.path, secret.line) == ("app.py", 1)
    assert token not in secret.excerpt


def test_sync_now_through_the_api_is_a_job_the_worker_runs(worker, make_repo, empty_remote):
    """The web request only queues: the worker fetches both sides and records the sync, and
    the client polls the job's URL until it has."""
    from rest_framework.test import APIClient

    from releases.models import GitJob, SyncState
    from reviews.services import component_set_external

    cast = World()
    submission = submit(cast, make_repo())
    component = submission.component
    component_set_external(component=component, actor=cast.alice, url=empty_remote("sync"))
    client = APIClient()
    client.force_authenticate(cast.alice)

    response = client.post(f"/api/components/{component.slug}/sync/")

    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert wait_for(
        lambda: client.get(response["Location"]).json()["status"] == "succeeded", timeout=60
    ), GitJob.objects.values("status", "errors").first()
    job = client.get(response["Location"]).json()
    assert job["attempts"] == 1 and job["sync"]["status"] == "export_pending"
    assert SyncState.objects.filter(component=component).count() == 1


def test_a_signed_push_webhook_has_the_worker_rescan_the_new_commit(worker, make_repo, settings):
    """The forge's request is answered once the delivery is logged; the worker re-pins
    the submission to the pushed commit and scans it."""
    from django.test import Client

    from integrations.models import HookDelivery
    from integrations.services import hook_rotate
    from scans.enums import ScanStatus
    from scans.models import ScanRun
    from tests.integrations.forge import headers_for, push_body, send

    settings.GATEHOUSE_SCAN_ON_SUBMIT = True
    cast = World()
    repo = make_repo()
    submission = submit(cast, repo)
    hook, secret = hook_rotate(repository=submission.repository, actor=cast.alice)
    head = repo.commit({"core/later.py": "LATER = 1\n"}, "later")
    body = push_body(after=head)

    response = send(Client(), hook.path("github"), body, headers_for("github", secret, body))

    assert response.status_code == 202
    assert wait_for(
        lambda: ScanRun.objects.filter(commit=head, status=ScanStatus.DONE).exists(), timeout=60
    ), HookDelivery.objects.values("status", "triggered").first()
    submission.refresh_from_db()
    assert submission.commit == head
    assert HookDelivery.objects.get(hook=hook).status == "done"
