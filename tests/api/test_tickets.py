import pytest

from core.models import AuditEvent
from governance.enums import Stage
from reviews.enums import SignOffStatus, SubmissionState, TicketState
from reviews.models import ChecklistAnswer, SignOff
from reviews.services import submission_refresh
from tests.api.conftest import counts, tickets_by_slug, yes_to_everything
from tests.conftest import approve, submit


def signoff_url(ticket):
    return f"/api/tickets/{ticket.pk}/signoff/"


def test_every_department_approving_through_the_api_approves_the_submission(world, repo, api):
    submission = submit(world, repo)
    tickets = tickets_by_slug(submission)

    responses = []
    for slug, ticket in tickets.items():
        responses.append(
            api(world.reviewers[slug]).post(
                signoff_url(ticket),
                {
                    "decision": "approve",
                    "commit": repo.head(),
                    "comment": "Looks fine.",
                    "answers": yes_to_everything(ticket),
                },
                format="json",
            )
        )

    assert [r.status_code for r in responses] == [201, 201, 201, 201]
    assert [r.json()["submission_state"] for r in responses] == [
        SubmissionState.IN_REVIEW,
        SubmissionState.IN_REVIEW,
        SubmissionState.IN_REVIEW,
        SubmissionState.APPROVED,
    ]
    last = responses[-1].json()
    assert last["ticket"] == tickets["security"].pk
    assert last["ticket_state"] == TicketState.APPROVED
    assert last["submission"] == submission.pk
    assert last["reviewer"] == "sam"
    assert last["decision"] == "approve"
    assert last["commit"] == repo.head()
    assert last["status"] == SignOffStatus.CURRENT
    assert last["comment"] == "Looks fine."
    assert {a["answer"] for a in last["answers"]} == {"yes"}
    submission.refresh_from_db()
    assert submission.state == SubmissionState.APPROVED
    assert submission.component.stage == Stage.APPROVED
    assert SignOff.objects.filter(commit=repo.head(), decision="approve").count() == 4


def test_request_changes_without_a_comment_is_400_and_writes_nothing(world, repo, api):
    submission = submit(world, repo)
    security = tickets_by_slug(submission)["security"]
    before = counts(SignOff, AuditEvent)

    response = api(world.reviewers["security"]).post(
        signoff_url(security), {"decision": "request_changes", "comment": "  "}, format="json"
    )

    assert response.status_code == 400
    assert "comment is required" in response.json()["comment"][0]
    assert counts(SignOff, AuditEvent) == before
    security.refresh_from_db()
    assert security.state == TicketState.OPEN


