"""Template filters for Money: ``{% load money %}{{ order.total|money }}``.

Formats in the active Django language (see ``core.formatting`` for the locale mapping).
"""

from django import template
from django.utils.translation import get_language

from ehub.core.formatting import format_money
from ehub.core.money import Money

register = template.Library()


@register.filter(name="money")
def money_filter(value: Money | None) -> str:
    # Empty for missing amounts (an unpriced draft); anything that is not Money is a bug in
    # the view and must not be shown as if it were a price, so it raises.
    if value is None or value == "":
        return ""
    if not isinstance(value, Money):
        raise TypeError(f"the money filter takes Money, not {type(value).__name__}")
    return format_money(value, get_language())
