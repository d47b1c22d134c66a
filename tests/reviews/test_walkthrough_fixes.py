"""The walk-through's findings (issue 10), each pinned by a test that failed before."""

from __future__ import annotations

import re

from django.urls import reverse

from governance.models import Component
from reviews.enums import SubmissionState
from reviews.models import Submission
from reviews.services import submission_withdraw
from tests.conftest import PASSWORD, approve, submit
from tests.reviews.test_views import form_data


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _row(html: str, name: str) -> str:
    match = re.search(rf"<tr><td><a [^>]*>{re.escape(name)}</a>.*?</tr>", html, re.S)
    assert match, f"no row for {name}"
    return match.group(0)


def _cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]


def test_component_list_counts_submissions_not_tickets(client, world, repo):
    submission = submit(world, repo)
    approve(submission.tickets.get(department__slug="technical"), world.reviewers["technical"])
    login(client, world.admin)

    cells = _cells(_row(client.get(reverse("governance:components")).content.decode(), "Mq Core"))

    assert cells[-2:] == ["1", "3"]  # one submission (four tickets); three still open


def test_component_list_does_not_count_a_withdrawn_submissions_tickets_as_open(client, world, repo):
    submission = submit(world, repo)
    submission_withdraw(submission=submission, actor=world.alice, reason="Not yet.")
    login(client, world.admin)

    cells = _cells(_row(client.get(reverse("governance:components")).content.decode(), "Mq Core"))

    assert cells[-2:] == ["1", "0"]


def test_withdrawn_submissions_tickets_do_not_read_needs_review(client, world, repo):
    submission = submit(world, repo)
    submission_withdraw(submission=submission, actor=world.alice, reason="Not yet.")
    ticket = submission.tickets.get(department__slug="security")
    login(client, world.admin)

    pages = [
        submission.get_absolute_url(),
        ticket.get_absolute_url(),
        submission.component.get_absolute_url(),
        reverse("reviews:submissions"),
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert "Needs review" not in html, url
        assert "withdrawn" in html.lower(), url


def test_submit_form_keeps_each_path_hint_with_its_field(client, world):
    login(client, world.alice)
    html = client.get(reverse("reviews:submit")).content.decode()

    for testid, name, hint in (
        ("open-paths-group", "open_paths", "Globs that go public"),
        ("internal-paths-group", "internal_paths", "Globs that never leave"),
    ):
        group = re.search(rf'<div data-testid="{testid}">(.*?)</textarea>', html, re.S)
        assert group, testid
        assert hint in group.group(1) and f'name="{name}"' in group.group(1)
        other = "Globs that never leave" if name == "open_paths" else "Globs that go public"
        assert other not in group.group(1)


def test_submitting_again_with_other_paths_is_refused_with_where_to_change_them(
    client, world, repo
):
    first = submit(world, repo)
    submission_withdraw(submission=first, actor=world.alice, reason="Paths were wrong.")
    component = Component.objects.get(slug="mq-core")
    before = list(component.open_paths)
    login(client, world.alice)

    response = client.post(
        reverse("reviews:submit"),
        form_data(repo, component=component.pk, name="", slug="", license="",
                  open_paths="core/**\ndocs/**", internal_paths="sharding/**"),
    )  # fmt: skip

    assert response.status_code == 400
    html = response.content.decode()
    assert "Submitting does not change the open paths of Mq Core" in html
    assert reverse("reviews:component-scope", args=["mq-core"]) in html
    assert Submission.objects.count() == 1
    component.refresh_from_db()
    assert component.open_paths == before


def test_submitting_again_with_the_same_or_no_paths_goes_through(client, world, repo):
    first = submit(world, repo)
    submission_withdraw(submission=first, actor=world.alice, reason="Try again.")
    component = Component.objects.get(slug="mq-core")
    login(client, world.alice)

    response = client.post(
        reverse("reviews:submit"),
        form_data(repo, component=component.pk, name="", slug="", license="",
                  open_paths="\n".join(component.open_paths), internal_paths=""),
    )  # fmt: skip

    assert response.status_code == 302
    assert Submission.objects.filter(state=SubmissionState.IN_REVIEW).count() == 1


def test_timeline_shows_actions_in_words_not_codes(client, world, repo):
    submission = submit(world, repo)
    approve(submission.tickets.get(department__slug="technical"), world.reviewers["technical"])
    login(client, world.admin)

    html = client.get(submission.component.get_absolute_url()).content.decode()
    shown = re.sub(r"<[^>]+>", " ", html)  # attributes (data-action) may keep the code

    assert "approved" in shown
    for code in ("signoff.approve", "submission.created", "ticket.state_changed", "in_review"):
        assert code not in shown, code
