from django.db import models


class Kind(models.TextChoices):
    """What a notification is about; each person chooses a channel per kind."""

    REVIEW = "review", "A review waits for your department"
    DECISION = "decision", "A decision on a submission of yours"
    COMMENT = "comment", "A comment on a submission of yours"
    MENTION = "mention", "Someone mentions you"
    OVERDUE = "overdue", "A review past its department's SLA"
    ALERT = "alert", "An alert on the external repository"
    RELEASE = "release", "A release of a component of yours"
    VOTE = "vote", "A promotion vote"
    WAIVER = "waiver", "A waiver expired"


class Channel(models.TextChoices):
    IMMEDIATE = "immediate", "E-mail at once"
    DAILY = "daily", "Daily e-mail digest"
    APP = "app", "In the app only"
    OFF = "off", "Off"


#: The channel of a kind nobody has chosen one for: what needs acting on is mailed at once,
#: what is good to know waits for the daily digest.
DEFAULT_CHANNELS = {
    Kind.REVIEW: Channel.IMMEDIATE,
    Kind.DECISION: Channel.IMMEDIATE,
    Kind.COMMENT: Channel.DAILY,
    Kind.MENTION: Channel.IMMEDIATE,
    Kind.OVERDUE: Channel.IMMEDIATE,
    Kind.ALERT: Channel.IMMEDIATE,
    Kind.RELEASE: Channel.DAILY,
    Kind.VOTE: Channel.IMMEDIATE,
    Kind.WAIVER: Channel.DAILY,
}


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"  # gave up: the subscription was disabled meanwhile
