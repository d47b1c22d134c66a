"""The event form. Times are typed as the attendees read them, in the event's own time
zone; the form turns them into aware datetimes for the service (stored in UTC)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from community.enums import EventKind
from community.models import Event
from community.services import hostable_components, time_zone_names
from core.forms import add_service_errors
from governance.models import Component

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _zone_choices() -> list[tuple[str, str]]:
    names = sorted(time_zone_names())
    return [(name, name.replace("_", " ")) for name in names]


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format=DATETIME_FORMAT, **kwargs)


class EventForm(forms.Form):
    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=EventKind.choices)
    time_zone = forms.ChoiceField(
        label="Time zone", initial="UTC", help_text="Where it happens: the times below are in it."
    )
    starts = forms.DateTimeField(
        label="Starts",
        widget=LocalDateTimeInput(),
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"],
    )
    ends = forms.DateTimeField(
        label="Ends", widget=LocalDateTimeInput(), input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"]
    )
    place = forms.CharField(
        max_length=200, required=False, help_text="A city and venue, or 'Online'."
    )
    link = forms.URLField(
        max_length=500, required=False, assume_scheme="https",
        help_text="The stream, the sign-up page or the meeting room (https).",
    )  # fmt: skip
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    report = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False,
        help_text="Afterwards: a few lines on how it went, with links to slides or the recording.",
    )  # fmt: skip
    components = forms.ModelMultipleChoiceField(
        queryset=None, required=False,
        help_text="The components it is about. You may link those you own or sit on the PMC of.",
    )  # fmt: skip

    def __init__(self, *args, user, event: Event | None = None, **kwargs):
        if event is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(event)
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = _zone_choices()
        hostable = hostable_components(user)
        if event is not None:
            # What it is linked to stays selectable, so editing other fields keeps it.
            hostable = Component.objects.filter(
                Q(pk__in=hostable.values("pk")) | Q(pk__in=event.components.values("pk"))
            ).order_by("name")
        self.fields["components"].queryset = hostable
        if event is None:
            del self.fields["report"]  # written afterwards

    @staticmethod
    def initial_for(event: Event) -> dict:
        zone = ZoneInfo(event.time_zone)
        return {
            "title": event.title,
            "kind": event.kind,
            "time_zone": event.time_zone,
            "starts": event.starts_at.astimezone(zone).replace(tzinfo=None),
            "ends": event.ends_at.astimezone(zone).replace(tzinfo=None),
            "place": event.place,
            "link": event.link,
            "description": event.description,
            "report": event.report,
            "components": list(event.components.all()),
        }

    def clean(self):
        data = super().clean()
        zone_name = data.get("time_zone")
        if zone_name:
            zone = ZoneInfo(zone_name)
            for name in ("starts", "ends"):
                value = data.get(name)
                if isinstance(value, datetime):
                    # The form read it in the server's zone; it was meant in the event's.
                    data[name] = value.replace(tzinfo=None).replace(tzinfo=zone)
        return data

    def service_values(self) -> dict:
        data = self.cleaned_data
        values = {
            "title": data["title"],
            "kind": data["kind"],
            "time_zone": data["time_zone"],
            "starts_at": data["starts"],
            "ends_at": data["ends"],
            "place": data["place"],
            "link": data["link"],
            "description": data["description"],
            "components": list(data["components"]),
        }
        if "report" in self.fields:
            values["report"] = data["report"]
        return values


def add_event_errors(form: EventForm, error: ValidationError) -> None:
    """The service's errors on the form (the service says ``starts_at``, the form
    ``starts``)."""
    if hasattr(error, "error_dict"):
        rename = {"starts_at": "starts", "ends_at": "ends"}
        error = ValidationError({rename.get(k, k): v for k, v in error.message_dict.items()})
    add_service_errors(form, error)
