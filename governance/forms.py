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
