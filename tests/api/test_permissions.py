"""Who sees and does what through the API: the same answers the services and selectors
give, with 404 for what a caller may not see and 403 (with the reason) for what they
see but may not do."""

import pytest
from rest_framework.test import APIClient

from core.models import AuditEvent
from core.tokens import token_create
from governance.models import Component
from reviews.models import SignOff, Submission
from tests.api.conftest import counts, tickets_by_slug, yes_to_everything
from tests.conftest import submit

DEPARTMENTS = ["technical", "compliance", "legal", "security"]


@pytest.fixture
def two_submissions(world, make_repo):
    """Alice's mq-core and Bob's kv-store, both in review."""
    mine = submit(world, make_repo(), actor=world.alice, slug="mq-core")
    theirs = submit(world, make_repo(), actor=world.bob, slug="kv-store")
    return {"alice": mine, "bob": theirs}


def actor(world, role):
    return {
        "alice": world.alice,
        "bob": world.bob,
        "legal reviewer": world.reviewers["legal"],
        "security reviewer": world.reviewers["security"],
        "admin": world.admin,
    }[role]


# What each role may see of the two submissions, and what each action on Alice's
# submission (and its legal ticket) answers.
ROLES = {
    "alice": {
        "submissions": {"alice"},
        "tickets": {("alice", d) for d in DEPARTMENTS},
        "get_submission": 200,
        "get_ticket": 200,
        "signoff": 403,  # she submitted it, and she reviews for no department
        "refresh": 200,
    },
    "bob": {
        "submissions": {"bob"},
        "tickets": {("bob", d) for d in DEPARTMENTS},
        "get_submission": 404,
        "get_ticket": 404,
        "signoff": 404,
        "refresh": 404,
    },
    "legal reviewer": {
        "submissions": {"alice", "bob"},
        "tickets": {("alice", "legal"), ("bob", "legal")},
        "get_submission": 200,
        "get_ticket": 200,
        "signoff": 201,
        "refresh": 403,
    },
    "security reviewer": {
        "submissions": {"alice", "bob"},
        "tickets": {("alice", "security"), ("bob", "security")},
        "get_submission": 200,
        "get_ticket": 404,
        "signoff": 404,
        "refresh": 403,
    },
    "admin": {
        "submissions": {"alice", "bob"},
        "tickets": {(owner, d) for owner in ("alice", "bob") for d in DEPARTMENTS},
        "get_submission": 200,
        "get_ticket": 200,
        "signoff": 403,
        "refresh": 200,
    },
}
ACTIONS = [
    "list_submissions",
    "get_submission",
    "list_tickets",
    "get_ticket",
    "signoff",
    "refresh",
]


def matrix():
    for role in ROLES:
        for name in ACTIONS:
            yield pytest.param(role, name, id=f"{role}-{name}")


@pytest.mark.parametrize(("role", "action_name"), list(matrix()))
def test_permission_matrix(world, api, two_submissions, role, action_name):
    expected = ROLES[role]
    client = api(actor(world, role))
    submission = two_submissions["alice"]
    ticket = tickets_by_slug(submission)["legal"]
    ticket_ids = {
        (owner, slug): t.pk
        for owner, s in two_submissions.items()
        for slug, t in tickets_by_slug(s).items()
    }

    if action_name == "list_submissions":
        response = client.get("/api/submissions/")
        assert response.status_code == 200
        assert {s["id"] for s in response.json()["results"]} == {
            two_submissions[owner].pk for owner in expected["submissions"]
        }
    elif action_name == "list_tickets":
        response = client.get("/api/tickets/")
        assert response.status_code == 200
        assert {t["id"] for t in response.json()["results"]} == {
            ticket_ids[key] for key in expected["tickets"]
        }
    elif action_name == "get_submission":
        response = client.get(f"/api/submissions/{submission.pk}/")
        assert response.status_code == expected["get_submission"]
        if response.status_code == 200:
            assert response.json()["id"] == submission.pk
    elif action_name == "get_ticket":
        response = client.get(f"/api/tickets/{ticket.pk}/")
        assert response.status_code == expected["get_ticket"]
        if response.status_code == 200:
            assert response.json()["department"] == "legal"
    elif action_name == "signoff":
        response = client.post(
            f"/api/tickets/{ticket.pk}/signoff/",
            {
                "decision": "approve",
                "commit": submission.commit,
                "answers": yes_to_everything(ticket),
            },
            format="json",
        )
        assert response.status_code == expected["signoff"], response.json()
        assert SignOff.objects.count() == (1 if response.status_code == 201 else 0)
        if response.status_code == 403:
            assert response.json()["detail"]
    elif action_name == "refresh":
        response = client.post(f"/api/submissions/{submission.pk}/refresh/")
        assert response.status_code == expected["refresh"]
        if response.status_code == 200:
            assert response.json()["moved"] is False


