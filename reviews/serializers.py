"""API shapes for submissions, review tickets and sign-offs.

Input serializers check types and sizes and reshape the body into the arguments the
services take; every rule about who may do what, and when, lives in the services.
"""

from __future__ import annotations

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.selectors import visible_components
from reviews.enums import Answer, Decision, SignOffStatus, SubmissionState, TicketState
from reviews.models import ChecklistAnswer, ReviewTicket, SignOff, Submission

# --------------------------------------------------------------------------- input

_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,80}")


@extend_schema_field(OpenApiTypes.STR)
class VisibleComponentField(serializers.SlugRelatedField):
    """A component slug, looked up among the components the caller may see, so a slug
    the caller cannot see reads exactly like one that does not exist."""

    default_error_messages = {
        "does_not_exist": "No such component: '{value}'.",
        "invalid": "Give the component's slug.",
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        return visible_components(self.context["request"].user)

    def to_internal_value(self, data):
        # Only slug-shaped text reaches the database (PostgreSQL refuses NUL bytes).
        if not isinstance(data, str) or not _SLUG.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class SubmissionCreateSerializer(serializers.Serializer):
    component = VisibleComponentField(help_text="Slug of a component you own.")
    repository_url = serializers.CharField(
        max_length=500, help_text="https:// or allow-listed file:// URL of the repository."
    )
    branch = serializers.CharField(max_length=255)
    # Blank is the service's to refuse, with a message that says what to write.
    justification = serializers.CharField(allow_blank=True)


class SubmissionResubmitSerializer(serializers.Serializer):
    response = serializers.CharField(
        allow_blank=True, help_text="What you changed in answer to the requested changes."
    )


class ChecklistAnswerInputSerializer(serializers.Serializer):
    question = serializers.IntegerField(min_value=1, help_text="Checklist question id.")
    answer = serializers.ChoiceField(choices=Answer.choices)
    note = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")


class SignOffCreateSerializer(serializers.Serializer):
    """A decision on a ticket. ``answers`` is a list of ``{question, answer, note}``, one
    per checklist question; an approval needs every active question answered."""

    decision = serializers.ChoiceField(choices=Decision.choices)
    comment = serializers.CharField(
        allow_blank=True,
        required=False,
        default="",
        help_text="Required unless the decision is approve.",
    )
    commit = serializers.RegexField(
        r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$",
        required=False,
        allow_blank=True,
        default="",
        help_text="The full commit SHA you reviewed; refused if the branch has moved since.",
        error_messages={"invalid": "Give the full commit SHA you reviewed."},
    )
    answers = ChecklistAnswerInputSerializer(many=True, required=False, default=list)

    def validate_answers(self, value) -> dict[int, tuple[str, str]]:
        """Reshape into the mapping ``signoff_create`` takes: question id -> (answer, note)."""
        mapping: dict[int, tuple[str, str]] = {}
        for item in value:
            if item["question"] in mapping:
                raise serializers.ValidationError(
                    f"Question {item['question']} is answered more than once."
                )
            mapping[item["question"]] = (item["answer"], item["note"])
        return mapping


class TicketFilterSerializer(serializers.Serializer):
    """Query parameters of the ticket list."""

    state = serializers.ChoiceField(choices=TicketState.choices, required=False)
    department = serializers.SlugField(max_length=50, required=False, help_text="Department slug.")


# --------------------------------------------------------------------------- output


def _enum_schema(choices) -> dict:
    return {
        "type": "string",
        "enum": [value for value, _ in choices],
        "description": "\n".join(f"* `{value}` - {label}" for value, label in choices),
    }


# Submissions and tickets both have a `state` with different choices; naming each enum
# as its own component keeps the schema's enum names stable and unambiguous.
@extend_schema_field(_enum_schema(SubmissionState.choices), component_name="SubmissionState")
class SubmissionStateField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=SubmissionState.choices, read_only=True, **kwargs)


@extend_schema_field(_enum_schema(TicketState.choices), component_name="TicketState")
class TicketStateField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=TicketState.choices, read_only=True, **kwargs)


class TicketSummarySerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    state = TicketStateField()

    class Meta:
        model = ReviewTicket
        fields = ["id", "department", "state"]


class SubmissionSerializer(serializers.ModelSerializer):
    component = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    repository_url = serializers.CharField(source="repository.url", read_only=True)
    submitted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    state = SubmissionStateField()
    tickets = TicketSummarySerializer(many=True, read_only=True)

    class Meta:
        model = Submission
        fields = [
            "id",
            "component",
            "repository_url",
            "branch",
            "commit",
            "previous_commit",
            "scope",
            "previous_scope",
            "scope_changed_at",
            "state",
            "submitted_by",
            "justification",
            "created_at",
            "tickets",
        ]
        read_only_fields = fields


class SubmissionRefreshSerializer(SubmissionSerializer):
    """The submission after a refresh or resubmit, with what the branch did. The view
    hangs the service's RefreshResult on the submission as ``refresh``."""

    moved = serializers.BooleanField(source="refresh.moved", read_only=True)
    old_commit = serializers.CharField(source="refresh.old_commit", read_only=True)
    new_commit = serializers.CharField(source="refresh.new_commit", read_only=True)
    stale_signoffs = serializers.IntegerField(
        source="refresh.stale_signoffs",
        read_only=True,
        help_text="Sign-offs that went stale because the branch moved.",
    )

    class Meta(SubmissionSerializer.Meta):
        fields = [
            *SubmissionSerializer.Meta.fields,
            "moved",
            "old_commit",
            "new_commit",
            "stale_signoffs",
        ]
        read_only_fields = fields


class SignOffSerializer(serializers.ModelSerializer):
    reviewer = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decision = serializers.ChoiceField(choices=Decision.choices, read_only=True)
    status = serializers.ChoiceField(choices=SignOffStatus.choices, read_only=True)

    class Meta:
        model = SignOff
        fields = [
            "id", "reviewer", "decision", "commit", "scope_digest", "status", "comment",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ChecklistQuestionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    text = serializers.CharField(read_only=True)
    help = serializers.CharField(source="help_text", read_only=True)


class TicketSerializer(serializers.ModelSerializer):
    submission = serializers.PrimaryKeyRelatedField(read_only=True)
    component = serializers.CharField(source="submission.component.slug", read_only=True)
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    state = TicketStateField()
    commit = serializers.CharField(
        source="submission.commit",
        read_only=True,
        help_text="The commit under review: the submission's current commit.",
    )
    signoffs = SignOffSerializer(many=True, read_only=True)
    checklist = serializers.SerializerMethodField(
        help_text="The department's active checklist questions. Answer each in the sign-off's "
        "``answers`` as ``{question: id, answer: yes|no|n/a, note}``; an approval needs "
        "every one answered, none with no."
    )

    class Meta:
        model = ReviewTicket
        fields = [
            "id",
            "submission",
            "component",
            "department",
            "state",
            "commit",
            "created_at",
            "checklist",
            "signoffs",
        ]
        read_only_fields = fields

    @extend_schema_field(ChecklistQuestionSerializer(many=True))
    def get_checklist(self, ticket) -> list[dict]:
        # .all() then filter here: the list view prefetches the questions once.
        questions = [q for q in ticket.department.questions.all() if q.is_active]
        return ChecklistQuestionSerializer(questions, many=True).data


class ChecklistAnswerSerializer(serializers.ModelSerializer):
    answer = serializers.ChoiceField(choices=Answer.choices, read_only=True)

    class Meta:
        model = ChecklistAnswer
        fields = ["question", "answer", "note"]
        read_only_fields = fields


class SignOffResultSerializer(SignOffSerializer):
    """A new sign-off with the states it left its ticket and submission in."""

    ticket = serializers.PrimaryKeyRelatedField(read_only=True)
    ticket_state = TicketStateField(source="ticket.state")
    submission = serializers.IntegerField(source="ticket.submission_id", read_only=True)
    submission_state = SubmissionStateField(source="ticket.submission.state")
    answers = ChecklistAnswerSerializer(many=True, read_only=True)

    class Meta(SignOffSerializer.Meta):
        fields = [
            *SignOffSerializer.Meta.fields,
            "answers",
            "ticket",
            "ticket_state",
            "submission",
            "submission_state",
        ]
        read_only_fields = fields


# --------------------------------------------------------------------------- review scope


class ScopeChangeSerializer(serializers.Serializer):
    """The parts of the review scope to change; the others stay as they are. An empty
    ``external_repository`` stops publishing anywhere."""

    license = serializers.CharField(max_length=200, required=False)
    open_paths = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=1000),
        required=False,
    )
    internal_paths = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=1000),
        required=False,
    )
    external_repository = serializers.CharField(max_length=500, allow_blank=True, required=False)
    external_branch = serializers.CharField(max_length=255, required=False)
    export_from_prefix = serializers.CharField(max_length=255, allow_blank=True, required=False)
    export_to_prefix = serializers.CharField(max_length=255, allow_blank=True, required=False)

    RENAMES = {
        "external_repository": "external_url",
        "export_from_prefix": "from_prefix",
        "export_to_prefix": "to_prefix",
    }

    def changes(self) -> dict:
        """The validated fields under the names component_scope_update takes."""
        return {self.RENAMES.get(k, k): v for k, v in self.validated_data.items()}


