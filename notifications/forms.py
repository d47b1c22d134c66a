from django import forms

from notifications.enums import Channel, Kind
from notifications.webhooks import EVENT_FAMILIES


class PreferencesForm(forms.Form):
    """One channel per kind of notification."""

    def __init__(self, *args, initial_channels: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        for kind in Kind:
            self.fields[kind.value] = forms.ChoiceField(
                label=kind.label, choices=Channel.choices, initial=initial_channels[kind.value]
            )


class SubscriptionForm(forms.Form):
    url = forms.CharField(label="Payload URL (https)", max_length=500)
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(
        choices=[("*", "Every event")] + [(f, f"{f}.*") for f in EVENT_FAMILIES],
        widget=forms.CheckboxSelectMultiple,
        help_text="Which audit events to send.",
    )
