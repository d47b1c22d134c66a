"""Writes for components and repositories. Each service is one transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

import vcs
from core.audit import audit_record
from governance import rules
from governance.enums import STAGE_TRANSITIONS, CommunityRole, RepositoryKind
from governance.models import (
    Component,
    ComponentGroupObjectPermission,
    ComponentRole,
    Repository,
    RepositoryBranch,
)
from governance.signals import component_roles_changed
from governance.validators import normalize_spdx_expression, validate_path_globs


@dataclass
class ComponentDraft:
    """The fields of a component not yet created, already validated by a form or serializer."""

    name: str
    slug: str
    license: str
    description: str = ""
    open_paths: list[str] = field(default_factory=list)
    internal_paths: list[str] = field(default_factory=list)


def _component_snapshot(component: Component) -> dict:
    return {
        "name": component.name,
        "slug": component.slug,
        "license": component.license,
        "stage": component.stage,
        "open_paths": component.open_paths,
        "internal_paths": component.internal_paths,
    }


def component_create(*, actor, draft: ComponentDraft) -> Component:
    """Create a component in the draft stage with ``actor`` as its owner.

    Grants the owner view and change permissions on it and writes an audit event.
    Raises ValidationError (per field) for a taken slug, a bad license or bad globs.
    """
    errors: dict[str, list[str]] = {}
    license_expression = ""
    try:
        license_expression = normalize_spdx_expression(draft.license)
    except ValidationError as exc:
        errors["license"] = exc.messages
    globs = {}
    for name in ("open_paths", "internal_paths"):
        try:
            globs[name] = validate_path_globs(getattr(draft, name))
        except ValidationError as exc:
            errors[name] = exc.messages
    name = draft.name.strip()
    if not name or len(name) > 120:
        errors["name"] = ["Give the component a name of at most 120 characters."]
    if not draft.slug or len(draft.slug) > 80 or not _SLUG.match(draft.slug):
        errors["slug"] = ["Give the component a slug: up to 80 letters, digits, - and _."]
    elif Component.objects.filter(slug=draft.slug).exists():
        errors["slug"] = [_slug_taken(draft.slug)]
    if errors:
        raise ValidationError(errors)
    try:
        return _component_insert(
            actor=actor, draft=draft, license_expression=license_expression, globs=globs
        )
    except IntegrityError as exc:
        # Two requests racing for one slug: the unique index decides.
        raise ValidationError({"slug": [_slug_taken(draft.slug)]}) from exc


_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


def _slug_taken(slug: str) -> str:
    return f"A component with the slug '{slug}' already exists."


def _component_insert(*, actor, draft: ComponentDraft, license_expression: str, globs: dict):
    with transaction.atomic():
        component = Component.objects.create(
            name=draft.name.strip(),
            slug=draft.slug,
            description=draft.description,
            license=license_expression,
            open_paths=globs["open_paths"],
            internal_paths=globs["internal_paths"],
            created_by=actor,
        )
        component_add_owner(component=component, user=actor, actor=actor, audit=False)
        audit_record(
            actor=actor,
            action="component.created",
            obj=component,
            after=_component_snapshot(component),
            scope=component.audit_scope,
        )
    return component


def component_add_owner(*, component: Component, user, actor, audit: bool = True) -> None:
    """Make ``user`` an owner: the M2M row plus view/change object permissions. Idempotent."""
    with transaction.atomic():
        component.owners.add(user)
        assign_perm("governance.view_component", user, component)
        assign_perm("governance.change_component", user, component)
        if audit:
            audit_record(
                actor=actor,
                action="component.owner_added",
                obj=component,
                after={"owner": user.get_username()},
                scope=component.audit_scope,
            )


def component_grant_view(*, component: Component, groups: list[Group], permission=None) -> None:
    """Let reviewer groups read a component they have been asked to review. Idempotent.

    ``permission`` (the view_component Permission row) saves a query when the caller
    already has it.
    """
    if permission is None:
        permission = Permission.objects.get(
            content_type__app_label="governance", codename="view_component"
        )
    ComponentGroupObjectPermission.objects.bulk_create(
        [
            ComponentGroupObjectPermission(group=g, permission=permission, content_object=component)
            for g in groups
        ],
        ignore_conflicts=True,
    )


def component_set_stage(*, component: Component, stage: str, actor, reason: str = "") -> bool:
    """Move a component to ``stage`` if the transition table allows it; audit the move.

    Call inside the caller's transaction with the component row locked or freshly read.
    Returns False (and changes nothing) when the component is already in that stage.
    """
    if component.stage == stage:
        return False
    if stage not in STAGE_TRANSITIONS[component.stage]:
        raise ValidationError(
            f"A component cannot move from {component.get_stage_display()} to {stage}."
        )
    before = component.stage
    component.stage = stage
    component.save(update_fields=["stage", "updated_at"])
    audit_record(
        actor=actor,
        action="component.stage_changed",
        obj=component,
        before={"stage": before},
        after={"stage": stage, "reason": reason} if reason else {"stage": stage},
        scope=component.audit_scope,
    )
    return True


def repository_record_head(*, url: str, branch: str, commit: str) -> Repository:
    """Remember the commit a branch resolved to; creates the repository row if new.

    Idempotent; call inside the caller's transaction.
    """
    repository, _ = Repository.objects.get_or_create(
        url=url, defaults={"kind": RepositoryKind.INTERNAL}
    )
    RepositoryBranch.objects.update_or_create(
        repository=repository,
        name=branch,
        defaults={"commit": commit, "resolved_at": timezone.now()},
    )
    return repository


def component_role_set(*, component: Component, user, role: str, actor) -> ComponentRole | None:
    """Give ``user`` the community ``role`` in ``component`` (replacing any other role they
    had there), or take their role away with ``role=""``. Only the component's PMC members
    and admins may; the last PMC member cannot step down or be removed by anyone but an
    admin, so a component is never left with nobody able to manage it. A named person may
    view the component (and loses that with the role, unless they own it). Audited;
    setting the role a person already has changes nothing and records nothing. Returns the
    role row, or None when removed. Sends ``component_roles_changed`` after commit."""
    if not rules.can_manage_roles(actor, component):
        raise PermissionDenied("Only the component's PMC members and admins manage its roles.")
    if role and role not in CommunityRole.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    with transaction.atomic():
        # Lock the component row: two PMC members editing at once apply one after the other.
        Component.objects.select_for_update().only("pk").get(pk=component.pk)
        current = ComponentRole.objects.filter(component=component, user=user).first()
        before = current.role if current else ""
        if before == role:
            return current
        if before == CommunityRole.PMC and not actor.is_superuser:
            others = (
                ComponentRole.objects.filter(component=component, role=CommunityRole.PMC)
                .exclude(user=user)
                .exists()
            )
            if not others:
                raise ValidationError(
                    {"role": "The last PMC member stays until another is named, "
                             "or an admin changes it."}
                )  # fmt: skip
        if not role:
            current.delete()
            current = None
            if not component.owners.filter(pk=user.pk).exists():
                remove_perm("governance.view_component", user, component)
        elif current is None:
            current = ComponentRole.objects.create(
                component=component, user=user, role=role, added_by=actor
            )
        else:
            current.role = role
            current.added_by = actor
            current.save(update_fields=["role", "added_by"])
        if role:
            # Named people see the component they are named in.
            assign_perm("governance.view_component", user, component)
        audit_record(
            actor=actor,
            action="component.role_changed",
            obj=component,
            before={"user": user.get_username(), "role": before},
            after={"user": user.get_username(), "role": role},
            scope=component.audit_scope,
        )
        transaction.on_commit(
            lambda: component_roles_changed.send(Component, component_id=component.pk)
        )
    return current


def _export_prefix(value: str, field_name: str) -> str:
    """A folder prefix: relative, no `..` or `.git` parts, ending in `/` (empty: the root)."""
    value = (value or "").strip().removeprefix("./")
    if not value:
        return ""
    parts = value.rstrip("/").split("/")
    if value.startswith("/") or any(p in ("", ".", "..", ".git") for p in parts):
        raise ValidationError({field_name: ["A relative folder such as rpc/core/, no '..'."]})
    return "/".join(parts) + "/"


def component_set_external(
    *, component: Component, actor, url: str, branch: str = "main", from_prefix: str = "",
    to_prefix: str = "",
) -> Component:  # fmt: skip
    """Set where the component's open scope is published: an external repository URL (on
    the allow-list; never with credentials in it), its branch, and an optional prefix
    mapping (``rpc/core/`` inside published at ``to_prefix`` outside). Owners and admins.
    Checked before anything is written; audited."""

    if not (actor.is_superuser or component.owners.filter(pk=actor.pk).exists()):
        raise PermissionDenied("Only the component's owners and admins set where it is published.")
    errors: dict[str, list[str]] = {}
    try:
        url = vcs.validate_url((url or "").strip(), settings.GATEHOUSE_GIT_ALLOW)
    except vcs.VcsError as exc:
        errors["url"] = [str(exc)]
    try:
        branch = vcs.validate_branch((branch or "main").strip())
    except vcs.VcsError as exc:
        errors["branch"] = [str(exc)]
    try:
        from_prefix = _export_prefix(from_prefix, "from_prefix")
        to_prefix = _export_prefix(to_prefix, "to_prefix")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not errors and component.internal_repository and url == component.internal_repository.url:
        errors["url"] = ["The external repository must not be the internal one."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        repository, _ = Repository.objects.get_or_create(
            url=url, defaults={"kind": RepositoryKind.EXTERNAL}
        )
        before = {
            "url": component.external_repository.url if component.external_repository else "",
            "branch": component.external_branch,
            "from_prefix": component.export_from_prefix,
            "to_prefix": component.export_to_prefix,
        }
        component.external_repository = repository
        component.external_branch = branch
        component.export_from_prefix = from_prefix
        component.export_to_prefix = to_prefix
        component.save(
            update_fields=["external_repository", "external_branch", "export_from_prefix",
                           "export_to_prefix", "updated_at"]
        )  # fmt: skip
        audit_record(
            actor=actor, action="component.external_set", obj=component, before=before,
            after={"url": url, "branch": branch, "from_prefix": from_prefix,
                   "to_prefix": to_prefix},
            scope=component.audit_scope,
        )  # fmt: skip
    return component
