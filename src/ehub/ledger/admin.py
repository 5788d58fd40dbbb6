"""Django admin for the ledger: read-only. Money moves only through ledger.services."""

from django.contrib import admin

from .models import Account, PendingResolution, Transfer


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnly):
    list_display = (
        "code",
        "currency",
        "flags",
        "org",
        "debits_pending",
        "debits_posted",
        "credits_pending",
        "credits_posted",
    )
    list_filter = ("currency", "flags")
    search_fields = ("code", "name")
    list_select_related = ("org",)


@admin.register(Transfer)
class TransferAdmin(ReadOnly):
    list_display = (
        "client_id",
        "debit_account",
        "credit_account",
        "amount",
        "currency",
        "flags",
        "code",
        "reference",
        "created_at",
    )
    list_filter = ("currency", "code")
    search_fields = ("client_id", "reference")
    list_select_related = ("debit_account", "credit_account")
    show_full_result_count = False


@admin.register(PendingResolution)
class PendingResolutionAdmin(ReadOnly):
    list_display = ("pending", "status", "resolved_by", "amount", "resolved_at")
    list_filter = ("status",)
    search_fields = ("pending__client_id",)
