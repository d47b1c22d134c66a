"""List endpoints cost the same number of queries whatever the number of rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviews.enums import Decision
from reviews.services import signoff_create
from tests.api.conftest import tickets_by_slug
from tests.conftest import approve, submit


def add_submissions(world, make_repo, numbers):
    for n in numbers:
        # A repository belongs to one component: each gets its own.
        submission = submit(world, make_repo(), slug=f"component-{n}")
        tickets = tickets_by_slug(submission)
        # Sign-offs and a second owner, so every related list the pages show has rows.
        approve(tickets["legal"], world.reviewers["legal"])
        signoff_create(
            ticket=tickets["security"],
            actor=world.reviewers["security"],
            decision=Decision.REQUEST_CHANGES,
            comment="Rotate the key.",
        )


def count_queries(client, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.json()["count"]


@pytest.mark.parametrize("url", ["/api/submissions/", "/api/tickets/", "/api/components/"])
@pytest.mark.parametrize("role", ["admin", "legal reviewer", "alice"])
def test_list_query_count_does_not_grow_with_rows(world, make_repo, api, url, role):
    user = {"admin": world.admin, "legal reviewer": world.reviewers["legal"]}.get(role, world.alice)
    client = api(user)
    add_submissions(world, make_repo, range(2))
    # Warm the per-process caches (content types) so both sizes measure the same thing.
    client.get(url)
    small, small_rows = count_queries(client, url)

    add_submissions(world, make_repo, range(2, 6))
    large, large_rows = count_queries(client, url)

    assert large_rows > small_rows > 0
    assert large == small
