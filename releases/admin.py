from django.contrib import admin

from core.admin import ReadOnlyAdmin
from releases.models import GateEvaluation, GatePolicy, Release, Waiver


@admin.register(GatePolicy)
class GatePolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "updated_at"]


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdmin):
    list_display = ["component", "version", "state", "evaluated_at"]
    list_filter = ["state"]


@admin.register(GateEvaluation)
class GateEvaluationAdmin(ReadOnlyAdmin):
    list_display = ["release", "state", "trigger", "created_at"]


@admin.register(Waiver)
class WaiverAdmin(ReadOnlyAdmin):
    list_display = ["component", "gate", "finding_label", "owner", "expires_at", "revoked_at"]
