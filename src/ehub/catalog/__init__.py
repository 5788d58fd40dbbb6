"""Catalog: products, SKUs, translations, media, HS classification, inventory (to come)."""
