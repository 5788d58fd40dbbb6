"""Money shown to people: Babel output per language, and the template filter."""

import pytest
from django.template import Context as TemplateContext
from django.template import Template
from django.utils import translation

from ehub.core.formatting import babel_locale, format_money
from ehub.core.money import Money

MYR = Money(123450, "MYR")


@pytest.mark.parametrize(
    ("money", "language", "expected"),
    [
        (MYR, "en", "RM1,234.50"),
        (MYR, "ms", "RM1,234.50"),
        (MYR, "zh-hans", "MYR1,234.50"),
        (Money(123450, "CNY"), "zh-hans", "¥1,234.50"),
        (Money(123450, "CNY"), "en", "CN¥1,234.50"),
        (Money(-123450, "USD"), "en", "-US$1,234.50"),
        (Money(-123450, "USD"), "ms", "-USD1,234.50"),
        (Money(1234, "JPY"), "en", "JP¥1,234"),
        (Money(1234500, "KWD"), "en", "KWD1,234.500"),
        # ISO exponent 2, where CLDR would show "IDR1,235"
        (Money(123450, "IDR"), "en", "IDR1,234.50"),
        (Money(5, "MYR"), "ms", "RM0.05"),
    ],
)
def test_format_money_per_language(money, language, expected):
    assert format_money(money, language) == expected


def test_language_codes_map_to_babel_locales():
    assert babel_locale("en") == "en_MY"
    assert babel_locale("ms") == "ms_MY"
    assert babel_locale("zh-hans") == "zh_Hans_CN"
    assert babel_locale("zh-Hans") == "zh_Hans_CN"
    assert babel_locale("en-us") == "en_MY"
    assert babel_locale("fr") == "en_MY"
    assert babel_locale(None) == "en_MY"


def test_format_money_refuses_non_money():
    with pytest.raises(TypeError):
        format_money("12.34", "en")


def test_money_filter_uses_the_active_language():
    template = Template("{% load money %}[{{ price|money }}][{{ missing|money }}]")
    context = TemplateContext({"price": Money(123450, "CNY"), "missing": None})
    with translation.override("zh-hans"):
        assert template.render(context) == "[¥1,234.50][]"
    with translation.override("en"):
        assert template.render(context) == "[CN¥1,234.50][]"


def test_money_filter_refuses_non_money():
    template = Template("{% load money %}{{ price|money }}")
    with pytest.raises(TypeError):
        template.render(TemplateContext({"price": 12.5}))
