from django.contrib import admin

from reviews.models import ReviewTicket, SignOff, Submission


class ReadOnlyAdmin(admin.ModelAdmin):
    """Workflow rows change only through the services (audited); the admin only reads."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
