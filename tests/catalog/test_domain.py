"""Pure catalog rules, without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import ean

from ehub.catalog import domain
from ehub.core.money import Money


def fields(errors):
    return [e.field for e in errors]


def state(titles=None, hs_code="081190", skus=None):
    return domain.ProductState(
        titles=titles if titles is not None else {"en": "Durian", "zh-hans": "榴莲"},
        hs_code=hs_code,
        skus=skus if skus is not None else [domain.SkuState("A", True, Money(100, "MYR"))],
    )


class TestPublishability:
    def test_english_and_chinese_title_hs_code_and_priced_sku_publish(self):
        assert domain.publish_problems(state()) == []

    def test_missing_chinese_title_names_the_field(self):
        problems = domain.publish_problems(state(titles={"en": "Durian", "ms": "Durian"}))
        assert fields(problems) == ["translations.zh-hans.title"]

    def test_blank_english_title_counts_as_missing(self):
        assert fields(domain.publish_problems(state(titles={"en": " ", "zh-hans": "榴莲"}))) == [
            "translations.en.title"
        ]

    def test_hs_code_is_needed(self):
        assert fields(domain.publish_problems(state(hs_code=""))) == ["hs_code"]

    def test_an_inactive_or_unpriced_sku_does_not_count(self):
        skus = [domain.SkuState("A", False, Money(100, "MYR")), domain.SkuState("B", True, None)]
        assert fields(domain.publish_problems(state(skus=skus))) == ["skus"]

    def test_every_problem_is_reported_at_once(self):
        problems = domain.publish_problems(state(titles={}, hs_code="", skus=[]))
        assert fields(problems) == [
            "translations.en.title",
            "translations.zh-hans.title",
            "hs_code",
            "skus",
        ]


class TestTransitions:
    @pytest.mark.parametrize(
        ("current", "target", "allowed"),
        [
            ("draft", "active", True),
            ("active", "archived", True),
            ("archived", "draft", True),
            ("archived", "active", False),
            ("draft", "draft", False),
        ],
    )
    def test_status_machine(self, current, target, allowed):
        assert domain.may_transition(current, target) is allowed


class TestBarcode:
    @pytest.mark.parametrize("code", ["9551234000010", "4006381333931", "036000291452", "96385074"])
    def test_valid_ean13_upca_ean8(self, code):
        assert domain.check_barcode(code) == []

    def test_wrong_check_digit(self):
        assert [e.code for e in domain.check_barcode("9551234000011")] == ["checksum"]

    @pytest.mark.parametrize("code", ["12345", "95512340000100", "abcdefghijklm"])
    def test_wrong_length_or_letters(self, code):
        assert [e.code for e in domain.check_barcode(code)] == ["format"]

    @given(st.text(alphabet="0123456789", min_size=12, max_size=12))
    def test_any_ean13_with_its_computed_check_digit_is_valid(self, body):
        assert domain.check_barcode(body + ean.calc_check_digit(body)) == []


class TestHsCodes:
    def test_existing_subheading(self):
        assert domain.check_hs_code("081060") == []

    def test_unknown_subheading_is_named(self):
        errors = domain.check_hs_code("081099")
        assert fields(errors) == ["hs_code"]
        assert errors[0].code == "unknown_hs_code"

    @pytest.mark.parametrize("code", ["0810", "08106", "0810600", "08106x"])
    def test_not_six_digits(self, code):
        assert [e.code for e in domain.check_hs_code(code)] == ["format"]

    def test_a_heading_is_not_a_subheading(self):
        assert domain.check_hs_code("081000") != []

    def test_normalize_drops_dots_and_spaces(self):
        assert domain.normalize_hs_code("0810.60") == "081060"
        assert domain.normalize_hs_code(" 0810 60 ") == "081060"

    def test_gcode_must_refine_the_hs_code(self):
        assert domain.check_gcode("0811909000", "081190") == []
        assert [e.code for e in domain.check_gcode("0810600000", "081190")] == ["hs_mismatch"]
        assert [e.code for e in domain.check_gcode("081190", "081190")] == ["format"]
        assert [e.code for e in domain.check_gcode("0811909000", "")] == ["needs_hs_code"]


class TestCategories:
    @pytest.mark.parametrize(
        ("hs_code", "category"),
        [
            ("081060", "food_drink"),  # durian
            ("041090", "food_drink"),  # bird's nest
            ("210112", "food_drink"),  # white coffee
            ("330499", "beauty"),
            ("300490", "health"),
            ("621410", "fashion"),  # silk scarf
            ("620520", "fashion"),
            ("800700", "home_crafts"),  # pewter
            ("460212", "home_crafts"),  # rattan
            ("854143", "other"),  # solar panels
            ("", ""),
        ],
    )
    def test_category_from_chapter(self, hs_code, category):
        assert domain.category_for_hs(hs_code) == category

    def test_every_chapter_has_a_category(self):
        for chapter in range(1, 98):
            assert domain.category_for_hs(f"{chapter:02d}0000") in domain.Category.values


class TestPrice:
    def test_parses_ringgit_and_sen(self):
        assert domain.parse_price("12.90") == (Money(1290, "MYR"), [])
        assert domain.parse_price("7") == (Money(700, "MYR"), [])

    @pytest.mark.parametrize(
        ("text", "code"),
        [
            ("-1.00", "negative"),
            ("12.345", "invalid_amount"),
            ("12,90", "invalid_amount"),
            ("", "required"),
        ],
    )
    def test_refused_naming_the_field(self, text, code):
        price, errors = domain.parse_price(text, "price_myr")
        assert price is None
        assert [(e.field, e.code) for e in errors] == [("price_myr", code)]

    @given(st.integers(min_value=0, max_value=10**12))
    def test_round_trip_of_any_non_negative_amount(self, sen):
        money = Money(sen, "MYR")
        assert domain.parse_price(str(money.to_decimal())) == (money, [])

    @given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("-0.01"), places=2))
    def test_every_negative_amount_is_refused(self, amount):
        assert domain.parse_price(str(amount))[0] is None


class TestOtherFields:
    def test_variant_text(self):
        assert domain.parse_variant("size=1 kg; Flavour = Musang King") == (
            {"size": "1 kg", "flavour": "Musang King"},
            [],
        )
        assert fields(domain.parse_variant("size 1 kg")[1]) == ["variant"]
        assert domain.format_variant({"size": "1 kg", "pack": "2"}) == "size=1 kg; pack=2"

    def test_country(self):
        assert domain.check_country("MY") == []
        assert fields(domain.check_country("XX")) == ["origin_country"]

    def test_gross_weight_not_below_net(self):
        assert fields(domain.check_weights(500, 400)) == ["gross_weight_g"]
        assert domain.check_weights(500, 600) == []
        assert fields(domain.check_weights(0, None)) == ["net_weight_g"]

    def test_translations_need_some_title_and_known_languages(self):
        assert fields(domain.check_translations({})) == ["translations.en.title"]
        assert fields(domain.check_translations({"fr": domain.Text("Durian")})) == [
            "translations.fr"
        ]
        assert fields(
            domain.check_translations({"en": domain.Text("Durian"), "ms": domain.Text("", "Sedap")})
        ) == ["translations.ms.title"]

    def test_sku_code(self):
        assert domain.check_sku_code("RMK-MK-1600") == []
        assert fields(domain.check_sku_code("bad code")) == ["code"]
