from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

SUBSCRIPTIONS = [
    ("payments.captured", "ehub.orders.handlers.on_payment_captured"),
    ("payments.cancelled", "ehub.orders.handlers.on_payment_cancelled"),
    ("payments.failed", "ehub.orders.handlers.on_payment_failed"),
    ("customs.released", "ehub.orders.handlers.on_customs_answer"),
    ("customs.inspection", "ehub.orders.handlers.on_customs_answer"),
    ("customs.rejected", "ehub.orders.handlers.on_customs_answer"),
    ("fulfillment.waybill_booked", "ehub.orders.handlers.on_waybill_booked"),
    ("fulfillment.packed", "ehub.orders.handlers.on_fulfillment"),
    ("fulfillment.shipped", "ehub.orders.handlers.on_fulfillment"),
    ("fulfillment.delivered", "ehub.orders.handlers.on_fulfillment"),
    ("fulfillment.delivery_failed", "ehub.orders.handlers.on_fulfillment"),
    ("fulfillment.returned", "ehub.orders.handlers.on_fulfillment"),
]


class OrdersConfig(AppConfig):
    name = "ehub.orders"
    label = "orders"
    verbose_name = _("Orders")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from ehub.core import events

        for name, handler in SUBSCRIPTIONS:
            events.subscribe(name, handler)
        user_logged_in.connect(_merge_cart, dispatch_uid="ehub.orders.merge_cart")

        from ehub.academy.readiness import register_probe

        register_probe("first_order_shipped", _first_order_shipped)


def _first_order_shipped(org) -> bool:
    """Export readiness: has this merchant shipped an order abroad yet?"""
    from .models import Order

    return Order.objects.filter(merchant=org, shipped_at__isnull=False).exists()


def _merge_cart(sender, request, user, **kwargs):
    """The anonymous cart follows the buyer into their account at login."""
    from .services import carts

    # The anonymous cart is found by a token kept in the session data, which survives the
    # session key rotation of login (the session key itself does not).
    key = request.session.get("ehub_cart_token", "") if request is not None else ""
    if key:
        carts.merge_at_login(key, user)
    if request is not None:  # the header's item count follows the merged cart
        from ehub.core.context import Context

        carts.remember_count(request.session, user, carts.cart_of(Context(user=user)))
