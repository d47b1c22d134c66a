import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from core.models import AuditEvent
from governance.enums import Stage
from governance.models import Component
from notifications.models import Notification
from reviews.enums import Decision, SignOffStatus, SubmissionState, TicketState
from reviews.models import ReviewTicket, SignOff, Submission
from reviews.services import (
    signoff_create,
    submission_refresh,
    submission_resubmit,
    submission_withdraw,
)
from tests.conftest import all_yes, approve, submit


def tickets_by_slug(submission):
    return {t.department.slug: t for t in submission.tickets.select_related("department")}


def test_submit_pins_branch_head_and_opens_one_ticket_per_department(world, repo):
    submission = submit(world, repo)

    assert submission.commit == repo.head()
    assert submission.state == SubmissionState.IN_REVIEW
    assert set(tickets_by_slug(submission)) == {"technical", "compliance", "legal", "security"}
    assert all(t.state == TicketState.OPEN for t in submission.tickets.all())
    component = Component.objects.get(slug="mq-core")
    assert component.stage == Stage.IN_REVIEW
    assert list(component.owners.all()) == [world.alice]


def test_submit_emails_each_departments_reviewers_once(
    world, repo, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit(world, repo)

    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == [
        "cora@example.com",
        "leo@example.com",
        "sam@example.com",
        "tina@example.com",
    ]
    told = Notification.objects.filter(event__action="submission.created")
    assert sorted(n.user.email for n in told) == recipients
    assert all(n.emailed_at for n in told)
    assert submission.tickets.count() == 4
    assert "mq-core".replace("-", " ").title() in mail.outbox[0].subject


def test_every_department_approving_approves_submission_and_component(world, repo):
    submission = submit(world, repo)
    for slug, ticket in tickets_by_slug(submission).items():
        approve(ticket, world.reviewers[slug])

    submission.refresh_from_db()
    assert submission.state == SubmissionState.APPROVED
    assert submission.component.stage == Stage.APPROVED
    assert SignOff.objects.filter(commit=repo.head(), decision=Decision.APPROVE).count() == 4


def test_quorum_of_two_needs_two_distinct_reviewers(world, repo):
    legal = world.departments["legal"]
    legal.quorum = 2
    legal.save()
    second = world.add_reviewer("lena", "legal")
    submission = submit(world, repo)
    ticket = tickets_by_slug(submission)["legal"]

    approve(ticket, world.reviewers["legal"])
    ticket.refresh_from_db()
    assert ticket.state == TicketState.IN_REVIEW

    with pytest.raises(ValidationError, match="already approved"):
        approve(ticket, world.reviewers["legal"])

    approve(ticket, second)
    ticket.refresh_from_db()
    assert ticket.state == TicketState.APPROVED


def test_submitter_and_owner_cannot_sign_off(world, repo):
    # alice submits, bob becomes an owner, both also happen to be legal reviewers
    from governance.services import component_add_owner

    legal_group = world.group("legal")
    world.alice.groups.add(legal_group)
    world.bob.groups.add(legal_group)
    submission = submit(world, repo)
    component_add_owner(component=submission.component, user=world.bob, actor=world.alice)
    ticket = tickets_by_slug(submission)["legal"]

    with pytest.raises(PermissionDenied, match="You submitted"):
        approve(ticket, world.alice)
    with pytest.raises(PermissionDenied, match="own this component"):
        approve(ticket, world.bob)
    assert not SignOff.objects.exists()


def test_one_person_cannot_approve_for_two_departments(world, repo):
    tina = world.reviewers["technical"]
    tina.groups.add(world.group("security"))
    submission = submit(world, repo)
    tickets = tickets_by_slug(submission)

    approve(tickets["technical"], tina)
    with pytest.raises(PermissionDenied, match="one department only"):
        approve(tickets["security"], tina)
    assert tickets["security"].signoffs.count() == 0


def test_reviewer_of_other_department_cannot_sign(world, repo):
    submission = submit(world, repo)
    with pytest.raises(PermissionDenied, match="Only Legal reviewers"):
        approve(tickets_by_slug(submission)["legal"], world.reviewers["security"])


def test_request_changes_needs_comment_then_resubmit_reopens(world, repo):
    submission = submit(world, repo)
    security = tickets_by_slug(submission)["security"]
    sam = world.reviewers["security"]

    with pytest.raises(ValidationError) as excinfo:
        signoff_create(ticket=security, actor=sam, decision=Decision.REQUEST_CHANGES, comment=" ")
    assert "comment" in excinfo.value.message_dict

    signoff_create(
        ticket=security,
        actor=sam,
        decision=Decision.REQUEST_CHANGES,
        comment="Rotate the key in config/dev.yaml and purge it from history.",
    )
    submission.refresh_from_db()
    security.refresh_from_db()
    assert submission.state == SubmissionState.CHANGES_REQUESTED
    assert security.state == TicketState.CHANGES_REQUESTED

    with pytest.raises(ValidationError):
        submission_resubmit(submission=submission, actor=world.alice, response="")
    new_head = repo.commit({"config/dev.yaml": "key: ${KEY}\n"}, "use env var")
    result = submission_resubmit(
        submission=submission, actor=world.alice, response="Key rotated and history rewritten."
    )

    submission.refresh_from_db()
    security.refresh_from_db()
    assert result.moved and submission.commit == new_head
    assert submission.state == SubmissionState.IN_REVIEW
    assert security.state == TicketState.OPEN
    assert submission.comments.filter(body__startswith="Key rotated").exists()


def test_reject_ends_the_submission(world, repo):
    submission = submit(world, repo)
    legal = tickets_by_slug(submission)["legal"]
    signoff_create(
        ticket=legal,
        actor=world.reviewers["legal"],
        decision=Decision.REJECT,
        comment="Contains code licensed from a vendor under NDA.",
    )
    submission.refresh_from_db()
    assert submission.state == SubmissionState.REJECTED
    assert submission.component.stage == Stage.REJECTED

    with pytest.raises(PermissionDenied, match="rejected"):
        approve(tickets_by_slug(submission)["technical"], world.reviewers["technical"])


def test_refresh_after_branch_moves_makes_signoffs_stale(world, repo):
    submission = submit(world, repo)
    tickets = tickets_by_slug(submission)
    for slug in ("technical", "legal"):
        approve(tickets[slug], world.reviewers[slug])
    old = submission.commit

    unchanged = submission_refresh(submission=submission, actor=world.alice)
    assert not unchanged.moved and unchanged.stale_signoffs == 0

    new = repo.commit({"core/api.py": "x = 2\n"}, "more")
    result = submission_refresh(submission=submission, actor=world.alice)

    submission.refresh_from_db()
    assert (result.moved, result.old_commit, result.new_commit) == (True, old, new)
    assert submission.commit == new and submission.previous_commit == old
    assert result.stale_signoffs == 2
    assert SignOff.objects.filter(status=SignOffStatus.STALE).count() == 2
    assert set(ReviewTicket.objects.values_list("state", flat=True)) == {TicketState.OPEN}


def test_refresh_after_approval_returns_to_review(world, repo):
    submission = submit(world, repo)
    for slug, ticket in tickets_by_slug(submission).items():
        approve(ticket, world.reviewers[slug])
    repo.commit({"core/new.py": "y = 1\n"}, "after approval")

    submission_refresh(submission=submission, actor=world.alice)

    submission.refresh_from_db()
    assert submission.state == SubmissionState.IN_REVIEW
    assert submission.component.stage == Stage.IN_REVIEW


def test_decision_against_old_commit_is_refused(world, repo):
    submission = submit(world, repo)
    seen = submission.commit
    repo.commit({"core/api.py": "x = 3\n"}, "moved")
    submission_refresh(submission=submission, actor=world.alice)
    ticket = tickets_by_slug(submission)["technical"]

    with pytest.raises(ValidationError) as excinfo:
        approve(ticket, world.reviewers["technical"], expected_commit=seen)
    assert "moved" in excinfo.value.message_dict["commit"][0]
    assert not SignOff.objects.exists()


def test_approval_requires_complete_checklist_without_no(world, repo):
    submission = submit(world, repo)
    ticket = tickets_by_slug(submission)["security"]
    answers = all_yes(ticket)
    first = next(iter(answers))
    partial = {k: v for k, v in answers.items() if k != first}

    with pytest.raises(ValidationError, match="Answer every checklist question"):
        signoff_create(
            ticket=ticket, actor=world.reviewers["security"], decision="approve", answers=partial
        )
    answers[first] = ("no", "history not reviewed")
    with pytest.raises(ValidationError, match="request changes instead"):
        signoff_create(
            ticket=ticket, actor=world.reviewers["security"], decision="approve", answers=answers
        )


def test_bad_submission_input_writes_nothing(world, repo):
    before = (Component.objects.count(), Submission.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError) as excinfo:
        submit(world, repo, branch="no-such-branch")
    assert "does not exist" in excinfo.value.message_dict["branch"][0]
    with pytest.raises(ValidationError) as excinfo:
        submit(world, repo, license="Apache2")
    assert "license" in excinfo.value.message_dict
    with pytest.raises(ValidationError):
        submit(world, repo, justification="   ")
    after = (Component.objects.count(), Submission.objects.count(), AuditEvent.objects.count())
    assert after == before


def test_second_live_submission_of_a_component_is_refused(world, repo):
    from reviews.services import submission_create

    submission = submit(world, repo)
    with pytest.raises(ValidationError, match="already has submission"):
        submission_create(
            actor=world.alice,
            component=submission.component,
            repository_url=repo.url,
            branch="main",
            justification="again",
        )


def test_withdraw_stops_decisions(world, repo):
    submission = submit(world, repo)
    submission_withdraw(submission=submission, actor=world.alice, reason="Not ready yet.")
    submission.refresh_from_db()
    assert submission.state == SubmissionState.WITHDRAWN
    with pytest.raises(PermissionDenied):
        approve(tickets_by_slug(submission)["legal"], world.reviewers["legal"])


def test_every_state_change_is_audited(world, repo):
    submission = submit(world, repo)
    approve(tickets_by_slug(submission)["legal"], world.reviewers["legal"])
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions[:3] == ["component.created", "repository.bound", "submission.created"]
    assert "component.stage_changed" in actions
    assert "signoff.approve" in actions
    assert "ticket.state_changed" in actions
