from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core.models import TimeStampedModel
from governance.models import Component, Department
from releases.enums import GateStatus, ReleaseState, SyncStatus
from scans.enums import FindingKind, Severity


class GatePolicy(models.Model):
    """Which gates a release must pass: one row per component that differs from the
    default, and the default itself (``component`` empty). Data, not code: the open-source
    office edits it in the admin."""

    component = models.OneToOneField(
        Component, null=True, blank=True, on_delete=models.CASCADE, related_name="gate_policy"
    )
    gates = models.JSONField(default=list, help_text="Gate keys, e.g. reviews, scan, licensing.")
    export_notice = models.BooleanField(
        default=False,
        help_text="Publishing adds the generated NOTICE (the evidence bundle's) to the exported "
        "tree, unless the open scope has a NOTICE of its own.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "gate policies"
        constraints = [
            # At most one default: a unique index over a constant, for the rows without a
            # component (NULLs are distinct in ordinary unique constraints).
            models.UniqueConstraint(
                models.Value(1), condition=Q(component=None), name="one_default_gate_policy"
            )
        ]

    def __str__(self) -> str:
        return f"gates for {self.component or 'every component'}: {', '.join(self.gates)}"


class Release(TimeStampedModel):
    """A version of a component to publish, at a commit, with its latest gate results."""

    component = models.ForeignKey(Component, on_delete=models.PROTECT, related_name="releases")
    version = models.CharField(max_length=64)
    commit = models.CharField(max_length=40)
    notes = models.TextField(blank=True)
    state = models.CharField(
        max_length=12, choices=ReleaseState.choices, default=ReleaseState.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: The latest evaluation, one dict per gate: gate, title, status, reason and evidence
    #: (a list of {"label", "url"}).
    gates = models.JSONField(default=list, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    #: Where it went: the export commit on the external branch and its annotated tag.
    external_commit = models.CharField(max_length=64, blank=True)
    external_tag = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["component", "version"], name="one_release_per_version")
        ]
        indexes = [models.Index(fields=["component", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.component} {self.version}"

    def get_absolute_url(self) -> str:
        return reverse("releases:release", kwargs={"pk": self.pk})

    @property
    def short_commit(self) -> str:
        return self.commit[:10]

    @property
    def blocking_gates(self) -> list[dict]:
        return [g for g in self.gates if g["status"] == GateStatus.BLOCKED]


class GateEvaluation(models.Model):
    """One stored evaluation of a release's gates, kept when the outcome changed: when,
    why (what triggered it) and what each gate said."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="evaluations")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    trigger = models.CharField(max_length=40)
    state = models.CharField(max_length=12, choices=ReleaseState.choices)
    gates = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.release}: {self.state} ({self.trigger})"


class Waiver(models.Model):
    """An explicit, expiring exception granted by the open-source office: either one gate
    of one release, or one finding of a component (by fingerprint, so it survives rescans
    and line moves)."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="waivers")
    release = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.CASCADE, related_name="waivers"
    )
    gate = models.CharField(max_length=40, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    finding_label = models.CharField(max_length=300, blank=True)
    reason = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: Set once by the beat task that noticed the expiry and re-evaluated the gates.
    lapsed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(release__isnull=False, fingerprint="") & ~Q(gate="")
                    | Q(release__isnull=True, gate="") & ~Q(fingerprint="")
                ),
                name="waiver_is_for_one_gate_or_one_finding",
            )
        ]

    def __str__(self) -> str:
        target = f"gate {self.gate} of {self.release}" if self.gate else self.finding_label
        return f"waiver for {target} until {self.expires_at:%Y-%m-%d}"

    def is_active(self, now) -> bool:
        return self.revoked_at is None and self.expires_at > now