@pytest.mark.parametrize("department", DEPARTMENTS)
def test_each_reviewer_sees_and_signs_only_their_departments_ticket(world, api, repo, department):
    submission = submit(world, repo)
    tickets = tickets_by_slug(submission)
    client = api(world.reviewers[department])

    listed = client.get("/api/tickets/").json()["results"]
    assert [t["id"] for t in listed] == [tickets[department].pk]
    for slug, ticket in tickets.items():
        if slug == department:
            continue
        assert client.get(f"/api/tickets/{ticket.pk}/").status_code == 404
        refused = client.post(
            f"/api/tickets/{ticket.pk}/signoff/",
            {"decision": "approve", "answers": yes_to_everything(ticket)},
            format="json",
        )
        assert refused.status_code == 404
    signed = client.post(
        f"/api/tickets/{tickets[department].pk}/signoff/",
        {"decision": "approve", "answers": yes_to_everything(tickets[department])},
        format="json",
    )
    assert signed.status_code == 201, signed.json()
    assert signed.json()["ticket_state"] == "approved"
    assert list(SignOff.objects.values_list("ticket__department__slug", flat=True)) == [department]


def test_token_authentication(world, api, repo):
    submission = submit(world, repo)
    legal = tickets_by_slug(submission)["legal"]
    _, key = token_create(user=world.reviewers["legal"], name="legal's scripts")
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    listed = client.get("/api/tickets/")
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()["results"]] == [legal.pk]
    signed = client.post(
        f"/api/tickets/{legal.pk}/signoff/",
        {"decision": "approve", "answers": yes_to_everything(legal)},
        format="json",
    )
    assert signed.status_code == 201, signed.json()
    assert signed.json()["reviewer"] == "leo"

    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/tickets/").status_code == 401


def test_session_writes_need_the_csrf_token(world, repo):
    submission = submit(world, repo)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.alice)

    response = client.post(f"/api/submissions/{submission.pk}/refresh/")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/components/"),
        ("post", "/api/components/"),
        ("get", "/api/components/mq-core/"),
        ("get", "/api/submissions/"),
        ("post", "/api/submissions/"),
        ("get", "/api/submissions/{submission}/"),
        ("post", "/api/submissions/{submission}/refresh/"),
        ("post", "/api/submissions/{submission}/resubmit/"),
        ("get", "/api/tickets/"),
        ("get", "/api/tickets/{ticket}/"),
        ("post", "/api/tickets/{ticket}/signoff/"),
    ],
)
def test_anonymous_callers_get_nothing(world, repo, method, path):
    submission = submit(world, repo)
    ticket = submission.tickets.first()
    before = counts(Component, Submission, SignOff, AuditEvent)

    url = path.format(submission=submission.pk, ticket=ticket.pk)
    client = APIClient()
    if method == "post":
        response = client.post(url, {"decision": "approve"}, format="json")
    else:
        response = client.get(url)

    assert response.status_code in (401, 403)
    assert "results" not in response.json()
    assert counts(Component, Submission, SignOff, AuditEvent) == before
