from django.db import models


class SubmissionState(models.TextChoices):
    IN_REVIEW = "in_review", "In review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


SUBMISSION_TRANSITIONS: dict[str, set[str]] = {
    SubmissionState.IN_REVIEW: {
        SubmissionState.CHANGES_REQUESTED,
        SubmissionState.APPROVED,
        SubmissionState.REJECTED,
        SubmissionState.WITHDRAWN,
    },
    SubmissionState.CHANGES_REQUESTED: {
        SubmissionState.IN_REVIEW,
        SubmissionState.APPROVED,
        SubmissionState.REJECTED,
        SubmissionState.WITHDRAWN,
    },
    # An approval is bound to its commit: if the branch moves, review starts again.
    SubmissionState.APPROVED: {SubmissionState.IN_REVIEW, SubmissionState.WITHDRAWN},
    SubmissionState.REJECTED: set(),
    SubmissionState.WITHDRAWN: set(),
}
ACTIVE_SUBMISSION_STATES = [
    SubmissionState.IN_REVIEW,
    SubmissionState.CHANGES_REQUESTED,
    SubmissionState.APPROVED,
]
# Reviewers may decide while the submission is open for review; once it is approved,
# rejected or withdrawn, a ticket left open is closed with it and waits on no department.
DECIDABLE_SUBMISSION_STATES = {SubmissionState.IN_REVIEW, SubmissionState.CHANGES_REQUESTED}


class TicketState(models.TextChoices):
    OPEN = "open", "Needs review"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    REJECTED = "rejected", "Rejected"


TICKET_TRANSITIONS: dict[str, set[str]] = {
    TicketState.OPEN: {
        TicketState.IN_REVIEW,
        TicketState.APPROVED,
        TicketState.CHANGES_REQUESTED,
        TicketState.REJECTED,
    },
    TicketState.IN_REVIEW: {
        TicketState.OPEN,
        TicketState.APPROVED,
        TicketState.CHANGES_REQUESTED,
        TicketState.REJECTED,
    },
    TicketState.APPROVED: {TicketState.OPEN, TicketState.CHANGES_REQUESTED, TicketState.REJECTED},
    TicketState.CHANGES_REQUESTED: {
        TicketState.OPEN,
        TicketState.IN_REVIEW,
        TicketState.APPROVED,
        TicketState.REJECTED,
    },
    TicketState.REJECTED: set(),
}
PENDING_TICKET_STATES = [TicketState.OPEN, TicketState.IN_REVIEW]


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REQUEST_CHANGES = "request_changes", "Request changes"
    REJECT = "reject", "Reject"


class SignOffStatus(models.TextChoices):
    CURRENT = "current", "Current"
    SUPERSEDED = "superseded", "Superseded"
    STALE = "stale", "Stale"


class Answer(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    NOT_APPLICABLE = "n/a", "Not applicable"
