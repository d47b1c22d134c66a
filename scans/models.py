from django.conf import settings
from django.db import models

from core.models import TimeStampedModel
from governance.models import Component, Repository
from scans.detectors.base import Policy
from scans.enums import FindingKind, ScanStatus, Severity, TriageState
from scans.policy import validate_denied_dependencies, validate_denied_ecosystems


class ScanPolicy(models.Model):
    """The company's scanning policy: one row, edited in the admin or by ``load_policy``."""

    internal_domains = models.JSONField(default=list, blank=True)
    internal_packages = models.JSONField(default=list, blank=True)
    internal_email_domains = models.JSONField(default=list, blank=True)
    internal_patterns = models.JSONField(default=list, blank=True)
    licenses_allowed = models.JSONField(default=list, blank=True)
    licenses_denied = models.JSONField(default=list, blank=True)
    #: Denied dependencies, ``name`` (any ecosystem) or ``ecosystem:name``, and whole
    #: ecosystems: a declared one blocks (scans.detectors.dependencies.DenyList).
    dependencies_denied = models.JSONField(
        default=list, blank=True, validators=[validate_denied_dependencies]
    )
    dependency_ecosystems_denied = models.JSONField(
        default=list, blank=True, validators=[validate_denied_ecosystems]
    )
    #: A secret in a test or test resource that is not in a provider's own format.
    fixture_severity = models.CharField(
        max_length=10, choices=Severity.choices, default=Severity.WARNING
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "scan policy"

    def __str__(self) -> str:
        return f"scan policy {self.as_policy().version}"

    def as_policy(self) -> Policy:
        return Policy(
            internal_domains=tuple(self.internal_domains),
            internal_packages=tuple(self.internal_packages),
            internal_email_domains=tuple(self.internal_email_domains),
            internal_patterns=tuple(self.internal_patterns),
            licenses_allowed=tuple(self.licenses_allowed),
            licenses_denied=tuple(self.licenses_denied),
            dependencies_denied=tuple(self.dependencies_denied),
            dependency_ecosystems_denied=tuple(self.dependency_ecosystems_denied),
            fixture_severity=self.fixture_severity,
        )


class BlobResult(models.Model):
    """Cached detector findings of one blob, keyed by blob SHA, file name, engine and policy
    versions (hashed): a changed policy or detector simply misses the cache."""

    key = models.CharField(max_length=64, primary_key=True)
    findings = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key


class ScanRun(TimeStampedModel):
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="scans")
    component = models.ForeignKey(
        Component, null=True, blank=True, on_delete=models.CASCADE, related_name="scans"
    )
    commit = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=ScanStatus.choices, default=ScanStatus.QUEUED)
    engine_version = models.CharField(max_length=200)
    policy_version = models.CharField(max_length=32)
    forced = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    files_total = models.PositiveIntegerField(default=0)
    files_done = models.PositiveIntegerField(default=0)
    files_cached = models.PositiveIntegerField(default=0)
    files_skipped = models.PositiveIntegerField(default=0)
    bytes_scanned = models.PositiveBigIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    #: Files the scan could not read and why, [[path, reason], ...] (at most 500): an
    #: incomplete scan says which.
    unread = models.JSONField(default=list, blank=True)
    #: The attempt working on the scan and until when (core.leases); attempts so far.
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    #: When the run was last handed to the broker: a queued run whose message was lost
    #: (a broker restarted without its data) is sent again by the requeue pass.
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["repository", "commit"]),
            models.Index(fields=["status", "lease_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"scan #{self.pk} of {self.commit[:10]}"

    @property
    def is_finished(self) -> bool:
        return self.status in (ScanStatus.DONE, ScanStatus.FAILED, ScanStatus.INCOMPLETE)

    @property
    def percent(self) -> int:
        return int(100 * self.files_done / self.files_total) if self.files_total else 0


class Finding(models.Model):
    """One finding of one scan. Secret values are never stored: ``excerpt`` is redacted."""

    scan = models.ForeignKey(ScanRun, on_delete=models.CASCADE, related_name="findings")
    kind = models.CharField(max_length=16, choices=FindingKind.choices)
    rule = models.CharField(max_length=64)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    path = models.CharField(max_length=1000, blank=True)
    line = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500)
    excerpt = models.CharField(max_length=300, blank=True)
    license = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=64, db_index=True)
    state = models.CharField(max_length=16, choices=TriageState.choices, default=TriageState.OPEN)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    triage_reason = models.TextField(blank=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    #: Four eyes: a blocking finding set aside (false positive, accepted risk, fixed) counts
    #: only once a second member of the owning department confirmed it.
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["path", "line", "id"]
        indexes = [models.Index(fields=["scan", "kind", "severity", "state"])]

    def __str__(self) -> str:
        return f"{self.kind}/{self.rule} {self.path}:{self.line}"

    @property
    def awaits_confirmation(self) -> bool:
        return (
            self.severity == Severity.BLOCKING
            and self.state != TriageState.OPEN
            and self.confirmed_at is None
        )


class BaselineEntry(models.Model):
    """A finding the open-source office accepted in bulk, by fingerprint, for one component
    (a baseline imported from an earlier review or another Gatehouse). A later scan's
    finding with that fingerprint starts out accepted, with the baseline as its reason."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="baseline")
    fingerprint = models.CharField(max_length=64)
    reason = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=200)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["component", "fingerprint"], name="one_baseline_entry_per_fingerprint"
            )
        ]

    def __str__(self) -> str:
        return f"baseline {self.fingerprint[:12]} of {self.component}"
