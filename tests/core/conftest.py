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
