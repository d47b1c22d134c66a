"""The component's life as a community project: its events, the weekly digest, and the
votes by which people earn roles."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse

from community.enums import BallotValue, EventKind, VoteState
from core.models import TimeStampedModel
from core.validators import no_control_characters
from governance.enums import CommunityRole
from governance.models import Component


class Event(TimeStampedModel):
    """A community activity: a code lab, a live stream, a meetup. Times are stored in UTC;
    ``time_zone`` is where it happens, for showing it as the attendees read it."""

    title = models.CharField(max_length=200, validators=[no_control_characters])
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    time_zone = models.CharField(max_length=64, default="UTC")
    place = models.CharField(max_length=200, blank=True, validators=[no_control_characters])
    link = models.URLField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    #: A short report written afterwards.
    report = models.TextField(blank=True)
    components = models.ManyToManyField(Component, related_name="events", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gte=models.F("starts_at")),
                name="event_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.starts_at:%Y-%m-%d})"

    def get_absolute_url(self) -> str:
        return reverse("community:event", kwargs={"pk": self.pk})


class WeeklyDigest(models.Model):
    """What happened in one ISO week, for one released component or (``component`` null)
    the whole portfolio. ``facts`` is what the builder gathered; ``markdown`` the export
    ready to post. Rebuilding a week replaces its row."""

    component = models.ForeignKey(
        Component, null=True, blank=True, on_delete=models.CASCADE, related_name="digests"
    )
    #: The Monday the ISO week starts on; ``week`` is its name, e.g. 2026-W48.
    week_start = models.DateField()
    week = models.CharField(max_length=8)
    facts = models.JSONField(default=dict)
    markdown = models.TextField()
    built_at = models.DateTimeField()
    emailed_at = models.DateTimeField(null=True, blank=True)
    #: Who has been mailed this digest (user ids), so a mailing cut short resumes.
    mailed_to = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-week_start", "component__name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["component", "week_start"], name="one_digest_per_component_week"
            ),
            models.UniqueConstraint(
                fields=["week_start"],
                condition=models.Q(component__isnull=True),
                name="one_portfolio_digest_per_week",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component or 'Portfolio'} digest {self.week}"


class DigestSubscription(models.Model):
    """A person who receives a digest by e-mail: a component's, or (null) the portfolio's."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_subscriptions"
    )
    component = models.ForeignKey(
        Component, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "component"], name="one_subscription_each"),
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(component__isnull=True),
                name="one_portfolio_subscription_each",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} reads the {self.component or 'portfolio'} digest"


class CalendarFeed(models.Model):
    """A person's private feed address, for calendar and feed readers that cannot sign in
    (the events' iCalendar feed, the digests' Atom feeds). The token in the address is
    never stored: it is an HMAC of ``nonce`` under the server's secret key, so a new nonce
    is a new address and deleting the row turns the address off (community.services)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    nonce = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"feed address of {self.user}"


class VotePolicy(models.Model):
    """How a component's promotion votes are decided (data, per component). A component
    without a row uses the defaults: 72 hours, three +1 and no −1."""

    component = models.OneToOneField(
        Component, on_delete=models.CASCADE, related_name="vote_policy"
    )
    hours = models.PositiveSmallIntegerField(default=72, validators=[MinValueValidator(1)])
    plus_ones_needed = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1)]
    )
    #: A −1 vetoes (the Apache way); off, a vote passes on +1s outnumbering −1s as well.
    veto = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"votes on {self.component}: {self.hours} h, {self.plus_ones_needed} × +1"


class PromotionVote(models.Model):
    """A PMC member's proposal that a person take a higher community role, and its
    outcome. The rules it is decided by are copied from the policy when it opens."""

    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="promotion_votes"
    )
    candidate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=12, choices=CommunityRole.choices)
    #: The role the candidate held when it opened ("" for none).
    from_role = models.CharField(max_length=12, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField()
    state = models.CharField(max_length=12, choices=VoteState.choices, default=VoteState.OPEN)
    opened_at = models.DateTimeField()
    closes_at = models.DateTimeField(db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    plus_ones_needed = models.PositiveSmallIntegerField()
    veto = models.BooleanField(default=True)
    #: The tally when it closed: {"+1": n, "0": n, "-1": n} and why it ended so.
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["component", "candidate"],
                condition=models.Q(state="open"),
                name="one_open_vote_per_candidate",
            )
        ]

    def __str__(self) -> str:
        return f"{self.candidate} as {self.get_role_display()} of {self.component}"

    def get_absolute_url(self) -> str:
        return reverse("community:vote", kwargs={"pk": self.pk})

    @property
    def candidate_name(self) -> str:
        return self.candidate.get_username()


class Ballot(models.Model):
    """One PMC member's vote, changeable while the vote is open (each cast is audited)."""

    vote = models.ForeignKey(PromotionVote, on_delete=models.CASCADE, related_name="ballots")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    value = models.SmallIntegerField(choices=BallotValue.choices)
    comment = models.TextField(blank=True)
    cast_at = models.DateTimeField()

    class Meta:
        ordering = ["cast_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["vote", "voter"], name="one_ballot_per_voter")
        ]

    def __str__(self) -> str:
        return f"{self.voter}: {self.get_value_display()} on {self.vote}"
