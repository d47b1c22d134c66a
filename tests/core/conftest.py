import pytest

from core.models import AuditEvent
from tests.conftest import approve, submit


@pytest.fixture
def audited(world, repo):
    """A real workflow's events: a submission and one approval."""
    submission = submit(world, repo)
    approve(submission.tickets.get(department__slug="legal"), world.reviewers["legal"])
    assert AuditEvent.objects.count() >= 5
    return submission


@pytest.fixture
def own_broker(settings, tmp_path):
    """The file-system broker in folders of this test's own (Redis, where configured, as
    it is)."""
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        queue = tmp_path / "celery" / "queue"
        queue.mkdir(parents=True)
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
            "data_folder_in": str(queue), "data_folder_out": str(queue),
            "processed_folder": str(tmp_path / "celery" / "processed"), "store_processed": False,
            "control_folder": str(tmp_path / "celery" / "control"),
        }  # fmt: skip
