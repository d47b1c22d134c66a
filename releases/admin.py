from django import forms
from django.contrib import admin

from core.admin import ReadOnlyAdmin
from releases import gates
from releases.models import GateEvaluation, GatePolicy, Release, Waiver


class GatePolicyForm(forms.ModelForm):
    class Meta:
        model = GatePolicy
        fields = ["component", "gates"]

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
