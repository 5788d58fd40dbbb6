"""quote_landed_cost: tariff lookups by date, the buyer's quota, refusals, query budget."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ehub.catalog.tariff import load_default_tariff
from ehub.core import clock
from ehub.core.context import Context
from ehub.core.money import Money
from ehub.customs import services
from ehub.customs.domain.tax import RefusalCode, Regime
from ehub.customs.services import QuoteLine

ID = "11010519491231002X"
DAY = date(2025, 6, 1)


def cny(text: str) -> Money:
    return Money.parse(text, "CNY")


@pytest.fixture
def tariff(db):
    load_default_tariff()


def test_quote_uses_the_tariff_in_force(tariff, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        quote = services.quote_landed_cost(
            [
                QuoteLine("3304990010", 1, cny("1000.00")),  # high-end skin care, CT 15 %
                QuoteLine("0810600000", 2, cny("100.00")),  # fresh durian, VAT 9 %
            ],
            freight=cny("60.00"),
            quota_used=cny("0"),
            on=DAY,
        )
    assert quote.regime is Regime.CBEC
    # Freight 60 split 50/10: D = 1050 and 210.
    # CT 1050·0.15/0.85·0.7 = 129.70588 → 129.71.
    # VAT 1050/0.85·0.091 + 210·0.063 = 112.41176 + 13.23 = 125.64176 → 125.64.
    assert quote.consumption_tax == cny("129.71")
    assert quote.vat == cny("125.64")
    assert quote.payable == cny("1260.00") + cny("255.35")


def test_quote_reads_the_buyers_quota(tariff, django_assert_max_num_queries):
    with clock.frozen(datetime(2025, 6, 1, 2, 0, tzinfo=UTC)):
        services.reserve_quota(Context.system(), ID, cny("25500.00"), "earlier")
        with django_assert_max_num_queries(2):
            quote = services.quote_landed_cost(
                [QuoteLine("1806320000", 1, cny("600.00"))], id_number=ID
            )
    assert quote.refusal.code is RefusalCode.OVER_ANNUAL_LIMIT
    assert quote.quota_used_before == cny("25500.00")


def test_unknown_or_not_yet_valid_line_is_refused(tariff):
    quote = services.quote_landed_cost(
        [QuoteLine("1806320000", 1, cny("10.00")), QuoteLine("0000000000", 1, cny("10.00"))],
        on=DAY,
    )
    assert quote.refusal.code is RefusalCode.NO_TARIFF_LINE
    assert quote.refusal.gcode == "0000000000"
    assert quote.tax_total == cny("0")
    before = services.quote_landed_cost(
        [QuoteLine("1806320000", 1, cny("10.00"))], on=date(2021, 12, 31)
    )
    assert before.refusal.code is RefusalCode.NO_TARIFF_LINE


def test_quote_applies_positive_list_and_quantity_limit(tariff):
    palm = services.quote_landed_cost([QuoteLine("1511100000", 1, cny("50.00"))], on=DAY)
    assert palm.refusal.code is RefusalCode.NOT_ON_POSITIVE_LIST
    sugar = services.quote_landed_cost(
        [QuoteLine("1701991000", 3, cny("15.00"), limit_qty=Decimal("3"))], on=DAY
    )
    assert sugar.refusal.code is RefusalCode.OVER_QUANTITY_LIMIT
    assert "2 kg" in str(sugar.refusal)


def test_single_expensive_item_pays_general_trade_duty(tariff):
    quote = services.quote_landed_cost([QuoteLine("0410902100", 1, cny("8000.00"))], on=DAY)
    # Bird's nest: duty 25 % = 2000; VAT (8000 + 2000) × 9 % = 900.
    assert quote.regime is Regime.CBEC_FULL
    assert (quote.duty, quote.vat) == (cny("2000.00"), cny("900.00"))
