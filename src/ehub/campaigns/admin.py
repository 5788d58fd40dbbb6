"""Django admin for campaigns: read-mostly views for support; changes go through the portals."""

from django.contrib import admin

from .models import Campaign, Claim, Offer, OfferBucket, Participation


class OfferBucketInline(admin.TabularInline):
    model = OfferBucket
    extra = 0
    readonly_fields = ("index", "remaining")
    can_delete = False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("public_id", "name_en", "slug", "status", "starts_at", "ends_at")
    list_filter = ("status", "target_market")
    search_fields = ("public_id", "slug", "name_en", "name_zh_hans")
    readonly_fields = ("public_id", "closed_at", "created_at", "updated_at")


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ("public_id", "campaign", "org", "sku", "status", "allocated_units")
    list_filter = ("status",)
    search_fields = ("public_id", "sku__code")
    list_select_related = ("campaign", "org", "sku")
    # Status, units and buckets move only through the services (stock must follow).
    readonly_fields = (
        "public_id",
        "status",
        "allocated_units",
        "bucket_count",
        "returned_units",
        "sale_starts_at",
        "sale_ends_at",
        "reviewed_by",
        "reviewed_at",
        "ended_at",
    )
    raw_id_fields = ("campaign", "org", "sku", "hub")
    inlines = [OfferBucketInline]


@admin.register(Participation)
class ParticipationAdmin(admin.ModelAdmin):
    list_display = ("campaign", "org", "status", "created_at")
    list_select_related = ("campaign", "org")


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    list_display = ("key", "offer", "buyer", "qty", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("key",)
    raw_id_fields = ("offer", "buyer")

    def has_change_permission(self, request, obj=None):
        return False
