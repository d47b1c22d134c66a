import pytest

from core.models import AuditEvent
from governance.enums import Stage
from governance.models import Component, Repository
from reviews.enums import Decision, SignOffStatus, SubmissionState, TicketState
from reviews.models import Comment, ReviewTicket, SignOff, Submission
from reviews.services import signoff_create
from tests.api.conftest import counts, tickets_by_slug
from tests.conftest import approve, submit

COMPONENT = {
    "name": "MQ Core",
    "slug": "mq-core",
    "license": "Apache-2.0",
    "open_paths": ["core/**"],
    "internal_paths": ["sharding/**"],
}


@pytest.fixture
def component(world, api):
    response = api(world.alice).post("/api/components/", COMPONENT, format="json")
    assert response.status_code == 201
    return Component.objects.get(slug="mq-core")


def submission_body(repo, **change):
    return {
        "component": "mq-core",
        "repository_url": repo.url,
        "branch": "main",
        "justification": "Customers ask for the client library.",
        **change,
    }


def test_submit_pins_branch_head_and_opens_a_ticket_per_department(world, repo, api, component):
    response = api(world.alice).post("/api/submissions/", submission_body(repo), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    submission = Submission.objects.get()
    assert body["id"] == submission.pk
    assert body["component"] == "mq-core"
    assert body["repository_url"] == repo.url
    assert body["branch"] == "main"
    assert body["commit"] == repo.head()
    assert body["previous_commit"] == ""
    assert body["state"] == SubmissionState.IN_REVIEW
    assert body["submitted_by"] == "alice"
    assert body["justification"] == "Customers ask for the client library."
    assert [(t["department"], t["state"]) for t in body["tickets"]] == [
        ("technical", "open"),
        ("compliance", "open"),
        ("legal", "open"),
        ("security", "open"),
    ]
    assert {t["id"] for t in body["tickets"]} == set(
        submission.tickets.values_list("pk", flat=True)
    )
    component.refresh_from_db()
    assert component.stage == Stage.IN_REVIEW
    detail = api(world.alice).get("/api/components/mq-core/").json()
    assert detail["internal_repository"] == repo.url


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"branch": "no-such-branch"}, "branch"),
        ({"branch": "--upload-pack=x"}, "branch"),
        ({"branch": "a..b"}, "branch"),
        ({"repository_url": "ext::sh -c x"}, "repository_url"),
        ({"repository_url": "--upload-pack=x"}, "repository_url"),
        ({"repository_url": "https://u:p@host/x"}, "repository_url"),
        ({"repository_url": "file:///etc/"}, "repository_url"),
        ({"repository_url": "git@host:org/repo.git"}, "repository_url"),
        ({"repository_url": "https://h/" + "x" * 600}, "repository_url"),
        ({"repository_url": ["https://h/x"]}, "repository_url"),
        ({"justification": ""}, "justification"),
        ({"justification": "   "}, "justification"),
        ({"justification": "x" * 1_000_000}, "justification"),
        ({"component": "no-such"}, "component"),
        ({"component": ["mq-core"]}, "component"),
        ({"component": None}, "component"),
    ],
)
def test_bad_submission_is_400_on_the_field_and_writes_nothing(
    world, repo, api, component, change, field
):
    before = counts(Submission, ReviewTicket, Component, Repository, AuditEvent)

    response = api(world.alice).post(
        "/api/submissions/", submission_body(repo, **change), format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field], body
    assert body[field] and all(isinstance(m, str) for m in body[field])
    assert counts(Submission, ReviewTicket, Component, Repository, AuditEvent) == before
    component.refresh_from_db()
    assert component.stage == Stage.DRAFT


def test_a_component_you_cannot_see_reads_as_no_such_component(world, repo, api, component):
    response = api(world.bob).post("/api/submissions/", submission_body(repo), format="json")

    assert response.status_code == 400
    assert response.json() == {"component": ["No such component: 'mq-core'."]}
    assert not Submission.objects.exists()


