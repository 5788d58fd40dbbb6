"""Catalog use cases, one module each: products, inventory, storefront reads, tariff lines.

Each function takes a Context and is one transaction.
"""
