"""Who may press which button: each role against each action of the submission and
ticket pages, with the database checked after every request."""

import pytest
from django.urls import reverse

from reviews.enums import SubmissionState
from reviews.models import Comment, SignOff, Submission
from tests.conftest import PASSWORD, submit

ALLOWED = {
    # action: roles that may do it (everyone else gets a 404, or the refusal shown)
    "refresh": {"alice", "admin"},
    "withdraw": {"alice", "admin"},
    "decide": {"leo"},
    "comment": {"alice", "leo", "admin"},
}
ROLES = ["alice", "bob", "leo", "sam", "admin"]


def user_named(world, name):
    return {"alice": world.alice, "bob": world.bob, "admin": world.admin,
            **{u.username: u for u in world.reviewers.values()}}[name]  # fmt: skip


def state_of(submission):
    return (
        Submission.objects.get(pk=submission.pk).state,
        SignOff.objects.count(),
        Comment.objects.count(),
        Submission.objects.get(pk=submission.pk).commit_moved_at,
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(ALLOWED))
def test_page_action_matrix(client, world, repo, role, action):
    submission = submit(world, repo)
    legal = submission.tickets.get(department__slug="legal")
    repo.commit({"core/api.py": "x = 5\n"}, "moved")  # so a refresh has something to do
    assert client.login(username=role, password=PASSWORD)
    before = state_of(submission)
    questions = legal.department.questions.all()
    url, data = {
        "refresh": (reverse("reviews:submission-refresh", args=[submission.pk]), {}),
        "withdraw": (reverse("reviews:submission-withdraw", args=[submission.pk]),
                     {"reason": "Not now."}),
        "decide": (legal.get_absolute_url(),
                   {"decision": "approve", "commit": submission.commit,
                    **{f"q_{q.pk}": "yes" for q in questions}}),
        "comment": (reverse("reviews:ticket-comment", args=[legal.pk]), {"body": "Looks fine."}),
    }[action]  # fmt: skip

    response = client.post(url, data)

    after = state_of(submission)
    if role in ALLOWED[action]:
        assert response.status_code == 302
        assert after != before
        if action == "withdraw":
            assert after[0] == SubmissionState.WITHDRAWN
    else:
        assert response.status_code in (302, 400, 404)
        assert after == before