def test_a_component_you_see_but_do_not_own_is_403_with_the_reason(world, repo, api):
    # Tina reviews mq-core, so she sees it; she does not own it.
    submit(world, repo)
    before = counts(Submission, AuditEvent)

    response = api(world.reviewers["technical"]).post(
        "/api/submissions/", submission_body(repo), format="json"
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "Only the component's owners can submit it for review."}
    assert counts(Submission, AuditEvent) == before


def test_second_live_submission_of_a_component_is_400(world, repo, api):
    first = submit(world, repo)

    response = api(world.alice).post("/api/submissions/", submission_body(repo), format="json")

    assert response.status_code == 400
    assert f"#{first.pk}" in response.json()["component"][0]
    assert Submission.objects.count() == 1


def test_admin_may_submit_any_component(world, repo, api, component):
    response = api(world.admin).post("/api/submissions/", submission_body(repo), format="json")

    assert response.status_code == 201
    assert response.json()["submitted_by"] == "admin"


def test_refresh_after_the_branch_moved_makes_signoffs_stale(world, repo, api):
    submission = submit(world, repo)
    legal = tickets_by_slug(submission)["legal"]
    approve(legal, world.reviewers["legal"])
    old = repo.head()
    new = repo.commit({"core/api.py": "x = 2\n"}, "fix")

    response = api(world.alice).post(f"/api/submissions/{submission.pk}/refresh/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["moved"] is True
    assert (body["old_commit"], body["new_commit"]) == (old, new)
    assert body["stale_signoffs"] == 1
    assert (body["commit"], body["previous_commit"]) == (new, old)
    assert {t["state"] for t in body["tickets"]} == {TicketState.OPEN}
    assert SignOff.objects.get().status == SignOffStatus.STALE
    legal.refresh_from_db()
    assert legal.state == TicketState.OPEN


def test_refresh_of_an_unmoved_branch_changes_nothing(world, repo, api):
    submission = submit(world, repo)
    before = counts(AuditEvent)

    body = api(world.alice).post(f"/api/submissions/{submission.pk}/refresh/").json()

    assert body["moved"] is False
    assert body["old_commit"] == body["new_commit"] == repo.head()
    assert body["stale_signoffs"] == 0
    assert counts(AuditEvent) == before


def test_resubmit_answers_requested_changes(world, repo, api):
    submission = submit(world, repo)
    security = tickets_by_slug(submission)["security"]
    signoff_create(
        ticket=security,
        actor=world.reviewers["security"],
        decision=Decision.REQUEST_CHANGES,
        comment="Rotate the key in config/dev.yaml.",
    )
    new = repo.commit({"config/dev.yaml": "key: ${KEY}\n"}, "use env var")
    url = f"/api/submissions/{submission.pk}/resubmit/"

    empty = api(world.alice).post(url, {"response": "  "}, format="json")
    assert empty.status_code == 400
    assert "response" in empty.json()
    missing = api(world.alice).post(url, {}, format="json")
    assert missing.status_code == 400

    response = api(world.alice).post(url, {"response": "Key rotated."}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == SubmissionState.IN_REVIEW
    assert body["moved"] is True and body["commit"] == new
    assert Comment.objects.filter(body="Key rotated.", author=world.alice).exists()

    again = api(world.alice).post(url, {"response": "Again."}, format="json")
    assert again.status_code == 400
    assert "requested changes" in again.json()["non_field_errors"][0]


def test_reviewer_cannot_refresh_and_is_told_why(world, repo, api):
    submission = submit(world, repo)

    response = api(world.reviewers["legal"]).post(f"/api/submissions/{submission.pk}/refresh/")

    assert response.status_code == 403
    assert "Only the submitter" in response.json()["detail"]


@pytest.mark.parametrize("path", ["abc", "1.5", "-1", "9" * 30, "0"])
def test_odd_ids_are_404(world, api, path):
    assert api(world.admin).get(f"/api/submissions/{path}/").status_code == 404
    assert api(world.admin).get(f"/api/tickets/{path}/").status_code == 404
