from django.contrib import admin

from core.admin import ReadOnlyAdmin
from reviews.models import ReviewTicket, SignOff, Submission


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = ["id", "component", "state", "commit", "submitted_by", "created_at"]
    list_filter = ["state"]


@admin.register(ReviewTicket)
class ReviewTicketAdmin(ReadOnlyAdmin):
    list_display = ["id", "submission", "department", "state", "created_at"]
    list_filter = ["state", "department"]


@admin.register(SignOff)
class SignOffAdmin(ReadOnlyAdmin):
    list_display = ["id", "ticket", "reviewer", "decision", "commit", "status", "created_at"]
    list_filter = ["decision", "status"]
