"""Catalog portal pages: products (``products``) and stock (``inventory``)."""
