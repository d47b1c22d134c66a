from django import forms
from django.contrib.auth import get_user_model

from releases import gates
from releases.models import ExternalAlert


class ReleaseForm(forms.Form):
    version = forms.CharField(
        max_length=64, help_text="A semantic version: 1.4.0, 2.0.0-rc.1 (a leading v is dropped)."
    )
    commit = forms.ChoiceField(
        required=False,
        widget=forms.RadioSelect,
        help_text=(
            "The approved commit, the reviewed branch's head or a tag on it; none picked, "
            "the commit the departments approved."
        ),
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, commits=(), **kwargs):
        """``commits``: releases.services.release_commit_choices."""
        super().__init__(*args, **kwargs)
        self.fields["commit"].choices = [
            (c["commit"], f"{c['commit'][:10]} — {c['label']}") for c in commits
        ]
        if commits:
            self.fields["commit"].initial = commits[0]["commit"]


class CancelForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why cancel?")


class WaiverForm(forms.Form):
    """A waiver of one gate of the release, or of one of its open blocking findings."""

    gate = forms.ChoiceField(required=False, choices=())
    finding = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.RadioSelect,
        label="…or one blocking finding",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.none())
    expires_at = forms.DateTimeField(
        label="Expires", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, gate_keys=(), findings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["finding"].choices = [("", "no finding: waive the gate")] + [
            (f.pk, f"{f.kind} at {f.where}: {f.message}"[:200]) for f in findings
        ]
        if not findings:
            del self.fields["finding"]
        self.fields["gate"].choices = [("", "—")] + [
            (k, gates.GATES[k].title) for k in gate_keys if k in gates.GATES
        ]
        self.fields["owner"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username")
        )


class AlertTriageForm(forms.Form):
    """How a department settles an alert on the external repository, and why."""

    state = forms.ChoiceField(choices=ExternalAlert.State.choices, widget=forms.RadioSelect)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="What was checked or done: rotated the key, not a real credential, …",
    )
