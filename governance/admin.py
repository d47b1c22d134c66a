from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from governance.models import ChecklistQuestion, Component, Department, Repository


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
class ComponentAdmin(GuardedModelAdmin):
    list_display = ["name", "slug", "stage", "license"]
    list_filter = ["stage"]
    search_fields = ["name", "slug"]
    # The stage moves only through the review workflow, so every move is audited.
    readonly_fields = ["stage", "created_by", "internal_repository"]
    filter_horizontal = ["owners"]


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = ["url", "kind", "created_at"]
    search_fields = ["url"]
