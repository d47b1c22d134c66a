from django import forms
from django.contrib.auth import get_user_model

from governance.enums import CommunityRole


class RoleForm(forms.Form):
    """Give a person a community role in a component, or take it away."""

    username = forms.CharField(max_length=150, label="Person (username)")
    role = forms.ChoiceField(
        choices=[*CommunityRole.choices, ("", "No role (remove)")], required=False
    )

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"No active user is called {username!r}.")
        self.user = user
        return username


class ExternalForm(forms.Form):
    """Where the component's open scope is published. Checked by the service:
    the allow-list, the branch name and the prefixes."""

    url = forms.CharField(max_length=500, label="External repository URL")
    branch = forms.CharField(max_length=255, required=False, initial="main")
    from_prefix = forms.CharField(
        max_length=255, required=False, label="Internal folder",
        help_text="Published at the folder below instead, e.g. rpc/core/; empty: no mapping.",
    )  # fmt: skip
    to_prefix = forms.CharField(
        max_length=255, required=False, label="External folder",
        help_text="Where that folder lands outside; empty: the root.",
    )  # fmt: skip
