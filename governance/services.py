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
from core.validators import has_control_characters
from governance import repositories, rules
from governance.enums import STAGE_TRANSITIONS, CommunityRole
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
    if "open_paths" in globs and not globs["open_paths"]:
        errors["open_paths"] = [EMPTY_OPEN_SCOPE]
    name = draft.name.strip()
    if not name or len(name) > 120 or has_control_characters(name):
        errors["name"] = ["Give the component a name: one line of at most 120 characters."]
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


def repository_record_head(*, repository: Repository, branch: str, commit: str) -> Repository:
    """Remember the commit a branch of ``repository`` resolved to. Idempotent; call inside
    the caller's transaction."""
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
    if (
        value.startswith("/")
        or any(p in ("", ".", "..", ".git") for p in parts)
        or has_control_characters(value)
        or "\\" in value
    ):
        raise ValidationError({field_name: ["A relative folder such as rpc/core/, no '..'."]})
    return "/".join(parts) + "/"


EMPTY_OPEN_SCOPE = (
    "Name at least one open path (for example src/** or **): with none, nothing would be published."
)

#: The fields of a component's review scope an owner may change, and their defaults.
SCOPE_FIELDS = (
    "license", "open_paths", "internal_paths", "external_url", "external_branch",
    "from_prefix", "to_prefix",
)  # fmt: skip


def _clean_scope(component: Component, changes: dict) -> dict:
    """Validate the scope fields given in ``changes``; the others keep their values.
    Returns the new values by model field; ValidationError per field with the reasons."""
    unknown = set(changes) - set(SCOPE_FIELDS)
    if unknown:
        raise ValueError(f"Not scope fields: {sorted(unknown)}")
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    if "license" in changes:
        try:
            clean["license"] = normalize_spdx_expression(changes["license"])
        except ValidationError as exc:
            errors["license"] = exc.messages
    for name in ("open_paths", "internal_paths"):
        if name in changes:
            try:
                clean[name] = validate_path_globs(changes[name])
            except ValidationError as exc:
                errors[name] = exc.messages
    if "open_paths" in clean and not clean["open_paths"]:
        errors["open_paths"] = [EMPTY_OPEN_SCOPE]
    for name, target in (("from_prefix", "export_from_prefix"), ("to_prefix", "export_to_prefix")):
        if name in changes:
            try:
                clean[target] = _export_prefix(changes[name], name)
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if "external_url" in changes:
        url = (changes["external_url"] or "").strip()
        if not url:
            clean["external_url"] = ""
        else:
            try:
                clean["external_url"] = repositories.check_url(url)
            except ValidationError as exc:
                errors["external_url"] = exc.messages
    if "external_branch" in changes:
        try:
            clean["external_branch"] = vcs.validate_branch(
                (changes["external_branch"] or "main").strip()
            )
        except vcs.VcsError as exc:
            errors["external_branch"] = [str(exc)]
    url = clean.get("external_url")
    internal = component.internal_repository
    if url and internal is not None and vcs.normalize_url(url) == internal.key:
        errors["external_url"] = ["The external repository must not be the internal one."]
    elif url and not repositories.is_free_for(url, component):
        errors["external_url"] = [repositories.TAKEN]
    if not errors:
        errors.update(_external_problems(component, clean))
    if errors:
        raise ValidationError(errors)
    return clean


def _external_problems(component: Component, clean: dict) -> dict[str, list[str]]:
    """Checked when the external repository or branch is saved: reachable, and either
    without the branch yet (the first export creates it) or with a history Gatehouse can
    build on (SHA-1 object ids, as the internal side's). Errors per field."""
    if "external_url" not in clean and "external_branch" not in clean:
        return {}
    current = component.external_repository
    url = clean.get("external_url", current.url if current else "")
    if not url:
        return {}
    branch = clean.get("external_branch", component.external_branch or "main")
    try:
        head = vcs.ls_remote_branch(
            url, branch, allow=settings.GATEHOUSE_GIT_ALLOW,
            timeout=settings.GATEHOUSE_GIT_WEB_TIMEOUT,
            credentials=repositories.git_credentials(),
        )  # fmt: skip
    except vcs.BranchNotFound:
        return {}  # empty, or without this branch yet: the first export starts it
    except vcs.VcsError as exc:
        return {"external_url": [f"The external repository cannot be read: {exc}"]}
    if len(head) != 40:
        return {
            "external_url": [
                "The external repository uses SHA-256 object ids; Gatehouse exports SHA-1 "
                "history and cannot build on it."
            ]
        }
    return {}


def component_scope_apply(*, component: Component, actor, changes: dict) -> tuple[dict, dict]:
    """Write new review-scope values (see Component.review_scope) of ``component``:
    license, open and internal paths, prefix mapping, external repository and branch.

    Only part of the change: call reviews.services.component_scope_update, which also
    makes the sign-offs stale and reopens the review, in the same transaction. Owners and
    admins. Validates everything before writing; binds the external repository through
    the registry. Returns the scope (before, after); equal when nothing changed (then
    nothing is written or audited)."""
    if not (actor.is_superuser or component.owners.filter(pk=actor.pk).exists()):
        raise PermissionDenied(
            "Only the component's owners and admins change what it publishes and where."
        )
    clean = _clean_scope(component, changes)
    component = Component.objects.select_for_update().get(pk=component.pk)
    before = component.review_scope()
    fields = []
    for name in ("license", "open_paths", "internal_paths", "export_from_prefix",
                 "export_to_prefix", "external_branch"):  # fmt: skip
        if name in clean and getattr(component, name) != clean[name]:
            setattr(component, name, clean[name])
            fields.append(name)
    if fields:
        component.save(update_fields=[*fields, "updated_at"])
    if "external_url" in clean:
        url = clean["external_url"]
        current = component.external_repository
        if not url and current is not None:
            component.external_repository = None
            component.save(update_fields=["external_repository", "updated_at"])
        elif url and (current is None or current.key != vcs.normalize_url(url)):
            repositories.repository_bind(
                component=component, url=url, role=repositories.EXTERNAL, actor=actor
            )
    after = component.review_scope()
    if after != before:
        changed = [k for k in after if after[k] != before[k]]
        audit_record(
            actor=actor, action="component.scope_changed", obj=component,
            before={k: before[k] for k in changed}, after={k: after[k] for k in changed},
            scope=component.audit_scope,
        )  # fmt: skip
    return before, after
