"""API shapes for releases, waivers and the portfolio dashboard.

Input serializers check types and sizes and look up what the body names (among the rows
the caller may see); whether a version, commit, reason or expiry is acceptable, and who
may act, is ``releases.services``'s to say.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.enums import Stage
from governance.selectors import visible_components
from releases.dashboard import DEPARTMENT_CHIPS, SORTS
from releases.enums import GateStatus, ReleaseState, SyncStatus
from releases.models import Backport, EvidenceBundle, GitJob, Release, Waiver
from releases.selectors import visible_releases
from reviews.serializers import VisibleComponentField
from scans.enums import ScanStatus
from scans.models import Finding

# Ids in bodies and filters: short enough for a 64-bit column.
MAX_ID = 2**62
MAX_TEXT = 10_000
#: How far each department's review is, as the portfolio shows it.
CHIP_STATES = [*dict.fromkeys(DEPARTMENT_CHIPS.values()), "stale"]

# --------------------------------------------------------------------------- input


class ReleaseCreateSerializer(serializers.Serializer):
    """A new release. A blank or malformed version is left to the service, whose message
    says what a semantic version looks like."""

    component = VisibleComponentField(help_text="Slug of a component you own.")
    version = serializers.CharField(
        max_length=64, allow_blank=True, help_text="A semantic version, e.g. 1.4.0 or 2.0.0-rc.1."
    )
    commit = serializers.CharField(
        max_length=40,
        allow_blank=True,
        required=False,
        default="",
        help_text="The full commit id; left out, the commit the departments approved.",
    )
    notes = serializers.CharField(max_length=MAX_TEXT, allow_blank=True, required=False, default="")


class ReleaseCommitSerializer(serializers.Serializer):
    """A commit a release may be made of (GET components/{slug}/release-commits/)."""

    commit = serializers.CharField(help_text="Full commit id: post it as the release's commit.")
    label = serializers.CharField(help_text="What it is: approved, the branch head, a tag.")
    kind = serializers.ChoiceField(choices=["approved", "head", "tag"])


class ReleaseFilterSerializer(serializers.Serializer):
    """Query parameters of the release list."""

    component = serializers.SlugField(max_length=80, required=False, help_text="Component slug.")
    state = serializers.ChoiceField(choices=ReleaseState.choices, required=False)


class ReleaseCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=MAX_TEXT, allow_blank=True, help_text="Why the release is cancelled."
    )


def _visible_findings(user) -> QuerySet[Finding]:
    findings = Finding.objects.select_related("scan__component")
    if user.is_superuser:
        return findings
    return findings.filter(scan__component__in=visible_components(user))


class WaiverCreateSerializer(serializers.Serializer):
    """An exception for one gate of a release (``release`` and ``gate``), or for one
    finding of a component (``finding``: it holds across rescans, by fingerprint)."""

    release = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None
    )
    gate = serializers.CharField(
        max_length=40, allow_blank=True, required=False, default="", help_text="A gate key."
    )
    finding = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None
    )
    reason = serializers.CharField(max_length=MAX_TEXT, allow_blank=True)
    owner = serializers.CharField(
        max_length=150, allow_blank=True, help_text="Username of the person who owns it."
    )
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="Within a year; waivers always expire."
    )

    def _user(self):
        return self.context["request"].user

    def validate_release(self, value) -> Release | None:
        if value is None:
            return None
        release = (
            visible_releases(self._user()).select_related("component").filter(pk=value).first()
        )
        if release is None:
            raise serializers.ValidationError(f"No such release: {value}.")
        return release

    def validate_finding(self, value) -> Finding | None:
        if value is None:
            return None
        finding = _visible_findings(self._user()).filter(pk=value).first()
        if finding is None:
            raise serializers.ValidationError(f"No such finding: {value}.")
        return finding

    def validate_owner(self, value: str):
        if not value:
            return None  # the service says that a waiver needs an owner
        user = get_user_model().objects.filter(username=value, is_active=True).first()
        if user is None:
            raise serializers.ValidationError(f"No active user is called {value!r}.")
        return user


class WaiverFilterSerializer(serializers.Serializer):
    """Query parameters of the waiver list."""

    component = serializers.SlugField(max_length=80, required=False, help_text="Component slug.")
    release = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    active = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: neither revoked nor expired; false: revoked or expired.",
    )


class DashboardFilterSerializer(serializers.Serializer):
    """The portfolio's filters: the same query parameters as the portfolio page."""

    stage = serializers.ChoiceField(choices=Stage.choices, required=False, allow_blank=True)
    blocked = serializers.BooleanField(
        required=False, help_text="Only components whose latest release is blocked."
    )
    waiting_on = serializers.SlugField(
        max_length=50,
        required=False,
        allow_blank=True,
        help_text="Department slug: only components with a pending ticket there.",
    )
    owner = serializers.CharField(
        max_length=150, required=False, allow_blank=True, help_text="Owner's username."
    )
    q = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="Part of a name or slug."
    )
    sort = serializers.ChoiceField(choices=list(SORTS), required=False, allow_blank=True)

    def as_params(self) -> dict[str, str]:
        """The validated filters as the query parameters ``PortfolioFilters`` reads."""
        data = dict(self.validated_data)
        data["blocked"] = "1" if data.get("blocked") else ""
        return data


