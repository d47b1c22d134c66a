from django.db import models


class ReleaseState(models.TextChoices):
    DRAFT = "draft", "Draft"
    BLOCKED = "blocked", "Blocked"
    READY = "ready", "Ready"
    PUBLISHED = "published", "Published"
    CANCELLED = "cancelled", "Cancelled"


# Evaluation moves a release between draft, blocked and ready; publishing (the sync issue)
# and cancelling end it.
RELEASE_TRANSITIONS: dict[str, set[str]] = {
    ReleaseState.DRAFT: {ReleaseState.BLOCKED, ReleaseState.READY, ReleaseState.CANCELLED},
    ReleaseState.BLOCKED: {ReleaseState.READY, ReleaseState.CANCELLED},
    ReleaseState.READY: {ReleaseState.BLOCKED, ReleaseState.PUBLISHED, ReleaseState.CANCELLED},
    ReleaseState.PUBLISHED: set(),
    ReleaseState.CANCELLED: set(),
}
OPEN_RELEASE_STATES = [ReleaseState.DRAFT, ReleaseState.BLOCKED, ReleaseState.READY]


class GateStatus(models.TextChoices):
    PASS = "pass", "Pass"
    BLOCKED = "blocked", "Blocked"
    WAIVED = "waived", "Waived"


class SyncStatus(models.TextChoices):
    IN_SYNC = "in_sync", "In sync"
    EXPORT_PENDING = "export_pending", "Export pending"
    BACKPORT_NEEDED = "backport_needed", "Back-port needed"
    DIVERGED = "diverged", "Diverged"
    FAILED = "failed", "Sync failed"
