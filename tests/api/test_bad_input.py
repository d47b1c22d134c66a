"""Whatever a client sends, the answer is a 4xx with a body, never a 500, and nothing is
written."""

import itertools

import pytest

from core.models import AuditEvent
from governance.models import Component
from reviews.models import Comment, SignOff, Submission
from tests.api.conftest import counts
from tests.conftest import submit

ODD_VALUES = [
    None,
    True,
    -1,
    10**30,
    1.5,
    "",
    "x" * 20_000,
    "\x00",
    [],
    ["a"],
    {},
    {"a": 1},
    [{"question": None, "answer": None}],
]

ODD_BODIES = [
    ("application/json", "[" * 100_000),  # deeper than Python's recursion limit
    ("application/json", "1e999999"),
    ("application/json", '{"decision": "approve"'),
    ("application/x-www-form-urlencoded", "answers=foo&decision=approve"),
    ("multipart/form-data; boundary=x", "--x\r\n"),
    ("text/plain", "approve"),
]


@pytest.fixture
def endpoints(world, repo):
    submission = submit(world, repo)
    ticket = submission.tickets.select_related("department").first()
    return [
        (world.alice, "/api/components/", ["name", "slug", "license", "open_paths"]),
        (
            world.alice,
            "/api/submissions/",
            ["component", "repository_url", "branch", "justification"],
        ),
        (world.alice, f"/api/submissions/{submission.pk}/resubmit/", ["response"]),
        (
            world.reviewers[ticket.department.slug],
            f"/api/tickets/{ticket.pk}/signoff/",
            ["decision", "comment", "commit", "answers"],
        ),
    ]


def test_odd_values_in_any_field_are_4xx_and_write_nothing(api, endpoints):
    before = counts(Component, Submission, SignOff, Comment, AuditEvent)
    for user, url, fields in endpoints:
        client = api(user)
        for field, value in itertools.product(fields, ODD_VALUES):
            body = dict.fromkeys(fields, "x") | {field: value}
            response = client.post(url, body, format="json")
            assert 400 <= response.status_code < 500, (url, field, value)
            assert response.json()
    assert counts(Component, Submission, SignOff, Comment, AuditEvent) == before


@pytest.mark.parametrize(("content_type", "raw"), ODD_BODIES)
def test_odd_bodies_are_4xx(api, endpoints, content_type, raw):
    for user, url, _ in endpoints:
        response = api(user).post(url, raw, content_type=content_type)
        assert 400 <= response.status_code < 500, (url, content_type)


@pytest.mark.parametrize(
    "query",
    ["?limit=abc", "?limit=0", "?limit=999999999999999999999", "?offset=999999999999999999999"],
)
def test_odd_paging_is_not_an_error(world, repo, api, query):
    submit(world, repo)
    for url in ["/api/components/", "/api/submissions/", "/api/tickets/"]:
        response = api(world.admin).get(url + query)
        assert response.status_code == 200, (url, query)
        assert len(response.json()["results"]) <= 500