class SyncState(models.Model):
    """What a sync of a component's internal and external repositories found. A row per
    change: a sync that finds nothing moved only sets ``checked_at`` on the newest row, so
    the history is of changes (a sync every 15 minutes would otherwise write 35,000 rows
    a year per component). The newest row is the component's current state."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="syncs")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    checked_at = models.DateTimeField(default=timezone.now)
    trigger = models.CharField(max_length=40)
    status = models.CharField(max_length=16, choices=SyncStatus.choices)
    internal_head = models.CharField(max_length=64, blank=True)
    external_head = models.CharField(max_length=64, blank=True)
    #: The internal commit the newest Gatehouse export was made from (its trailer).
    last_exported_rev = models.CharField(max_length=64, blank=True)
    #: Internal commits since that export touching the open scope: [{sha, subject, author,
    #: date, files}], newest first.
    pending = models.JSONField(default=list, blank=True)
    #: External commits not made by Gatehouse, since its last export: same shape.
    community = models.JSONField(default=list, blank=True)
    tags_missing_externally = models.JSONField(default=list, blank=True)
    tags_unknown_internally = models.JSONField(default=list, blank=True)
    #: External release tags and the internal revision each was exported from.
    external_tags = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["component", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.component}: {self.status} at {self.created_at:%Y-%m-%d %H:%M}"


class Backport(models.Model):
    """A community commit brought back into the internal repository as a branch."""

    class State(models.TextChoices):
        CREATED = "created", "Branch created"
        CONFLICT = "conflict", "Conflict"

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="backports")
    #: The (newest) community commit; with a range, every one of them, oldest first.
    source_commit = models.CharField(max_length=64)
    source_commits = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=10, choices=State.choices)
    branch = models.CharField(max_length=255, blank=True)
    commit = models.CharField(max_length=64, blank=True)
    conflicts = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"back-port of {self.source_commit[:10]} into {self.component}: {self.state}"


class FindingTally(models.Model):
    """The blocking and warning findings of one finished scan, counted by kind, severity
    and triage state, with when the scan stood as its component's latest: what the
    portfolio's open-findings counter and the findings chart add up instead of reading the
    findings (a million of them at 10,000 components). Derived data: rewritten for a
    component when one of its scans finishes or a finding of it is triaged, after commit
    (``releases.summaries``), and in full by ``manage.py rebuild_dashboard_summaries``."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")
    scan = models.ForeignKey("scans.ScanRun", on_delete=models.CASCADE, related_name="+")
    #: The scan's finished_at, and the finished_at of the component's next finished scan
    #: (null while none): the scan is the latest as of t when finished_at < t <= that.
    finished_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    #: The component's latest finished scan (newest created), the one the portfolio shows.
    latest = models.BooleanField(default=False)
    kind = models.CharField(max_length=16)
    severity = models.CharField(max_length=10)
    state = models.CharField(max_length=16)
    confirmed = models.BooleanField(help_text="A second person confirmed the triage.")
    triaged_at = models.DateTimeField(null=True, blank=True)
    n = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["latest", "severity"])]

    def __str__(self) -> str:
        return f"scan #{self.scan_id}: {self.n} {self.severity} {self.kind} {self.state}"


