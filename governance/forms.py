from django import forms
from django.contrib.auth import get_user_model

from governance.enums import CommunityRole, RepositoryKind
from governance.models import Component


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


class RegistryForm(forms.Form):
    """The open-source office's change to one repository's binding."""

    action = forms.ChoiceField(choices=[("unbind", "Unbind"), ("reassign", "Reassign")])
    component = forms.ModelChoiceField(
        queryset=Component.objects.order_by("name"), required=False, to_field_name="slug"
    )
    role = forms.ChoiceField(choices=RepositoryKind.choices, required=False)
    reason = forms.CharField(max_length=1000)

    def clean(self):
        data = super().clean()
        if data.get("action") == "reassign" and not data.get("component"):
            self.add_error("component", "Choose the component that should hold it.")
        return data
