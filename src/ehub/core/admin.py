"""Admin for the kernel's tables: FX rates (editable facts) and the audit log (read-only)."""

from django.contrib import admin

from ehub.core.models import AuditEntry, FxRate


@admin.register(FxRate)
class FxRateAdmin(admin.ModelAdmin):
    list_display = ("base", "quote", "rate", "source", "as_of", "created_at")
    list_filter = ("source", "base", "quote")
    search_fields = ("base", "quote", "source")
    date_hierarchy = "as_of"
    readonly_fields = ("created_at",)
    ordering = ("base", "quote", "-as_of")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "org_id", "action", "object_type", "object_id", "via")
    list_filter = ("action", "object_type", "via")
    search_fields = ("action", "object_type", "object_id", "actor_label", "request_id")
    date_hierarchy = "at"
    list_select_related = False

    # The log is evidence: nobody, superusers included, adds, edits or removes entries here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