class ScopeSerializer(serializers.Serializer):
    """A component's review scope now, its digest (what each sign-off records), and how
    many sign-offs the last change made stale."""

    component = serializers.CharField()
    scope = serializers.DictField()
    scope_digest = serializers.CharField()
    stale_signoffs = serializers.IntegerField(required=False)


# --------------------------------------------------------------------------- the code


class CodeFindingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    severity = serializers.CharField()
    state = serializers.CharField()
    line = serializers.IntegerField()
    message = serializers.CharField()
    open = serializers.BooleanField(source="unsettled")


class TreeFileSerializer(serializers.Serializer):
    path = serializers.CharField()
    fate = serializers.ChoiceField(choices=["published", "internal", "excluded"])
    published_path = serializers.CharField(help_text="Where it lands outside; '' unless published.")
    reason = serializers.CharField()
    glob = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    sha = serializers.CharField()
    findings = CodeFindingSerializer(many=True)


class TreeQuerySerializer(serializers.Serializer):
    filter = serializers.ChoiceField(
        choices=["findings"], required=False,
        help_text="``findings``: only the published files with findings.",
    )  # fmt: skip


class DiffQuerySerializer(serializers.Serializer):
    _sha = r"^[0-9a-f]{40}$"
    error = {"invalid": "Give a full commit id (40 lowercase hex digits)."}
    # "from" is a Python keyword: declared under it through the fields mapping below.
    to = serializers.RegexField(_sha, required=False, error_messages=error,
                                help_text="Default: the commit under review.")  # fmt: skip

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.RegexField(
            self._sha, error_messages=self.error,
            help_text="The commit to compare from: one this submission was reviewed at.",
        )  # fmt: skip
        return fields


class DiffLineSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[" ", "+", "-"])
    old_line = serializers.IntegerField(allow_null=True)
    new_line = serializers.IntegerField(allow_null=True)
    text = serializers.CharField()


class HunkSerializer(serializers.Serializer):
    old_start = serializers.IntegerField()
    old_count = serializers.IntegerField()
    new_start = serializers.IntegerField()
    new_count = serializers.IntegerField()
    lines = DiffLineSerializer(many=True)


class DiffFileSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        source="change.status", choices=["added", "modified", "deleted", "renamed"]
    )
    old_path = serializers.CharField(source="change.old_path")
    new_path = serializers.CharField(source="change.new_path")
    fate = serializers.CharField(help_text="Export-plan fate at the new commit (old, if deleted).")
    published_path = serializers.CharField()
    fate_before = serializers.CharField()
    binary = serializers.BooleanField(source="change.binary")
    too_large = serializers.BooleanField(source="change.too_large")
    hunks_omitted = serializers.BooleanField(source="change.hunks_omitted")
    similarity = serializers.IntegerField(source="change.similarity", allow_null=True)
    additions = serializers.IntegerField(source="change.additions")
    deletions = serializers.IntegerField(source="change.deletions")
    hunks = HunkSerializer(source="change.hunks", many=True)


class DiffSerializer(serializers.Serializer):
    old_commit = serializers.CharField()
    new_commit = serializers.CharField()
    old_is_ancestor = serializers.BooleanField(
        source="diff.old_is_ancestor", allow_null=True,
        help_text="False after a force-push; null when history was too long to walk.",
    )  # fmt: skip
    truncated = serializers.BooleanField(source="diff.truncated")
    touches_export = serializers.BooleanField()
    files = DiffFileSerializer(many=True)


class FileQuerySerializer(serializers.Serializer):
    path = serializers.CharField(max_length=4096, trim_whitespace=False)


class CodeFileSerializer(serializers.Serializer):
    path = serializers.CharField(source="planned.path")
    commit = serializers.CharField()
    fate = serializers.CharField(source="planned.fate")
    published_path = serializers.CharField(source="planned.published_path")
    size = serializers.IntegerField(source="blob.size")
    sha = serializers.CharField(source="blob.sha")
    binary = serializers.BooleanField(source="blob.binary")
    too_large = serializers.BooleanField(source="blob.too_large")
    text = serializers.SerializerMethodField(help_text="null when binary or too large.")
    findings = CodeFindingSerializer(many=True)

    def get_text(self, view) -> str | None:
        return view.blob.text() if view.shown else None
