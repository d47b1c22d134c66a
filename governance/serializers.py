"""API shapes for components. Input serializers check types and sizes only; what a valid
license, glob or slug owner is belongs to ``governance.services``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.enums import CommunityRole
from governance.models import Component, ComponentRole, Repository

# Bounds the request size of free text; the service decides what is acceptable inside it.
MAX_DESCRIPTION = 10_000


class ComponentCreateSerializer(serializers.Serializer):
    """Register a component. Blank name or license are left to the service, whose
    messages say what to enter."""

    name = serializers.CharField(max_length=120, allow_blank=True)
    slug = serializers.SlugField(max_length=80)
    description = serializers.CharField(
        max_length=MAX_DESCRIPTION, allow_blank=True, required=False, default=""
    )
    license = serializers.CharField(
        max_length=200, allow_blank=True, help_text="SPDX license expression, e.g. Apache-2.0."
    )
    open_paths = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=1000),
        required=False,
        default=list,
        help_text='Globs that go public, e.g. ["core/**", "api/**"].',
    )
    internal_paths = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=1000),
        required=False,
        default=list,
        help_text='Globs that never leave, e.g. ["sharding/**"].',
    )


class ComponentSerializer(serializers.ModelSerializer):
    owners = serializers.SlugRelatedField(many=True, read_only=True, slug_field="username")
    internal_repository = serializers.CharField(
        source="internal_repository.url",
        read_only=True,
        allow_null=True,
        help_text="URL of the internal repository last submitted, or null.",
    )
    open_paths = serializers.ListField(child=serializers.CharField(), read_only=True)
    internal_paths = serializers.ListField(child=serializers.CharField(), read_only=True)
    external_repository = serializers.CharField(
        source="external_repository.url",
        read_only=True,
        allow_null=True,
        help_text="URL of the repository the open scope is published to, or null.",
    )
    external_branch = serializers.SerializerMethodField(
        help_text="The branch published to; null without an external repository."
    )

    class Meta:
        model = Component
        fields = [
            "slug",
            "name",
            "description",
            "license",
            "open_paths",
            "internal_paths",
            "external_repository",
            "external_branch",
            "stage",
            "owners",
            "internal_repository",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_external_branch(self, component: Component) -> str | None:
        if component.external_repository_id is None:
            return None
        return component.external_branch


class ComponentRoleSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    role = serializers.ChoiceField(choices=CommunityRole.choices, read_only=True)
    added_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ComponentRole
        fields = ["username", "role", "added_by", "created_at"]
        read_only_fields = fields


class ComponentRoleSetSerializer(serializers.Serializer):
    """Give a person a community role in the component, or take it away (``role: ""``)."""

    # Validated into the User it names, under ``user``.
    username = serializers.CharField(max_length=150, source="user")
    role = serializers.ChoiceField(
        choices=CommunityRole.choices,
        allow_blank=True,
        help_text='The role to give; "" takes the person\'s role away.',
    )

    def validate_username(self, value: str):
        """The active user of that name, in place of the name."""
        user = get_user_model().objects.filter(username=value, is_active=True).first()
        if user is None:
            raise serializers.ValidationError(f"No active user is called {value!r}.")
        return user


class RepositorySerializer(serializers.ModelSerializer):
    """One registered repository and the component holding it."""

    component = serializers.SerializerMethodField(help_text="Slug of the holder, or null.")
    role = serializers.SerializerMethodField(help_text="internal, external, or null.")

    class Meta:
        model = Repository
        fields = ["id", "url", "key", "component", "role", "created_at"]
        read_only_fields = fields

    def _holder(self, repository):
        for role, name in (("internal", "internal_component"), ("external", "external_component")):
            try:
                return getattr(repository, name), role
            except Component.DoesNotExist:
                continue
        return None, None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_component(self, repository) -> str | None:
        component, _ = self._holder(repository)
        return component.slug if component else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_role(self, repository) -> str | None:
        return self._holder(repository)[1]


class RepositoryChangeSerializer(serializers.Serializer):
    """Reassign a repository (``component`` and ``role``), or unbind it (no component)."""

    component = serializers.SlugRelatedField(
        slug_field="slug", queryset=Component.objects.all(), required=False, allow_null=True
    )
    role = serializers.ChoiceField(choices=["internal", "external"], required=False)
    reason = serializers.CharField(max_length=1000)
