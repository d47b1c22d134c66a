"""The community's pages: calendar, events, digests (urls_events), and promotion votes
(vote_urls), one namespace."""

from django.urls import include, path

app_name = "community"
urlpatterns: list = [
    path("", include("community.vote_urls")),
    path("", include("community.urls_events")),
]