class BackportCreateSerializer(serializers.Serializer):
    commit = serializers.CharField(
        max_length=64, allow_blank=True,
        help_text="The full id of a community commit of the external branch.",
    )  # fmt: skip
    first = serializers.CharField(
        max_length=64, required=False, allow_blank=True,
        help_text="With it, every community commit from this one up to `commit` (both "
        "included) is brought back, oldest first, on one branch.",
    )  # fmt: skip


# --------------------------------------------------------------------------- output


class EvidenceSerializer(serializers.Serializer):
    label = serializers.CharField()
    url = serializers.CharField(help_text="A page showing it; may be empty.")


class GateResultSerializer(serializers.Serializer):
    gate = serializers.CharField(help_text="The gate's key, e.g. reviews, scan, licensing.")
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=GateStatus.choices)
    reason = serializers.CharField(help_text="Why it passes or what it still needs.")
    evidence = EvidenceSerializer(many=True)


class EvidenceBundleSerializer(serializers.ModelSerializer):
    """A stored evidence bundle (the archive itself is at ``download``)."""

    download = serializers.SerializerMethodField(help_text="The zip archive.")

    class Meta:
        model = EvidenceBundle
        fields = ["id", "preview", "size", "sha256", "key_id", "tree", "built_at", "download"]
        read_only_fields = fields

    def get_download(self, bundle: EvidenceBundle) -> str:
        query = "?preview=1" if bundle.preview else ""
        path = reverse("api-release-evidence", args=[bundle.release_id]) + query
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class ReleaseSerializer(serializers.ModelSerializer):
    component = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    state = serializers.ChoiceField(choices=ReleaseState.choices, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    gates = GateResultSerializer(
        many=True, read_only=True, help_text="The latest evaluation, one entry per gate."
    )

    class Meta:
        model = Release
        fields = [
            "id", "component", "version", "commit", "notes", "state", "gates", "created_by",
            "created_at", "updated_at", "evaluated_at", "published_at", "external_commit",
            "external_tag", "evidence",
        ]  # fmt: skip
        read_only_fields = fields

    evidence = serializers.SerializerMethodField(
        help_text="The final evidence bundle of a published release, else the newest "
        "preview, else null."
    )

    @extend_schema_field(EvidenceBundleSerializer(allow_null=True))
    def get_evidence(self, release: Release) -> dict | None:
        prefetched = getattr(release, "_prefetched_objects_cache", {})
        if "evidence" in prefetched:
            bundles = prefetched["evidence"]
        else:  # one release: one query, never the archives
            bundles = EvidenceBundle.objects.filter(release=release).defer("archive")
        chosen = min(bundles, key=lambda b: (b.preview, -b.built_at.timestamp()), default=None)
        return EvidenceBundleSerializer(chosen, context=self.context).data if chosen else None


class WaiverSerializer(serializers.ModelSerializer):
    component = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    release = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text="The release whose gate is waived; null for a finding waiver."
    )
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    granted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    revoked_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    active = serializers.SerializerMethodField(help_text="Neither revoked nor expired.")

    class Meta:
        model = Waiver
        fields = [
            "id", "component", "release", "gate", "fingerprint", "finding_label", "reason",
            "owner", "granted_by", "created_at", "expires_at", "revoked_at", "revoked_by",
            "lapsed_at", "active",
        ]  # fmt: skip
        read_only_fields = fields

    def get_active(self, waiver: Waiver) -> bool:
        return waiver.is_active(timezone.now())


class CountersSerializer(serializers.Serializer):
    components = serializers.IntegerField()
    by_stage = serializers.SerializerMethodField(help_text="Components per stage.")
    releases_blocked = serializers.IntegerField(help_text="Latest releases that are blocked.")
    releases_ready = serializers.IntegerField(help_text="Latest releases that are ready.")
    open_blocking_findings = serializers.IntegerField(
        help_text="Open blocking findings of the components' latest scans."
    )
    pending_tickets = serializers.IntegerField(
        help_text="Review tickets still waiting on a department."
    )

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_by_stage(self, counters) -> dict[str, int]:
        # Every stage, zero included, so a client need not know which ones exist.
        return {stage: counters.by_stage.get(stage, 0) for stage in Stage.values}


class DepartmentChipSerializer(serializers.Serializer):
    department = serializers.CharField(help_text="Department slug.")
    name = serializers.CharField()
    state = serializers.ChoiceField(
        choices=CHIP_STATES,
        help_text="stale: pending, with sign-offs made on an earlier commit.",
    )

    def to_representation(self, instance):
        slug, name, chip = instance
        return super().to_representation({"department": slug, "name": name, "state": chip})


class RowReleaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.CharField()
    state = serializers.ChoiceField(choices=ReleaseState.choices)


class RowScanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ScanStatus.choices)
    finished_at = serializers.DateTimeField(allow_null=True)


class RowSyncSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=SyncStatus.choices)
    checked_at = serializers.DateTimeField()


class PortfolioRowSerializer(serializers.Serializer):
    slug = serializers.CharField(source="component.slug")
    name = serializers.CharField(source="component.name")
    stage = serializers.ChoiceField(choices=Stage.choices, source="component.stage")
    departments = DepartmentChipSerializer(
        many=True, help_text="The latest submission's review, one entry per department."
    )
    blocking = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Open blocking findings of the latest scan, by kind.",
    )
    blocking_total = serializers.IntegerField()
    latest_release = RowReleaseSerializer(
        source="release", allow_null=True, help_text="The latest release not cancelled."
    )
    last_scan = RowScanSerializer(
        source="scan", allow_null=True, help_text="The latest finished scan."
    )
    sync = RowSyncSerializer(
        allow_null=True,
        help_text="The latest sync with the external repository; null without one, or "
        "before the first sync.",
    )


class DashboardSerializer(serializers.Serializer):
    """One page of the portfolio, with the counters over every visible component."""

    counters = CountersSerializer()
    count = serializers.IntegerField(help_text="Components matching the filters.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PortfolioRowSerializer(many=True)


# --------------------------------------------------------------------------- sync


class SyncCommitSerializer(serializers.Serializer):
    sha = serializers.CharField()
    subject = serializers.CharField()
    author = serializers.CharField()
    email = serializers.CharField()
    date = serializers.CharField(help_text="When it was authored, ISO 8601.")
    files = serializers.ListField(child=serializers.CharField(), help_text="At most 50.")


class SyncStateSerializer(serializers.Serializer):
    """The newest sync of a component's internal and external repositories. Before the
    first sync: status and checked_at null, everything else empty."""

    status = serializers.ChoiceField(choices=SyncStatus.choices, allow_null=True)
    checked_at = serializers.DateTimeField(allow_null=True)
    trigger = serializers.CharField(help_text="manual, beat, publish…")
    internal_head = serializers.CharField()
    external_head = serializers.CharField()
    last_exported_rev = serializers.CharField(
        help_text="The internal commit Gatehouse last exported from."
    )
    pending = SyncCommitSerializer(
        many=True, help_text="Internal commits touching the open scope since that export."
    )
    community = SyncCommitSerializer(
        many=True, help_text="External commits not made by Gatehouse since that export."
    )
    tags_missing_externally = serializers.ListField(child=serializers.CharField())
    tags_unknown_internally = serializers.ListField(child=serializers.CharField())
    external_tags = serializers.DictField(
        child=serializers.CharField(),
        help_text="External tag → the internal commit it was exported from (empty: not "
        "Gatehouse's).",
    )
    error = serializers.CharField()


class SyncRunSerializer(SyncStateSerializer):
    skipped = serializers.BooleanField(
        help_text="Another sync of the component was running: its result is shown."
    )


class BackportSerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(choices=Backport.State.choices, read_only=True)
    conflicts = serializers.ListField(
        child=serializers.CharField(), read_only=True,
        help_text="What did not apply, file by file; empty when the branch was created.",
    )  # fmt: skip

    class Meta:
        model = Backport
        fields = ["id", "source_commit", "source_commits", "state", "branch", "commit",
                  "conflicts"]  # fmt: skip
        read_only_fields = fields


class GitJobSerializer(serializers.ModelSerializer):
    """A publish, sync or back-port run by a worker. Poll ``url`` until ``status`` is
    succeeded or failed; then ``release``, ``sync`` or ``backport`` holds the outcome, or
    ``errors`` the reasons."""

    url = serializers.HyperlinkedIdentityField(view_name="api-git-job-detail")
    kind = serializers.ChoiceField(choices=GitJob.Kind.choices, read_only=True)
    status = serializers.ChoiceField(choices=GitJob.Status.choices, read_only=True)
    component = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    errors = serializers.ListField(child=serializers.CharField(), read_only=True)
    release = ReleaseSerializer(read_only=True, allow_null=True)
    sync = SyncStateSerializer(source="sync_state", read_only=True, allow_null=True)
    backport = BackportSerializer(read_only=True, allow_null=True)
    evidence = EvidenceBundleSerializer(read_only=True, allow_null=True)

    class Meta:
        model = GitJob
        fields = [
            "id", "url", "kind", "status", "step", "component", "params", "attempts",
            "errors", "created_by", "created_at", "started_at", "finished_at", "release",
            "sync", "backport", "evidence",
        ]  # fmt: skip
        read_only_fields = fields
