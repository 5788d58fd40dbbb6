"""Orders API: carts, checkout, orders."""

from ninja import Router

carts_router = Router()
router = Router()
