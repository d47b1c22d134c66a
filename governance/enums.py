from django.db import models


class Stage(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    RELEASED = "released", "Released"
    ARCHIVED = "archived", "Archived"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


# Which stage a component may move to from which; the component service enforces it.
STAGE_TRANSITIONS: dict[str, set[str]] = {
    Stage.DRAFT: {Stage.IN_REVIEW, Stage.ARCHIVED},
    Stage.IN_REVIEW: {Stage.APPROVED, Stage.REJECTED, Stage.WITHDRAWN},
    Stage.APPROVED: {Stage.IN_REVIEW, Stage.RELEASED, Stage.ARCHIVED},
    Stage.RELEASED: {Stage.IN_REVIEW, Stage.ARCHIVED},
    Stage.REJECTED: {Stage.IN_REVIEW, Stage.ARCHIVED},
    Stage.WITHDRAWN: {Stage.IN_REVIEW, Stage.ARCHIVED},
    Stage.ARCHIVED: set(),
}


class RepositoryKind(models.TextChoices):
    INTERNAL = "internal", "Internal"
    EXTERNAL = "external", "External"


class CommunityRole(models.TextChoices):
    """A person's role in a component's community, lowest first."""

    CONTRIBUTOR = "contributor", "Contributor"
    COMMITTER = "committer", "Committer"
    PMC = "pmc", "PMC member"
