"""Showing Money to people, in their language (Babel / CLDR).

Django language codes map to Babel locales chosen for eHub's audience:

* ``en``      -> ``en_MY``: English as used in Malaysia, so MYR shows as ``RM`` and the
  US dollar as ``US$`` (unambiguous next to S$ and RM on a cross-border site);
* ``ms``      -> ``ms_MY``: Bahasa Melayu (Malaysia);
* ``zh-hans`` -> ``zh_Hans_CN``: simplified Chinese as read in mainland China (CNY is ``¥``).

Unknown languages fall back to ``en_MY``. The number of decimals is always the currency's
ISO 4217 exponent (``core.money``), not CLDR's display digits, so what a buyer sees matches
what is charged to the minor unit (CLDR would show IDR without decimals).
"""

from __future__ import annotations

import copy
from functools import lru_cache

from babel import Locale
from babel.numbers import NumberPattern

from ehub.core.money import Money

LOCALES: dict[str, str] = {
    "en": "en_MY",
    "ms": "ms_MY",
    "zh-hans": "zh_Hans_CN",
}
DEFAULT_LOCALE = "en_MY"


def babel_locale(language_code: str | None) -> str:
    """The Babel locale identifier used for a Django language code."""
    if not language_code:
        return DEFAULT_LOCALE
    code = language_code.lower().replace("_", "-")
    if code in LOCALES:
        return LOCALES[code]
    # "en-us" -> "en", "zh-hans-cn" -> "zh-hans"
    for known in sorted(LOCALES, key=len, reverse=True):
        if code.startswith(known + "-"):
            return LOCALES[known]
    return DEFAULT_LOCALE


@lru_cache(maxsize=64)
def _pattern(locale_id: str, digits: int) -> tuple[Locale, NumberPattern]:
    locale = Locale.parse(locale_id)
    pattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (digits, digits)
    return locale, pattern


def format_money(money: Money, language_code: str | None) -> str:
    """``Money(123450, "MYR")`` in ``en`` -> ``"RM1,234.50"``."""
    if not isinstance(money, Money):
        raise TypeError(f"format_money takes Money, not {type(money).__name__}")
    locale, pattern = _pattern(babel_locale(language_code), money.exponent)
    return pattern.apply(money.to_decimal(), locale, currency=money.currency, currency_digits=False)
