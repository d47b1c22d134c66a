"""Permission predicates for submissions and tickets.

The ``*_denial`` functions return None when the action is allowed, or the reason a
person can read when it is not; the services raise with that reason, and the pages
show it instead of the form, so the UI and the API cannot differ.
"""

from __future__ import annotations

from guardian.shortcuts import get_objects_for_user

from governance.rules import is_owner
from reviews.enums import DECIDABLE_SUBMISSION_STATES, SubmissionState
from reviews.models import ReviewTicket, Submission


def can_view_submission(user, submission: Submission) -> bool:
    return user.is_authenticated and (
        user.is_superuser or user.has_perm("reviews.view_submission", submission)
    )


def can_view_ticket(user, ticket: ReviewTicket) -> bool:
    return user.is_authenticated and (
        user.is_superuser or user.has_perm("reviews.view_reviewticket", ticket)
    )


def is_department_reviewer(user, ticket: ReviewTicket) -> bool:
    """Membership of the department's reviewer group, through the object permission.

    Not ``user.has_perm``: Django grants every permission to a superuser, and the
    open-source office must not sign for a department it does not belong to.
    """
    if not (user.is_authenticated and user.is_active):
        return False
    return get_objects_for_user(
        user,
        "reviews.sign_reviewticket",
        ReviewTicket.objects.filter(pk=ticket.pk),
        with_superuser=False,
        accept_global_perms=False,
    ).exists()


def signoff_denial(user, ticket: ReviewTicket) -> str | None:
    """Why ``user`` may not decide on ``ticket`` at all, or None if they may."""
    submission = ticket.submission
    if not is_department_reviewer(user, ticket):
        return f"Only {ticket.department} reviewers can sign off this ticket."
    if submission.submitted_by_id == user.pk:
        return "You submitted this component; someone else has to review it."
    if is_owner(user, submission.component):
        return "You own this component; an owner cannot review it."
    if submission.state not in DECIDABLE_SUBMISSION_STATES:
        return (
            f"This submission is {submission.get_state_display().lower()}; it takes no decisions."
        )
    return None


def refresh_denial(user, submission: Submission) -> str | None:
    """Why ``user`` may not refresh or resubmit ``submission``, or None."""
    if not (user.is_superuser or user.has_perm("reviews.refresh_submission", submission)):
        return "Only the submitter, the component's owners and the open-source office can do this."
    if submission.state in (SubmissionState.REJECTED, SubmissionState.WITHDRAWN):
        return f"This submission is {submission.get_state_display().lower()}."
    return None
