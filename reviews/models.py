from django.conf import settings
from django.db import models
from django.urls import reverse
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from core.models import TimeStampedModel
from governance.models import ChecklistQuestion, Component, Department, Repository
from reviews.enums import (
    ACTIVE_SUBMISSION_STATES,
    Answer,
    Decision,
    SignOffStatus,
    SubmissionState,
    TicketState,
)


class Submission(TimeStampedModel):
    """One request to open a component, pinned to the commit its branch pointed at."""

    component = models.ForeignKey(Component, on_delete=models.PROTECT, related_name="submissions")
    repository = models.ForeignKey(Repository, on_delete=models.PROTECT, related_name="+")
    branch = models.CharField(max_length=255)
    commit = models.CharField(max_length=40)
    previous_commit = models.CharField(
        max_length=40, blank=True, help_text="The commit before the branch last moved."
    )
    commit_moved_at = models.DateTimeField(null=True, blank=True)
    #: The review scope under review (governance Component.review_scope: license, paths,
    #: mapping, destination), and the one before its last change, to show what changed.
    scope = models.JSONField(default=dict, blank=True)
    previous_scope = models.JSONField(default=dict, blank=True)
    scope_changed_at = models.DateTimeField(null=True, blank=True)
    justification = models.TextField()
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions"
    )
    state = models.CharField(
        max_length=20, choices=SubmissionState.choices, default=SubmissionState.IN_REVIEW
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [("refresh_submission", "Can refresh and resubmit the submission")]
        constraints = [
            # One live submission per component: a second would split the reviews.
            models.UniqueConstraint(
                fields=["component"],
                condition=models.Q(state__in=ACTIVE_SUBMISSION_STATES),
                name="one_active_submission_per_component",
            )
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.component} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("reviews:submission", kwargs={"pk": self.pk})

    @property
    def short_commit(self) -> str:
        return self.commit[:10]


class ReviewTicket(TimeStampedModel):
    """One department's review of one submission."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="tickets")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="tickets")
    state = models.CharField(max_length=20, choices=TicketState.choices, default=TicketState.OPEN)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [("sign_reviewticket", "Can sign off the review ticket")]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "department"], name="one_ticket_per_department"
            )
        ]
        indexes = [models.Index(fields=["state", "created_at"])]
        ordering = ["department__position", "department__name"]

    def __str__(self) -> str:
        return f"{self.department} review of {self.submission}"

    def get_absolute_url(self) -> str:
        return reverse("reviews:ticket", kwargs={"pk": self.pk})


class SignOff(models.Model):
    """A reviewer's decision on a ticket, bound to the commit it was made on."""

    ticket = models.ForeignKey(ReviewTicket, on_delete=models.CASCADE, related_name="signoffs")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signoffs"
    )
    decision = models.CharField(max_length=20, choices=Decision.choices)
    commit = models.CharField(max_length=40)
    #: The review scope the decision was made on (governance.models.scope_digest).
    scope_digest = models.CharField(max_length=64, blank=True)
    comment = models.TextField(blank=True)
    status = models.CharField(
        max_length=12, choices=SignOffStatus.choices, default=SignOffStatus.CURRENT
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # A reviewer holds at most one current decision per ticket; the quorum
            # counts people, not clicks.
            models.UniqueConstraint(
                fields=["ticket", "reviewer"],
                condition=models.Q(status="current"),
                name="one_current_signoff_per_reviewer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.reviewer} on {self.commit[:10]}"


class ChecklistAnswer(models.Model):
    signoff = models.ForeignKey(SignOff, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(ChecklistQuestion, on_delete=models.PROTECT, related_name="+")
    answer = models.CharField(max_length=8, choices=Answer.choices)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["signoff", "question"], name="one_answer_per_question")
        ]

    def __str__(self) -> str:
        return f"{self.question}: {self.answer}"


class Comment(models.Model):
    """A remark on a submission, optionally on one department's ticket."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="comments")
    ticket = models.ForeignKey(
        ReviewTicket, null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comments"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment by {self.author} on {self.submission}"


# Object permissions with real foreign keys (django-guardian's "direct" tables): filtering
# a list by permission joins on an indexed integer instead of casting every generic
# object_pk, which keeps the queue and the lists fast as the portfolio grows.
class SubmissionUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Submission, on_delete=models.CASCADE)


class SubmissionGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Submission, on_delete=models.CASCADE)


class ReviewTicketUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(ReviewTicket, on_delete=models.CASCADE)


class ReviewTicketGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(ReviewTicket, on_delete=models.CASCADE)
