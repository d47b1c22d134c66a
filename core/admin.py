"""The admin, audited: every add, change and delete made in /admin/ is an audit event in
the same chain as the services' (and in the same transaction: the admin saves inside
one), with the fields before and after. Models the services own are read-only here."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models

from core.audit import audit_record
from core.models import ApiToken, AuditEvent
from core.tokens import token_revoke

#: Never written into the audit log, whatever the model: hashes of passwords and tokens.
SECRET_FIELDS = {"password", "digest"}


def snapshot(obj: models.Model) -> dict:
    """The stored fields of ``obj`` (foreign keys as ids, many-to-many as sorted ids),
    without secrets; what an auditor needs to see what an edit changed."""
    data = {}
    for field in obj._meta.concrete_fields:
        if field.name not in SECRET_FIELDS:
            data[field.attname] = field.value_from_object(obj)
    if obj.pk is not None:
        for field in obj._meta.many_to_many:
            data[field.name] = sorted(o.pk for o in field.value_from_object(obj))
    return data


def _changes(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [k for k in after.keys() | before.keys() if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _scope(obj: models.Model) -> str:
    """Group an edit with its component's timeline when it concerns one."""
    if obj._meta.label_lower == "governance.component":
        return f"component:{obj.pk}"
    component_id = getattr(obj, "component_id", None)
    return f"component:{component_id}" if component_id else ""


class AuditedAdminMixin:
    """Put in front of any ModelAdmin (core.apps does, for every registered model)."""

    def _before(self, request) -> dict:
        if not hasattr(request, "_audit_before"):
            request._audit_before = {}
        return request._audit_before

    def save_model(self, request, obj, form, change):
        if change:
            stored = type(obj)._default_manager.filter(pk=obj.pk).first()
            if stored is not None:
                self._before(request)[(obj._meta.label_lower, obj.pk)] = snapshot(stored)
        super().save_model(request, obj, form, change)

    def _record(self, request, obj, action: str, message) -> None:
        model = obj._meta.label_lower
        stashed = self._before(request).pop((model, obj.pk), None)
        if action == "changed" and stashed is None:
            # A change made outside save_model (the admin's password form): what Django
            # says it changed, never the fields themselves.
            audit_record(
                actor=request.user, action="admin.changed", obj=obj, before={"model": model},
                after={"model": model, "change": str(message)[:500]}, scope=_scope(obj),
            )  # fmt: skip
            return
        obj.refresh_from_db()
        old, new = _changes(stashed or {}, snapshot(obj))
        if action == "changed" and not old and not new:
            return
        audit_record(
            actor=request.user, action=f"admin.{action}", obj=obj,
            before={"model": obj._meta.label_lower, **old},
            after={"model": obj._meta.label_lower, **new}, scope=_scope(obj),
        )  # fmt: skip

    # Called after save_related, so many-to-many and inlines are already saved.
    def log_addition(self, request, obj, message):
        self._record(request, obj, "added", message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._record(request, obj, "changed", message)
        return super().log_change(request, obj, message)

    def save_formset(self, request, form, formset, change):
        """Inline rows (a department's checklist questions): one event per row changed."""
        before = {}
        for inline in formset.initial_forms:
            instance = inline.instance
            if instance.pk is not None:
                stored = type(instance)._default_manager.filter(pk=instance.pk).first()
                if stored is not None:
                    before[instance.pk] = snapshot(stored)
        super().save_formset(request, form, formset, change)
        for obj in formset.deleted_objects:
            audit_record(
                actor=request.user, action="admin.deleted", obj=obj,
                before={"model": obj._meta.label_lower, **before.get(obj.pk, {})},
                scope=_scope(obj),
            )  # fmt: skip
        for obj in [*formset.new_objects, *(o for o, _ in formset.changed_objects)]:
            old, new = _changes(before.get(obj.pk, {}), snapshot(obj))
            audit_record(
                actor=request.user, action="admin.changed" if obj.pk in before else "admin.added",
                obj=obj, before={"model": obj._meta.label_lower, **old},
                after={"model": obj._meta.label_lower, **new}, scope=_scope(obj),
            )  # fmt: skip

    def delete_model(self, request, obj):
        self._record_deletion(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self._record_deletion(request, obj)
        super().delete_queryset(request, queryset)

    def _record_deletion(self, request, obj) -> None:
        audit_record(
            actor=request.user, action="admin.deleted", obj=obj,
            before={"model": obj._meta.label_lower, **snapshot(obj)}, scope=_scope(obj),
        )  # fmt: skip


def audit_every_admin(site: admin.AdminSite) -> None:
    """Give every registered ModelAdmin the audited mixin (once)."""
    for model, model_admin in list(site._registry.items()):
        cls = type(model_admin)
        if issubclass(cls, AuditedAdminMixin):
            continue
        audited = type(f"Audited{cls.__name__}", (AuditedAdminMixin, cls), {})
        site._registry[model] = audited(model, site)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows that change only through services (audited) or never: the admin reads."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "created_at", "actor_name", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "actor_name", "action"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are made by their owners (or ``create_api_token``); the office may revoke."""

    list_display = ["prefix", "name", "user", "created_at", "expires_at", "last_used_at",
                    "revoked_at"]  # fmt: skip
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "name", "user__username"]
    actions = ["revoke"]
    exclude = ["digest"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            token_revoke(token=token, actor=request.user)
        messages.success(request, f"{queryset.count()} token(s) revoked.")

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser
