from django.contrib import admin

from core.admin import ReadOnlyAdmin
from governance.models import ChecklistQuestion, Component, Department, Repository
from governance.services import component_add_owner


class ChecklistQuestionInline(admin.TabularInline):
    model = ChecklistQuestion
    extra = 1
    fields = ["position", "text", "help_text", "is_active"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "reviewer_group", "quorum", "sla_days", "is_active"]
    list_editable = ["quorum", "sla_days", "is_active"]
    inlines = [ChecklistQuestionInline]


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    """Name, description and owners. What the departments approve (license, paths,
    mapping, destination) changes only on the component's page, where a change reopens
    the review; the stage moves only through the review workflow; repositories are bound
    through the registry."""

    list_display = ["name", "slug", "stage", "license"]
    list_filter = ["stage"]
    search_fields = ["name", "slug"]
    readonly_fields = [
        "stage", "created_by", "license", "open_paths", "internal_paths", "internal_repository",
        "external_repository", "external_branch", "export_from_prefix", "export_to_prefix",
    ]  # fmt: skip
    filter_horizontal = ["owners"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Owners see and change their component: the same grants as component_add_owner.
        for owner in form.instance.owners.all():
            component_add_owner(
                component=form.instance, user=owner, actor=request.user, audit=False
            )


@admin.register(Repository)
class RepositoryAdmin(ReadOnlyAdmin):
    """Bindings change in the registry (Repositories, for the open-source office)."""

    list_display = ["url", "kind", "created_at"]
    search_fields = ["url", "key"]
