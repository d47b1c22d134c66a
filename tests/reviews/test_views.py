import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.models import AuditEvent
from governance.models import Component
from reviews.enums import SubmissionState, TicketState
from reviews.models import SignOff, Submission
from tests.conftest import PASSWORD, approve, submit


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def form_data(repo, **overrides):
    data = {
        "component": "",
        "name": "Message Queue Core",
        "slug": "mq-core",
        "description": "The broker core.",
        "license": "apache-2.0",
        "open_paths": "core/**\napi/**",
        "internal_paths": "sharding/**",
        "repository_url": repo.url,
        "branch": "main",
        "justification": "Partners want to run the broker themselves.",
    }
    data.update(overrides)
    return data


def test_submit_form_creates_component_submission_and_tickets(client, world, repo):
    login(client, world.alice)
    response = client.post(reverse("reviews:submit"), form_data(repo))

    submission = Submission.objects.get()
    assert response.status_code == 302 and response["Location"] == submission.get_absolute_url()
    assert submission.commit == repo.head()
    component = Component.objects.get(slug="mq-core")
    assert component.license == "Apache-2.0"
    assert component.open_paths == ["core/**", "api/**"]
    page = client.get(submission.get_absolute_url()).content.decode()
    assert repo.head() in page and "Security" in page and "Needs review" in page


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"branch": "nope"}, "branch", "does not exist"),
        ({"branch": "--upload-pack=x"}, "branch", ""),
        ({"repository_url": "ext::sh -c touch% /tmp/pwned"}, "repository_url", ""),
        ({"repository_url": "--upload-pack=touch /tmp/x"}, "repository_url", ""),
        ({"repository_url": "https://user:secret@example.com/x.git"}, "repository_url", ""),
        ({"repository_url": "file:///etc"}, "repository_url", ""),
        ({"license": "Apache2"}, "license", "Unknown SPDX"),
        ({"license": "MIT AND ("}, "license", "not a valid SPDX"),
        ({"justification": "   "}, "justification", "required"),
        ({"open_paths": "/etc/**"}, "open_paths", "relative"),
        ({"open_paths": "../x/**"}, "open_paths", ".."),
    ],
)
def test_bad_submit_input_shows_form_error_and_writes_nothing(
    client, world, repo, overrides, field, message
):
    login(client, world.alice)
    events = AuditEvent.objects.count()
    response = client.post(reverse("reviews:submit"), form_data(repo, **overrides))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert not Component.objects.exists() and not Submission.objects.exists()
    assert AuditEvent.objects.count() == events


def test_reviewer_signs_off_in_the_ticket_page(client, world, repo):
    submission = submit(world, repo)
    ticket = submission.tickets.get(department__slug="security")
    login(client, world.reviewers["security"])
    page = client.get(ticket.get_absolute_url())
    assert page.status_code == 200
    questions = page.context["decision_form"].questions
    data = {"decision": "approve", "comment": "", "commit": submission.commit}
    data.update({f"q_{q.pk}": "yes" for q in questions})

    response = client.post(ticket.get_absolute_url(), data)

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == TicketState.APPROVED
    assert SignOff.objects.get().commit == submission.commit


def test_request_changes_without_comment_is_a_form_error(client, world, repo):
    submission = submit(world, repo)
    ticket = submission.tickets.get(department__slug="legal")
    login(client, world.reviewers["legal"])
    response = client.post(
        ticket.get_absolute_url(), {"decision": "request_changes", "commit": submission.commit}
    )
    assert response.status_code == 400
    assert "comment is required" in response.content.decode()
    assert not SignOff.objects.exists()


def test_submitter_sees_reason_instead_of_decision_form(client, world, repo):
    world.alice.groups.add(world.group("legal"))
    submission = submit(world, repo)
    ticket = submission.tickets.get(department__slug="legal")
    login(client, world.alice)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "someone else has to review it" in page
    response = client.post(
        ticket.get_absolute_url(), {"decision": "approve", "commit": submission.commit}
    )
    assert response.status_code == 400
    assert not SignOff.objects.exists()


@pytest.mark.parametrize(
    ("who", "submission_page", "ticket_page"),
    [
        ("alice", 200, 200),  # submitter: sees everything of her submission
        ("bob", 404, 404),  # another engineer sees nothing
        ("sam", 200, 404),  # security reviewer: the submission, not legal's ticket
        ("leo", 200, 200),  # legal reviewer: his ticket
        ("admin", 200, 200),
    ],
)
def test_page_permissions(client, world, repo, who, submission_page, ticket_page):
    submission = submit(world, repo)
    legal = submission.tickets.get(department__slug="legal")
    users = {
        "alice": world.alice,
        "bob": world.bob,
        "admin": world.admin,
        **{u.username: u for u in world.reviewers.values()},
    }
    login(client, users[who])
    assert client.get(submission.get_absolute_url()).status_code == submission_page
    assert client.get(legal.get_absolute_url()).status_code == ticket_page
    listed = list(client.get(reverse("reviews:submissions")).context["submissions"])
    assert (submission in listed) == (submission_page == 200)


def test_queue_lists_only_own_department_oldest_first(client, world, make_repo):
    first = submit(world, make_repo(), slug="first")
    second = submit(world, make_repo(), slug="second")
    login(client, world.reviewers["legal"])
    tickets = client.get(reverse("reviews:queue")).context["tickets"]
    assert [t.submission_id for t in tickets] == [first.pk, second.pk]
    assert {t.department.slug for t in tickets} == {"legal"}


def test_refresh_button_shows_what_moved(client, world, repo):
    submission = submit(world, repo)
    approve(submission.tickets.get(department__slug="legal"), world.reviewers["legal"])
    old = submission.commit
    new = repo.commit({"core/api.py": "x = 9\n"}, "move")
    login(client, world.alice)

    response = client.post(reverse("reviews:submission-refresh", args=[submission.pk]), follow=True)

    page = response.content.decode()
    assert f"moved from {old[:10]} to {new[:10]}" in page
    assert "1 sign-off(s) went stale" in page
    submission.refresh_from_db()
    assert submission.commit == new


def test_resubmit_form_answers_requested_changes(client, world, repo):
    from reviews.services import signoff_create

    submission = submit(world, repo)
    ticket = submission.tickets.get(department__slug="security")
    signoff_create(
        ticket=ticket,
        actor=world.reviewers["security"],
        decision="request_changes",
        comment="Remove the token.",
    )
    login(client, world.alice)
    url = reverse("reviews:submission-resubmit", args=[submission.pk])
    assert client.post(url, {"response": ""}).status_code == 400
    response = client.post(url, {"response": "Token removed."})
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.state == SubmissionState.IN_REVIEW


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_queue_and_lists_query_count_does_not_grow(client, world, make_repo):
    login(client, world.reviewers["legal"])
    for i in range(2):
        submit(world, make_repo(), slug=f"small-{i}")
    urls = [
        reverse("reviews:queue"),
        reverse("reviews:submissions"),
        reverse("inbox"),
        reverse("governance:components"),
    ]
    [_count_queries(client, url) for url in urls]  # warm caches (content types)
    small = [_count_queries(client, url) for url in urls]
    for i in range(6):
        submit(world, make_repo(), slug=f"large-{i}")
    large = [_count_queries(client, url) for url in urls]
    assert small == large


def test_submission_and_ticket_pages_query_count_does_not_grow(client, world, make_repo):
    legal = world.departments["legal"]
    legal.quorum = 5
    legal.save()
    extra = [world.add_reviewer(f"lawyer{i}", "legal") for i in range(4)]
    submission = submit(world, make_repo())
    ticket = submission.tickets.get(department__slug="legal")
    login(client, world.admin)
    urls = [
        submission.get_absolute_url(),
        ticket.get_absolute_url(),
        submission.component.get_absolute_url(),
    ]
    approve(ticket, extra[0])
    [_count_queries(client, url) for url in urls]  # warm caches (content types)
    small = [_count_queries(client, url) for url in urls]
    for reviewer in extra[1:]:
        approve(ticket, reviewer)
    large = [_count_queries(client, url) for url in urls]
    assert small == large


def test_component_page_shows_audit_timeline(client, world, repo):
    submission = submit(world, repo)
    login(client, world.alice)
    page = client.get(submission.component.get_absolute_url()).content.decode()
    assert "component.created" in page and "submission.created" in page


def test_anonymous_is_sent_to_login(client, world):
    response = client.get(reverse("reviews:queue"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_htmx_comment_returns_the_comment_list_fragment(client, world, repo):
    submission = submit(world, repo)
    ticket = submission.tickets.get(department__slug="legal")
    login(client, world.reviewers["legal"])
    url = reverse("reviews:ticket-comment", args=[ticket.pk])

    response = client.post(
        url, {"body": "Which CLA covers the contractors?"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="ticket-comments">')
    assert "Which CLA covers the contractors?" in body and "<html" not in body

    empty = client.post(url, {"body": ""}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 200 and "This field is required" in empty.content.decode()
    assert ticket.comments.count() == 1


def test_queue_and_submission_list_are_paged(client, world, make_repo, monkeypatch):
    from reviews import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    made = [submit(world, make_repo(), slug=f"paged-{i}") for i in range(3)]
    login(client, world.reviewers["legal"])

    first = client.get(reverse("reviews:queue"))
    second = client.get(reverse("reviews:queue"), {"page": 2})
    assert [t.submission_id for t in first.context["tickets"]] == [made[0].pk, made[1].pk]
    assert [t.submission_id for t in second.context["tickets"]] == [made[2].pk]
    assert "Page 1 of 2 (3 in all)" in first.content.decode()

    listed = client.get(reverse("reviews:submissions"), {"page": 2, "state": "in_review"})
    assert [s.pk for s in listed.context["submissions"]] == [made[0].pk]
    assert "state=in_review&amp;page=1" in listed.content.decode()
