"""Use cases of orders: carts, checkout (quote + place), the lifecycle and the reads.

Split by concern: ``carts``, ``checkout``, ``lifecycle`` (transitions driven by engine events
and by people) and ``reads`` (scoped lists and details for buyers, merchants and staff).
"""

from . import carts, checkout, lifecycle, reads

__all__ = ["carts", "checkout", "lifecycle", "reads"]
