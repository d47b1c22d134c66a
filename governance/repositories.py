"""The repository registry: which component holds which repository, and with what git
reaches it.

A repository is registered under its normalised URL (vcs.normalize_url), so two spellings
of one repository are one row, and it is bound to at most one component, as its internal
or its external repository. Binding a repository another component holds is refused with
a message that says nothing about that component. The open-source office (admins) lists
the registry, reassigns and unbinds; every change is audited.
"""

from __future__ import annotations

import os
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q

import vcs
from core.audit import audit_record
from governance.enums import RepositoryKind
from governance.models import Component, Repository

INTERNAL, EXTERNAL = RepositoryKind.INTERNAL, RepositoryKind.EXTERNAL
FIELD = {INTERNAL: "internal_repository", EXTERNAL: "external_repository"}
TAKEN = (
    "This repository is already registered in Gatehouse for another component. If it "
    "should be this one's, ask the open-source office to reassign it."
)


# --------------------------------------------------------------------------- git's options


@lru_cache(maxsize=4)
def _load_credentials(path: str, mtime: float) -> vcs.Credentials:
    try:
        return vcs.Credentials.load(path)
    except ValueError as exc:  # the message names the entry, never the secret
        raise ImproperlyConfigured(f"GATEHOUSE_GIT_CREDENTIALS_FILE: {exc}") from None


def git_credentials() -> vcs.Credentials:
    """The credentials of GATEHOUSE_GIT_CREDENTIALS_FILE, read again when the file changes
    (so a rotated credential needs no restart)."""
    path = settings.GATEHOUSE_GIT_CREDENTIALS_FILE
    if not path:
        return vcs.Credentials()
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        mtime = 0.0
    return _load_credentials(path, mtime)


def check_url(url: str) -> str:
    """A repository URL as typed, checked against the allow-list and the egress rules
    (before anything is stored or fetched); ValidationError with the reason. A host that
    does not resolve now passes here and is refused when git would contact it."""
    try:
        vcs.check_egress(url, settings.GATEHOUSE_GIT_ALLOW, unresolved_ok=True)
    except vcs.UnsafeURL as exc:
        raise ValidationError(str(exc)) from exc
    except vcs.VcsError as exc:
        raise ValidationError(str(exc)) from exc
    return url


# --------------------------------------------------------------------------- reads


def repository_for_url(url: str) -> Repository | None:
    return Repository.objects.filter(key=vcs.normalize_url(url)).first()


def holder_of(repository: Repository) -> tuple[Component, str] | None:
    """The component holding ``repository`` and as what, or None."""
    component = Component.objects.filter(
        Q(internal_repository=repository) | Q(external_repository=repository)
    ).first()
    if component is None:
        return None
    role = INTERNAL if component.internal_repository_id == repository.pk else EXTERNAL
    return component, role


def is_free_for(url: str, component: Component | None) -> bool:
    """Whether ``component`` (None: a component not created yet) may bind ``url``."""
    repository = repository_for_url(url)
    if repository is None:
        return True
    holder = holder_of(repository)
    return holder is None or (component is not None and holder[0].pk == component.pk)


# --------------------------------------------------------------------------- binding


def repository_bind(*, component: Component, url: str, role: str, actor) -> Repository:
    """Bind ``url`` to ``component`` as its ``role`` repository: the registered row for
    that URL (any spelling), created if new. Call inside the caller's transaction, with
    the URL already checked. Locks the repository row, so two components racing for one
    URL bind it once; refuses (ValidationError, a message naming nobody) a repository
    another component holds, and a component's two repositories being one. The repository
    it held before in that role is released. Audited when the binding changes; binding
    what is already bound changes nothing."""
    key = vcs.normalize_url(url)
    repository, _ = Repository.objects.get_or_create(key=key, defaults={"url": url, "kind": role})
    repository = Repository.objects.select_for_update().get(pk=repository.pk)
    holder = holder_of(repository)
    if holder is not None and holder[0].pk != component.pk:
        raise ValidationError(TAKEN)
    other = EXTERNAL if role == INTERNAL else INTERNAL
    if getattr(component, f"{FIELD[other]}_id") == repository.pk:
        raise ValidationError("The internal and the external repository must be different.")
    field = FIELD[role]
    previous = getattr(component, field)
    if previous is not None and previous.pk == repository.pk:
        return repository
    setattr(component, field, repository)
    component.save(update_fields=[field, "updated_at"])
    if repository.kind != role:
        repository.kind = role
        repository.save(update_fields=["kind", "updated_at"])
    audit_record(
        actor=actor, action="repository.bound", obj=repository,
        before={"component": component.slug, "role": role,
                "repository": previous.url if previous else ""},
        after={"component": component.slug, "role": role, "repository": repository.url},
        scope=component.audit_scope,
    )  # fmt: skip
    return repository


def _require_office(actor) -> None:
    if not (actor.is_authenticated and actor.is_superuser):
        raise PermissionDenied("Only the open-source office (admins) manages the registry.")


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why: the change is kept in the audit log."]})
    return reason[:1000]


def repository_unbind(*, repository: Repository, actor, reason: str) -> Repository:
    """Release ``repository`` from the component holding it (admins). The component keeps
    its history but loses the repository: no refresh, scan, sync, publish or back-port
    reaches it until it is bound again. Audited; idempotent."""
    _require_office(actor)
    reason = _reason(reason)
    with transaction.atomic():
        repository = Repository.objects.select_for_update().get(pk=repository.pk)
        holder = holder_of(repository)
        if holder is None:
            return repository
        component, role = holder
        component = Component.objects.select_for_update().get(pk=component.pk)
        setattr(component, FIELD[role], None)
        component.save(update_fields=[FIELD[role], "updated_at"])
        audit_record(
            actor=actor, action="repository.unbound", obj=repository,
            before={"component": component.slug, "role": role},
            after={"component": "", "reason": reason}, scope=component.audit_scope,
        )  # fmt: skip
    return repository


def repository_reassign(
    *, repository: Repository, component: Component, role: str, actor, reason: str
) -> Repository:
    """Move ``repository`` to ``component`` as its ``role`` repository (admins): the
    component that held it loses it, and what ``component`` held in that role before is
    released. Audited on both components' timelines."""
    _require_office(actor)
    reason = _reason(reason)
    if role not in FIELD:
        raise ValidationError({"role": ["Choose internal or external."]})
    with transaction.atomic():
        repository = Repository.objects.select_for_update().get(pk=repository.pk)
        holder = holder_of(repository)
        if holder is not None and (holder[0].pk, holder[1]) == (component.pk, role):
            return repository
        if holder is not None:
            previous = Component.objects.select_for_update().get(pk=holder[0].pk)
            setattr(previous, FIELD[holder[1]], None)
            previous.save(update_fields=[FIELD[holder[1]], "updated_at"])
            audit_record(
                actor=actor, action="repository.unbound", obj=repository,
                before={"component": previous.slug, "role": holder[1]},
                after={"component": component.slug, "reason": reason},
                scope=previous.audit_scope,
            )  # fmt: skip
        component = Component.objects.select_for_update().get(pk=component.pk)
        repository_bind(component=component, url=repository.url, role=role, actor=actor)
    return repository


def registry_rows():
    """Every registered repository with the component holding it: the office's list."""
    return Repository.objects.select_related("internal_component", "external_component").order_by(
        "key"
    )
