"""The forms of promotion votes: propose someone, cast a ballot, withdraw."""

from django import forms
from django.contrib.auth import get_user_model

from community.enums import BallotValue
from community.votes import PROPOSABLE_ROLES
from governance.enums import CommunityRole

MAX_TEXT = 4000


class _VoteForm(forms.Form):
    """Ids of their own: the propose form shares the component page with the roles form,
    whose fields have the same names (a label must not point at the other form's field)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_vote_%s")
        super().__init__(*args, **kwargs)


class ProposeForm(_VoteForm):
    """A PMC member's proposal: who, for which role, and why."""

    candidate = forms.CharField(max_length=150, label="Candidate (username)")
    role = forms.ChoiceField(
        choices=[(r.value, r.label) for r in CommunityRole if r in PROPOSABLE_ROLES],
        label="Proposed role",
    )
    reason = forms.CharField(
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Why",
        help_text="What they have done for the project: the PMC votes on this.",
    )

    def clean_candidate(self):
        username = self.cleaned_data["candidate"].strip()
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"No active user is called {username!r}.")
        self.user = user
        return username


class BallotForm(_VoteForm):
    """+1, 0 or −1, with a comment (a −1 must say why)."""

    value = forms.TypedChoiceField(
        choices=[(str(v.value), v.label) for v in BallotValue],
        coerce=int,
        widget=forms.RadioSelect,
        label="Your vote",
    )
    comment = forms.CharField(
        max_length=MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Comment",
        help_text="Needed for a −1: a veto gives its reason.",
    )

    def clean(self):
        data = super().clean()
        if data.get("value") == BallotValue.MINUS_ONE and not data.get("comment", "").strip():
            self.add_error("comment", "A −1 is a veto: say why, so it can be answered.")
        return data


class WithdrawForm(_VoteForm):
    reason = forms.CharField(max_length=MAX_TEXT, required=False, label="Why withdraw (optional)")
