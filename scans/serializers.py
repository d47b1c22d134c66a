from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from scans.enums import FindingKind, ScanStatus, Severity, TriageState
from scans.models import Finding, ScanRun


class ScanRunSerializer(serializers.ModelSerializer):
    """A scan run; ``unread`` lists the files an incomplete scan could not read, and why."""

    repository = serializers.CharField(source="repository.url", read_only=True)
    component = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    status = serializers.ChoiceField(choices=ScanStatus.choices, read_only=True)

    class Meta:
        model = ScanRun
        fields = [
            "id", "repository", "component", "commit", "status", "engine_version",
            "policy_version", "files_total", "files_done", "files_cached", "files_skipped",
            "bytes_scanned", "created_at", "started_at", "finished_at", "seconds", "error",
            "unread",
        ]  # fmt: skip
        read_only_fields = fields


class FindingSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=FindingKind.choices, read_only=True)
    severity = serializers.ChoiceField(choices=Severity.choices, read_only=True)
    state = serializers.ChoiceField(choices=TriageState.choices, read_only=True)
    triaged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    confirmed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    holder = serializers.SerializerMethodField(help_text="Copyright findings: the holder.")
    years = serializers.SerializerMethodField(help_text="Copyright findings: the years.")
    data = serializers.JSONField(
        read_only=True,
        help_text="What the detector adds: e.g. count and lines of a repeated value, fixture, "
        "allowlisted, pair, holder and years, a license reference.",
    )
    awaits_confirmation = serializers.BooleanField(
        read_only=True,
        help_text="A blocking finding set aside by one reviewer: it still blocks until a "
        "second reviewer of the department confirms it.",
    )

    class Meta:
        model = Finding
        fields = [
            "id", "scan", "kind", "rule", "severity", "path", "line", "message", "excerpt",
            "license", "fingerprint", "state", "triaged_by", "triage_reason", "triaged_at",
            "awaits_confirmation", "confirmed_by", "confirmed_at", "holder", "years", "data",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_holder(self, finding) -> str | None:
        return (finding.data or {}).get("holder")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_years(self, finding) -> str | None:
        return (finding.data or {}).get("years")


class TriageSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=TriageState.choices)
    reason = serializers.CharField(max_length=2000)


class FindingFilterSerializer(serializers.Serializer):
    scan = serializers.IntegerField(required=False, min_value=1, max_value=2**62)
    kind = serializers.ChoiceField(choices=FindingKind.choices, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    state = serializers.ChoiceField(choices=TriageState.choices, required=False)
    path = serializers.CharField(required=False, max_length=200)
