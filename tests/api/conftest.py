import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api():
    """An APIClient logged in (through the session, as a browser would be) as ``user``."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make


def yes_to_everything(ticket) -> list[dict]:
    """The sign-off body's ``answers``: "yes" to every active question of the checklist."""
    return [
        {"question": q.pk, "answer": "yes"}
        for q in ticket.department.questions.filter(is_active=True)
    ]


def tickets_by_slug(submission) -> dict:
    return {t.department.slug: t for t in submission.tickets.select_related("department")}


def counts(*models) -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in models}
