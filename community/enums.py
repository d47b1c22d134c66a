from django.db import models


class EventKind(models.TextChoices):
    CODE_LAB = "code_lab", "Code lab"
    LIVE_STREAM = "live_stream", "Live stream"
    MEETUP = "meetup", "Meetup"
    TALK = "talk", "Talk"
    OTHER = "other", "Other"


class VoteState(models.TextChoices):
    OPEN = "open", "Open"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    WITHDRAWN = "withdrawn", "Withdrawn"


class BallotValue(models.IntegerChoices):
    PLUS_ONE = 1, "+1"
    ZERO = 0, "0"
    MINUS_ONE = -1, "−1"
