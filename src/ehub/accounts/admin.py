"""Django admin for accounts. Approval goes through accounts.services so it is audited; token
hashes and personal data never appear in clear."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ehub.core.context import Context
from ehub.core.errors import Conflict, NotFound, PermissionDenied
from ehub.core.fields import mask

from . import services
from .forms import AdminUserChangeForm, AdminUserCreationForm
from .models import ApiToken, BuyerProfile, Membership, Organization, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


class UserMembershipInline(MembershipInline):
    autocomplete_fields = ["org"]
    fields = ["org", "role", "created_at"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Email-based users: Django's user admin without the username."""

    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["last_login", "date_joined"]
    inlines = [UserMembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "preferred_language")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # memberships once the user exists

    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["legal_name", "kind", "status", "country", "registration_number", "created_at"]
    list_filter = ["kind", "status", "country"]
    search_fields = ["legal_name", "display_name", "registration_number", "public_id"]
    readonly_fields = ["public_id", "approved_at", "approved_by", "created_at"]
    inlines = [MembershipInline]
    actions = ["approve"]

    @admin.action(description=_("Approve selected pending organizations"))
    def approve(self, request, queryset):
        ctx = Context(user=request.user, org=None, roles=frozenset(), via="web")
        approved = 0
        for org in queryset:
            try:
                services.approve_org(ctx, org.pk)
            except (PermissionDenied, Conflict, NotFound) as exc:
                self.message_user(request, f"{org}: {exc}", messages.ERROR)
            else:
                approved += 1
        if approved:
            self.message_user(
                request,
                ngettext(
                    "%(count)d organization approved.",
                    "%(count)d organizations approved.",
                    approved,
                )
                % {"count": approved},
                messages.SUCCESS,
            )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only: tokens are created and revoked by their organization (or `ehub token`)."""

    list_display = [
        "name",
        "org",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "org__legal_name"]
    fields = ["name", "org", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BuyerProfile)
class BuyerProfileAdmin(admin.ModelAdmin):
    """Shows declared identities masked; the encrypted fields are never put in a form."""

    list_display = ["user", "masked_real_name", "masked_id_number", "id_verified", "country"]
    list_filter = ["id_verified", "country"]
    search_fields = ["user__email"]
    fields = [
        "user",
        "masked_real_name",
        "id_type",
        "masked_id_number",
        "masked_phone",
        "id_verified",
        "country",
        "currency",
        "created_at",
    ]
    readonly_fields = [
        "user",
        "masked_real_name",
        "id_type",
        "masked_id_number",
        "masked_phone",
        "country",
        "currency",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("real name"))
    def masked_real_name(self, obj):
        return mask(obj.real_name, visible=1)

    @admin.display(description=_("ID number"))
    def masked_id_number(self, obj):
        return mask(obj.id_number)

    @admin.display(description=_("phone"))
    def masked_phone(self, obj):
        return mask(obj.phone)