class ChartSummary(models.Model):
    """One row: the charts page's figures over the whole portfolio, as last computed, for
    the people who see every component (at 10,000 components computing them takes a
    fifth of a second or more). Refreshed by a debounced task after the changes the
    figures count (``releases.summaries``), recomputed on the spot when a new week has
    begun, and refreshed in the background once older than a few minutes (what no signal
    reports, such as syncs and the sliding 180 days of the medians)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    computed_at = models.DateTimeField()
    #: Set by the first change after ``computed_at``; a refresh is queued then, and the
    #: refresh clears it when it starts.
    stale_since = models.DateTimeField(null=True, blank=True)
    figures = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"charts as of {self.computed_at:%Y-%m-%d %H:%M}"


class GitJob(models.Model):
    """Long git work (publish, sync, back-port) run by a worker, not by the web request:
    what was asked, by whom, how it stands and what came of it. Like a scan run, it holds a
    lease (``core.leases``) while an attempt works; a job whose worker died is taken over
    and finished by the next attempt. While a job is queued or running, a second request
    for the same work (the same ``key``) gets that job back instead of a new one."""

    class Kind(models.TextChoices):
        PUBLISH = "publish", "Publish"
        SYNC = "sync", "Sync"
        BACKPORT = "backport", "Back-port"
        EVIDENCE = "evidence", "Evidence bundle"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    LIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=10, choices=Kind.choices)
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="git_jobs")
    release = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.CASCADE, related_name="git_jobs"
    )
    #: What to do beyond the kind: {"commit", "first"} of a back-port, {"trigger"} of a sync.
    params = models.JSONField(default=dict, blank=True)
    #: The work it does ("publish:<release>", "sync:<component>",
    #: "backport:<component>:<first>..<commit>"): one live job per key.
    key = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    #: What the attempt is doing now, for the progress shown on the page.
    step = models.CharField(max_length=80, blank=True)
    lease_owner = models.CharField(max_length=120, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: Why it failed: the refusal's reasons, or git's error, one message each.
    errors = models.JSONField(default=list, blank=True)
    #: What an attempt has settled on, kept across attempts: the back-port commit it is
    #: about to push (so a retry pushes the same one), the published commit and tag.
    result = models.JSONField(default=dict, blank=True)
    sync_state = models.ForeignKey(
        SyncState, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    backport = models.ForeignKey(
        Backport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    evidence = models.ForeignKey(
        "EvidenceBundle", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(status__in=["queued", "running"]),
                name="one_live_git_job_per_key",
            )
        ]
        indexes = [
            models.Index(fields=["component", "kind", "-created_at"]),
            models.Index(fields=["release", "-created_at"]),
            models.Index(fields=["status", "lease_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.component}: {self.status}"

    def get_absolute_url(self) -> str:
        return reverse("releases:git-job", args=[self.pk])

    @property
    def live(self) -> bool:
        return self.status in self.LIVE


class EvidenceBundle(models.Model):
    """A release's evidence, as one signed archive (``releases.evidence``): what was
    published, who approved what on which commit, what the scans found and how each
    finding was settled, the waivers in force, the NOTICE and the bills of materials, and
    the audit events with their seals. The final bundle is built once, when the release
    is published, and never changes; a ready release may have a preview (marked so in
    its manifest), replaced by each new one."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="evidence")
    preview = models.BooleanField()
    #: The zip archive itself: kept in the database, so a backup of the database holds it.
    archive = models.BinaryField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    #: The id of the Ed25519 key that signed the manifest.
    key_id = models.CharField(max_length=16)
    #: The signed manifest, as in the archive (for the pages, without unpacking).
    manifest = models.JSONField()
    #: The exported tree the manifest names (git's tree id).
    tree = models.CharField(max_length=64)
    built_at = models.DateTimeField()
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip

    class Meta:
        ordering = ["-built_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["release"], condition=Q(preview=False), name="one_final_evidence_bundle"
            )
        ]

    def __str__(self) -> str:
        kind = "preview" if self.preview else "evidence"
        return f"{kind} of {self.release}"

    def get_absolute_url(self) -> str:
        return reverse("releases:evidence-download", args=[self.release_id, self.pk])

    @property
    def filename(self) -> str:
        component = self.release.component.slug
        suffix = "-preview" if self.preview else ""
        return f"{component}-{self.release.version}-evidence{suffix}.zip"


class ExternalAlert(models.Model):
    """A secret, an internal reference or a denied license found in a commit of the
    component's external repository (``releases.watch``): what was found where, by whom it
    was committed, the department it went to, and how that department settled it. One per
    component and fingerprint, so the same leak in two commits, or seen by a second sync,
    is one alert. Like a scan's findings it never holds a secret's value: ``excerpt`` is
    the detector's redacted preview and a secret's fingerprint is sealed with the server's
    key."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        CONFIRMED = "confirmed", "Confirmed"
        DISMISSED = "dismissed", "Dismissed"
        FIXED = "fixed", "Fixed"

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=16, choices=FindingKind.choices)
    rule = models.CharField(max_length=64)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    message = models.CharField(max_length=500)
    excerpt = models.CharField(max_length=300, blank=True)
    commit = models.CharField(max_length=64)
    path = models.CharField(max_length=1000)
    line = models.PositiveIntegerField(default=0)
    author_name = models.CharField(max_length=200, blank=True)
    author_email = models.CharField(max_length=200, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    fingerprint = models.CharField(max_length=64)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    triaged_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["component", "fingerprint"], name="one_external_alert_per_fingerprint"
            )
        ]
        indexes = [models.Index(fields=["state", "component"])]

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{self.get_kind_display()} in {where} at {self.commit[:10]}"

    def get_absolute_url(self) -> str:
        return reverse("releases:alert", kwargs={"slug": self.component.slug, "pk": self.pk})


class ExternalWatch(models.Model):
    """What the watcher has seen of a component's external repository: ``head`` is the
    external head of its last complete pass (every commit under it scanned, or behind an
    export), and ``scanned`` the commits beyond it that a pass cut short already scanned
    (a backlog over GATEHOUSE_WATCH_MAX_COMMITS, a time limit, a git error). A commit is
    added only after its alerts are written, so each is scanned once however often syncs
    run, and a sync that stops half-way scans the rest next time."""

    component = models.OneToOneField(Component, on_delete=models.CASCADE, related_name="watch")
    head = models.CharField(max_length=64, blank=True)
    scanned = models.JSONField(default=list, blank=True)
    #: Why the last pass stopped before the end (a git error, the time limit), or "".
    error = models.TextField(blank=True)
    checked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"watch of {self.component}: {len(self.scanned)} commits scanned"
