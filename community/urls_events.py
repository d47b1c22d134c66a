"""The calendar, events, feeds and digest archives (in the ``community`` namespace)."""

from django.urls import path, register_converter

from community import views


class IsoWeek:
    """An ISO week as in ``2026-W48``: no other text reaches the digest views."""

    regex = r"[0-9]{4}-W[0-9]{2}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(IsoWeek, "isoweek")

urlpatterns = [
    path("community/", views.calendar, name="calendar"),
    path("community/events/new/", views.event_create, name="event-create"),
    path("community/events/<int:pk>/", views.event_detail, name="event"),
    path("community/events/<int:pk>/edit/", views.event_edit, name="event-edit"),
    path("community/events/<int:pk>/delete/", views.event_delete, name="event-delete"),
    path("community/events.ics", views.events_ics, name="events-ics"),
    path("community/feed-address/", views.feed_address, name="feed-address"),
    # The portfolio's archive before the components' (a component may be called "digests").
    path("community/digests/", views.digest_list, name="digests"),
    path("community/digests/feed.atom", views.digest_feed, name="digests-feed"),
    path("community/digests/subscription/", views.digest_subscription, name="digests-subscription"),
    path("community/digests/<isoweek:week>/", views.digest_detail, name="digest"),
    path("community/digests/<isoweek:week>.md", views.digest_markdown, name="digest-md"),
    path("community/<slug:slug>/digests/", views.digest_list, name="component-digests"),
    path(
        "community/<slug:slug>/digests/feed.atom",
        views.digest_feed,
        name="component-digests-feed",
    ),
    path(
        "community/<slug:slug>/digests/subscription/",
        views.digest_subscription,
        name="component-digests-subscription",
    ),
    path(
        "community/<slug:slug>/digests/<isoweek:week>/",
        views.digest_detail,
        name="component-digest",
    ),
    path(
        "community/<slug:slug>/digests/<isoweek:week>.md",
        views.digest_markdown,
        name="component-digest-md",
    ),
    path(
        "components/<slug:slug>/community/", views.component_community, name="component-community"
    ),
]
