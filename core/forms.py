from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: per field where the form has that
    field, otherwise at the top of the form."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            target = field if field in form.fields else None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


class TokenForm(forms.Form):
    """A new API token: a name to tell it apart, and how long it lasts."""

    name = forms.CharField(max_length=100, help_text="What uses it, e.g. 'CI pipeline'.")
    days = forms.IntegerField(
        min_value=1,
        label="Valid for (days)",
        help_text="It stops working after this many days; you can revoke it any time.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].initial = settings.GATEHOUSE_API_TOKEN_DAYS
        self.fields["days"].max_value = settings.GATEHOUSE_API_TOKEN_MAX_DAYS
        self.fields["days"].widget.attrs["max"] = settings.GATEHOUSE_API_TOKEN_MAX_DAYS
