from django import forms
from django.contrib import admin

from core.admin import ReadOnlyAdmin
from releases import gates
from releases.models import (
    EvidenceBundle,
    ExternalAlert,
    GateEvaluation,
    GatePolicy,
    Release,
    Waiver,
)


class GatePolicyForm(forms.ModelForm):
    class Meta:
        model = GatePolicy
        fields = ["component", "gates", "export_notice"]

    def clean_gates(self):
        keys = self.cleaned_data["gates"]
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise forms.ValidationError('A list of gate keys, e.g. ["reviews", "scan"].')
        unknown = [k for k in keys if k not in gates.GATES]
        if unknown:
            raise forms.ValidationError(
                f"Unknown gate(s): {', '.join(unknown)}. Known: {', '.join(gates.GATES)}."
            )
        return keys


@admin.register(GatePolicy)
class GatePolicyAdmin(admin.ModelAdmin):
    form = GatePolicyForm
    list_display = ["__str__", "export_notice", "updated_at"]


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


@admin.register(EvidenceBundle)
class EvidenceBundleAdmin(ReadOnlyAdmin):
    """Bundles never change; the archive is downloaded from the release page."""

    list_display = ["release", "preview", "size", "key_id", "built_at"]
    list_filter = ["preview"]
    exclude = ["archive"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("archive").select_related("release__component")


@admin.register(ExternalAlert)
class ExternalAlertAdmin(ReadOnlyAdmin):
    """Alerts are triaged on their page, by the department's reviewers (audited)."""

    list_display = ["component", "kind", "rule", "path", "department", "state", "created_at"]
    list_filter = ["state", "kind", "department"]
