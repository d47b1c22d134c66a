"""Races on real PostgreSQL row locks: two threads, two connections, one outcome."""

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections

from core.audit import verify_chain
from reviews.enums import Decision, SignOffStatus, TicketState
from reviews.models import ReviewTicket, SignOff
from reviews.services import submission_refresh
from tests.conftest import World, approve, submit

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row-lock races need PostgreSQL (set DATABASE_URL); SQLite serialises all writers",
    ),
]


def race(*actions):
    """Run the callables at the same moment in separate threads; return their outcomes."""
    barrier = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait()
            outcomes[index] = action()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.fixture
def cast():
    return World()


def test_two_reviewers_approving_at_once_both_count(cast, make_repo):
    legal = cast.departments["legal"]
    legal.quorum = 2
    legal.save()
    second = cast.add_reviewer("lena", "legal")
    for attempt in range(3):
        submission = submit(cast, make_repo(), slug=f"race-{attempt}")
        ticket = submission.tickets.get(department__slug="legal")

        outcomes = race(
            lambda t=ticket: approve(t, cast.reviewers["legal"]),
            lambda t=ticket: approve(t, second),
        )

        assert all(isinstance(o, SignOff) for o in outcomes), outcomes
        ticket.refresh_from_db()
        assert ticket.state == TicketState.APPROVED
    assert verify_chain() is None


def test_one_person_approving_two_departments_at_once_counts_once(cast, make_repo):
    tina = cast.reviewers["technical"]
    tina.groups.add(cast.group("security"))
    submission = submit(cast, make_repo())
    technical = submission.tickets.get(department__slug="technical")
    security = submission.tickets.get(department__slug="security")

    outcomes = race(lambda: approve(technical, tina), lambda: approve(security, tina))

    assert sum(isinstance(o, SignOff) for o in outcomes) == 1
    assert sum(isinstance(o, PermissionDenied) for o in outcomes) == 1
    assert SignOff.objects.filter(reviewer=tina, status=SignOffStatus.CURRENT).count() == 1


def test_decision_racing_a_refresh_ends_consistent(cast, make_repo):
    for attempt in range(3):
        repo = make_repo()
        submission = submit(cast, repo, slug=f"refresh-race-{attempt}")
        ticket = submission.tickets.get(department__slug="legal")
        seen = submission.commit
        repo.commit({"core/api.py": f"x = {attempt + 10}\n"}, "moves during review")

        outcomes = race(
            lambda t=ticket, c=seen: approve(t, cast.reviewers["legal"], expected_commit=c),
            lambda s=submission: submission_refresh(submission=s, actor=cast.alice),
        )

        submission.refresh_from_db()
        ticket.refresh_from_db()
        assert submission.commit == repo.head()
        decision, _ = outcomes
        if isinstance(decision, SignOff):
            # The approval landed first; the refresh then made it stale.
            decision.refresh_from_db()
            assert decision.status == SignOffStatus.STALE
        else:
            assert isinstance(decision, ValidationError)
        # Never an approval standing on a commit the submission has left.
        assert not SignOff.objects.filter(
            ticket=ticket, status=SignOffStatus.CURRENT, decision=Decision.APPROVE
        ).exists()
        assert ticket.state == TicketState.OPEN
    assert verify_chain() is None
    assert ReviewTicket.objects.filter(state=TicketState.APPROVED).count() == 0


def test_a_signoff_does_not_lock_the_rows_a_new_submission_references(cast, make_repo):
    """Found under load (benchmarks/load.py): a new submission, holding the audit chain
    head, checks its tickets' foreign keys at commit (FOR KEY SHARE on the department and
    component rows) while a sign-off that had locked those rows FOR UPDATE through its
    joins waited for the chain head: a deadlock, and a 500. The sign-off locks its own
    rows only, so another transaction holding the rows' keys does not hold it up."""
    from governance.models import Component, Department

    submission = submit(cast, make_repo())
    ticket = submission.tickets.get(department__slug="legal")
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            for model, pk in [(Department, ticket.department_id),
                              (Component, submission.component_id)]:  # fmt: skip
                cursor.execute(
                    f"SELECT 1 FROM {model._meta.db_table} WHERE id = %s FOR KEY SHARE",  # noqa: S608
                    [pk],
                )
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        try:
            signoff = approve(ticket, cast.reviewers["legal"])  # no lock wait, no time-out
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = 0")
        assert signoff.status == SignOffStatus.CURRENT
    finally:
        other.rollback()
        other.close()
