import hashlib
import json

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from core.models import TimeStampedModel
from core.validators import no_control_characters
from governance.enums import CommunityRole, RepositoryKind, Stage
from vcs import plan


class Department(models.Model):
    """A reviewing department: data, not code. Its reviewers are the members of a group."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100, validators=[no_control_characters])
    reviewer_group = models.OneToOneField(
        Group, on_delete=models.PROTECT, related_name="department"
    )
    quorum = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Distinct approvals needed on one commit.",
    )
    sla_days = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(1)])
    leads = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="led_departments",
        help_text=(
            "Told when a ticket has waited twice the SLA (its reviewers are told once it "
            "passes it). A lead is told only of tickets they may open: make leads reviewers "
            "of the department."
        ),
    )  # fmt: skip
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    carry_forward_unexported = models.BooleanField(
        default=False,
        help_text=(
            "Keep this department's approvals when the submission moves to a commit whose "
            "change touches no exported file (audited each time)."
        ),
    )

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quorum__gte=1), name="quorum_min_1")
        ]

    def __str__(self) -> str:
        return self.name


class ChecklistQuestion(models.Model):
    """One question of a department's checklist template."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=300, validators=[no_control_characters])
    help_text = models.CharField(max_length=500, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["department", "position", "id"]

    def __str__(self) -> str:
        return self.text


class Repository(TimeStampedModel):
    """A git URL Gatehouse may read, registered once under its normalised ``key`` (host
    case, a trailing slash or ``.git``, a symlinked folder do not make another repository).
    A component holds it as its internal or external repository; no other may."""

    url = models.CharField(max_length=500, unique=True)
    key = models.CharField(max_length=600, unique=True)
    kind = models.CharField(
        max_length=16, choices=RepositoryKind.choices, default=RepositoryKind.INTERNAL
    )

    class Meta:
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.url


class RepositoryBranch(models.Model):
    """The last commit Gatehouse resolved for one branch of a repository."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="branches")
    name = models.CharField(max_length=255)
    commit = models.CharField(max_length=40)
    resolved_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "name"], name="unique_repository_branch")
        ]

    def __str__(self) -> str:
        return f"{self.repository} {self.name}@{self.commit[:10]}"


class Component(TimeStampedModel):
    """An internal piece of software on its way to open source, with its Open Core boundary."""

    name = models.CharField(max_length=120, validators=[no_control_characters])
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    owners = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="owned_components")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    open_paths = models.JSONField(default=list, blank=True, help_text="Globs that go public.")
    internal_paths = models.JSONField(default=list, blank=True, help_text="Globs that never leave.")
    license = models.CharField(max_length=200, help_text="SPDX license expression.")
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.DRAFT)
    # A repository is bound to one component at most (one-to-one), and a component's two
    # repositories differ: the registry (governance.repositories) refuses the rest.
    internal_repository = models.OneToOneField(
        Repository, null=True, blank=True, on_delete=models.PROTECT,
        related_name="internal_component",
    )  # fmt: skip
    # The Open Core export: where the open scope is published, and an optional prefix
    # mapping (internal `rpc/core/` published at the external root, say).
    external_repository = models.OneToOneField(
        Repository, null=True, blank=True, on_delete=models.PROTECT,
        related_name="external_component",
    )  # fmt: skip
    external_branch = models.CharField(max_length=255, default="main", blank=True)
    export_from_prefix = models.CharField(
        max_length=255, blank=True, help_text="Internal folder published elsewhere, e.g. rpc/core/."
    )
    export_to_prefix = models.CharField(
        max_length=255, blank=True, help_text="Where that folder lands outside; empty: the root."
    )

    class Meta:
        ordering = ["name"]
        # The portfolio pages by name: the first page is read off the index, not sorted.
        indexes = [models.Index(fields=["name"], name="component_name_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("governance:component", kwargs={"slug": self.slug})

    @property
    def audit_scope(self) -> str:
        return f"component:{self.pk}"

    def review_scope(self) -> dict:
        """What the departments approve besides the commit: the license, the Open Core
        boundary, the prefix mapping and where it is published. Changing any of it makes
        the sign-offs stale (reviews.services.component_scope_update)."""
        external = self.external_repository
        return {
            "license": self.license,
            "open_paths": list(self.open_paths),
            "internal_paths": list(self.internal_paths),
            "export_from_prefix": self.export_from_prefix,
            "export_to_prefix": self.export_to_prefix,
            "external_repository": external.url if external else "",
            "external_branch": self.external_branch if external else "",
        }

    @property
    def scope_digest(self) -> str:
        return scope_digest(self.review_scope())

    def export_plan(self, entries) -> plan.ExportPlan:
        """The fate of each of a commit's ``entries`` under this component's open scope
        and prefix mapping (vcs.plan)."""
        return plan.export_plan(
            entries,
            open_paths=self.open_paths,
            internal_paths=self.internal_paths,
            from_prefix=self.export_from_prefix,
            to_prefix=self.export_to_prefix,
        )

    @property
    def export_scope(self) -> plan.Scope:
        """The rules of the export plan, for judging one path (a commit's changed files)."""
        return plan.Scope(
            tuple(self.open_paths), tuple(self.internal_paths),
            self.export_from_prefix, self.export_to_prefix,
        )  # fmt: skip


def scope_digest(scope: dict) -> str:
    """A short, stable name for a review scope; a sign-off records the one it approved."""
    text = json.dumps(scope, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class ComponentRole(models.Model):
    """A person's community role in one component (one role per person and component).
    The maintainers gate reads these; PMC members and admins manage them."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="component_roles"
    )
    role = models.CharField(max_length=12, choices=CommunityRole.choices)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["component", "role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["component", "user"], name="one_role_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.get_role_display()} of {self.component}"


# Direct (foreign-key) object permission tables: see reviews.models for why.
class ComponentUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Component, on_delete=models.CASCADE)


class ComponentGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Component, on_delete=models.CASCADE)
