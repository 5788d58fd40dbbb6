"""Product search index (filled in by the storefront work): ``index_product(product_id)``."""


def index_product(product_id: int) -> None:
    """Refresh the search entry of one product. Services call it after changing a product."""
