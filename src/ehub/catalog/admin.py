"""Django admin for the catalog: platform staff look products up and fix data by hand."""

from django.contrib import admin

from .models import Product, ProductImage, ProductTranslation, Sku


class TranslationInline(admin.TabularInline):
    model = ProductTranslation
    extra = 0


class SkuInline(admin.TabularInline):
    model = Sku
    extra = 0
    fields = ("code", "variant", "barcode", "price_myr", "is_active")


class ImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ("image", "thumbnail", "alt_text", "position")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("public_id", "org", "status", "category", "hs_code", "updated_at")
    list_filter = ("status", "category")
    search_fields = ("public_id", "translations__title", "skus__code", "hs_code")
    list_select_related = ("org",)
    readonly_fields = ("public_id", "created_at", "updated_at", "published_at")
    inlines = [TranslationInline, SkuInline, ImageInline]


@admin.register(Sku)
class SkuAdmin(admin.ModelAdmin):
    list_display = ("code", "product", "org", "price_myr", "is_active")
    search_fields = ("code", "barcode", "product__public_id")
    list_select_related = ("product", "org")
