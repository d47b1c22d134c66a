from django.contrib import admin

from community.models import Ballot, Event, PromotionVote, VotePolicy, WeeklyDigest
from core.admin import ReadOnlyAdmin


@admin.register(VotePolicy)
class VotePolicyAdmin(admin.ModelAdmin):
    """How long a component's promotion votes run and how many +1 they need (data)."""

    list_display = ["component", "hours", "plus_ones_needed", "veto"]
    autocomplete_fields = ["component"]


@admin.register(PromotionVote)
class PromotionVoteAdmin(ReadOnlyAdmin):
    """Votes change only through their pages (each step audited)."""

    list_display = ["component", "candidate", "role", "state", "opened_at", "closes_at"]
    list_filter = ["state", "role"]


@admin.register(Ballot)
class BallotAdmin(ReadOnlyAdmin):
    list_display = ["vote", "voter", "value", "cast_at"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """Events are made and edited on the community calendar (audited there)."""

    list_display = ["title", "kind", "starts_at", "time_zone"]


@admin.register(WeeklyDigest)
class WeeklyDigestAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "week", "built_at", "emailed_at"]