def test_request_changes_records_answers_notes_and_moves_states(world, repo, api):
    submission = submit(world, repo)
    security = tickets_by_slug(submission)["security"]
    first = security.department.questions.first()

    response = api(world.reviewers["security"]).post(
        signoff_url(security),
        {
            "decision": "request_changes",
            "comment": "Rotate the key in config/dev.yaml.",
            "answers": [{"question": first.pk, "answer": "no", "note": "key in history"}],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["answers"] == [{"question": first.pk, "answer": "no", "note": "key in history"}]
    assert body["ticket_state"] == TicketState.CHANGES_REQUESTED
    assert body["submission_state"] == SubmissionState.CHANGES_REQUESTED
    assert ChecklistAnswer.objects.get().note == "key in history"


def test_signing_a_commit_the_branch_has_moved_from_is_400(world, repo, api):
    submission = submit(world, repo)
    legal = tickets_by_slug(submission)["legal"]
    reviewed = repo.head()
    repo.commit({"core/api.py": "x = 2\n"}, "late change")
    submission_refresh(submission=submission, actor=world.alice)

    response = api(world.reviewers["legal"]).post(
        signoff_url(legal),
        {"decision": "approve", "commit": reviewed, "answers": yes_to_everything(legal)},
        format="json",
    )

    assert response.status_code == 400
    assert "moved" in response.json()["commit"][0]
    assert not SignOff.objects.exists()


def test_the_submitters_decision_is_403_with_the_reason(world, repo, api):
    world.alice.groups.add(world.group("legal"))
    submission = submit(world, repo)
    legal = tickets_by_slug(submission)["legal"]

    response = api(world.alice).post(
        signoff_url(legal),
        {"decision": "approve", "answers": yes_to_everything(legal)},
        format="json",
    )

    assert response.status_code == 403
    assert response.json() == {
        "detail": "You submitted this component; someone else has to review it."
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "lgtm"}, "decision"),
        ({}, "decision"),
        ({"decision": ["approve"]}, "decision"),
        ({"decision": "approve", "answers": {"1": "yes"}}, "answers"),
        ({"decision": "approve", "answers": "yes"}, "answers"),
        ({"decision": "approve", "answers": [1, 2]}, "answers"),
        ({"decision": "approve", "answers": [{"question": "abc", "answer": "yes"}]}, "answers"),
        ({"decision": "approve", "answers": [{"question": 1, "answer": "maybe"}]}, "answers"),
        ({"decision": "approve", "answers": [{"question": 999999, "answer": "yes"}]}, "answers"),
        ({"decision": "approve", "answers": []}, "answers"),  # an approval answers everything
        ({"decision": "approve", "commit": "xyz"}, "commit"),
        ({"decision": "approve", "commit": "a" * 10_000}, "commit"),
        ({"decision": "reject", "comment": "c" * 10_001}, "comment"),
        ({"decision": "reject", "comment": {"text": "no"}}, "comment"),
    ],
)
def test_bad_signoff_bodies_are_400_on_the_field(world, repo, api, body, field):
    submission = submit(world, repo)
    legal = tickets_by_slug(submission)["legal"]
    before = counts(SignOff, ChecklistAnswer, AuditEvent)

    response = api(world.reviewers["legal"]).post(signoff_url(legal), body, format="json")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert counts(SignOff, ChecklistAnswer, AuditEvent) == before


def test_answering_a_question_twice_is_400(world, repo, api):
    submission = submit(world, repo)
    legal = tickets_by_slug(submission)["legal"]
    answers = yes_to_everything(legal)

    response = api(world.reviewers["legal"]).post(
        signoff_url(legal),
        {"decision": "approve", "answers": [*answers, {**answers[0], "answer": "no"}]},
        format="json",
    )

    assert response.status_code == 400
    assert "more than once" in str(response.json()["answers"])


def test_ticket_list_filters_by_state_and_department(world, make_repo, api):
    first = submit(world, make_repo(), slug="mq-core")
    second = submit(world, make_repo(), slug="kv-store")
    approve(tickets_by_slug(first)["legal"], world.reviewers["legal"])
    client = api(world.admin)

    def ids(query):
        response = client.get(f"/api/tickets/{query}")
        assert response.status_code == 200, response.json()
        return [t["id"] for t in response.json()["results"]]

    assert ids("?department=legal") == [
        tickets_by_slug(second)["legal"].pk,
        tickets_by_slug(first)["legal"].pk,
    ]
    assert ids("?state=approved") == [tickets_by_slug(first)["legal"].pk]
    assert ids("?state=open&department=legal") == [tickets_by_slug(second)["legal"].pk]
    assert ids("?department=nonexistent") == []
    assert len(ids("")) == 8
    assert client.get("/api/tickets/?state=bogus").status_code == 400
    assert client.get("/api/tickets/?department=not%20a%20slug").status_code == 400


def test_ticket_detail_shows_signoffs_with_their_status(world, repo, api):
    submission = submit(world, repo)
    legal = tickets_by_slug(submission)["legal"]
    old = repo.head()
    approve(legal, world.reviewers["legal"])
    new = repo.commit({"core/api.py": "x = 3\n"}, "move")
    submission_refresh(submission=submission, actor=world.alice)

    body = api(world.reviewers["legal"]).get(f"/api/tickets/{legal.pk}/").json()

    assert body["id"] == legal.pk
    assert body["submission"] == submission.pk
    assert body["component"] == "mq-core"
    assert body["department"] == "legal"
    assert body["state"] == TicketState.OPEN
    assert body["commit"] == new
    assert [(s["reviewer"], s["decision"], s["commit"], s["status"]) for s in body["signoffs"]] == [
        ("leo", "approve", old, SignOffStatus.STALE)
    ]
