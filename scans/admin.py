from django.contrib import admin

from core.admin import ReadOnlyAdmin
from scans.models import BaselineEntry, Finding, ScanPolicy, ScanRun


@admin.register(ScanPolicy)
class ScanPolicyAdmin(admin.ModelAdmin):
    """The policy is data: lists of internal domains, packages, patterns and licenses.
    Saving it changes its version, so cached scan results made under the old one miss."""

    list_display = ["__str__", "updated_at"]


@admin.register(ScanRun)
class ScanRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "component", "commit", "status", "files_total", "seconds", "created_at"]
    list_filter = ["status"]


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ["id", "scan", "kind", "rule", "severity", "path", "line", "state"]
    list_filter = ["kind", "severity", "state"]
    search_fields = ["path", "rule"]


@admin.register(BaselineEntry)
class BaselineEntryAdmin(ReadOnlyAdmin):
    """Imported with ``manage.py import_baseline``, audited."""

    list_display = ["component", "fingerprint", "source", "imported_by", "imported_at"]
    search_fields = ["fingerprint", "component__slug"]
