"""Pure rules of the Malaysian export declaration: field validation and export duty (no DB)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from ehub.core.money import Money
from ehub.customs.domain import export as rules


def header(**changes) -> rules.ExportHeader:
    values = dict(
        exporter_ssm="201901012345",
        exporter_name="Durian Raja Sdn. Bhd.",
        exporter_address="12 Jalan Ampang, 50450 Kuala Lumpur",
        consignee_name="Hangzhou Bonded Hub Co., Ltd.",
        consignee_address="1 Wensan Road, Hangzhou",
        consignee_country="CN",
        declarant="Tan Mei Ling",
        transport_mode=rules.AIR,
        port_of_loading="KUL",
        destination_country="CN",
        destination_port="HGH",
        departure_date=date(2024, 3, 1),
        transport_reference="232-12345675",
    )
    values.update(changes)
    return rules.ExportHeader(**values)


def line(**changes) -> rules.ExportLine:
    values = dict(
        hs_code="081060",
        tariff_code="0810600000",
        description="Musang King durian, fresh",
        quantity=D("100"),
        unit="KGM",
        fob=Money(500_000, "MYR"),
        net_kg=D("100"),
        gross_kg=D("112.5"),
    )
    values.update(changes)
    return rules.ExportLine(**values)


TARIFF = {"0810600000", "1511100000", "1511901000"}
HS6 = {"081060", "151110", "151190"}


def fields(errors) -> set[str]:
    return {e.field for e in errors}


def check_lines(lines):
    return rules.validate_lines(lines, tariff_codes=TARIFF, tariff_hs6=HS6)


def test_a_valid_declaration_has_no_errors():
    assert rules.validate_header(header()) == []
    assert check_lines([line(), line(hs_code="940360", tariff_code="")]) == []


def test_bad_ssm_is_named():
    errors = rules.validate_header(header(exporter_ssm="201907012345"))  # entity type 07
    assert [(e.field, e.code) for e in errors] == [("exporter_ssm", "invalid_ssm")]
    assert fields(rules.validate_header(header(exporter_ssm=""))) == {"exporter_ssm"}


def test_header_code_lists():
    errors = rules.validate_header(
        header(
            transport_mode="7",
            port_of_loading="SIN",
            destination_port="JFK",
            destination_country="CN",
            consignee_country="China",
            transport_reference="",
        )
    )
    assert fields(errors) == {
        "transport_mode",
        "port_of_loading",
        "destination_port",
        "consignee_country",
        "transport_reference",
    }
    assert fields(rules.validate_header(header(destination_country="MY"))) >= {
        "destination_country"
    }
    # a country without a port list takes any IATA-shaped code
    assert rules.validate_header(header(destination_country="SG", destination_port="SIN")) == []


def test_hs_code_must_be_a_real_six_digit_subheading():
    for bad in ("12345", "1234567", "123456", "999999", "08106A"):
        errors = check_lines([line(hs_code=bad, tariff_code="")])
        assert "lines[0].hs_code" in fields(errors), bad


def test_tariff_code_must_sit_under_the_subheading_and_exist():
    assert fields(check_lines([line(tariff_code="1511100000")])) == {"lines[0].tariff_code"}
    errors = check_lines([line(tariff_code="0810609999")])
    assert [(e.field, e.code) for e in errors] == [("lines[0].tariff_code", "unknown")]
    # a subheading with national lines must name one, so a dutiable line cannot slip through
    errors = check_lines([line(hs_code="151110", tariff_code="")])
    assert [(e.field, e.code) for e in errors] == [("lines[0].tariff_code", "required")]


def test_weights_fob_and_origin_are_checked_per_line():
    errors = check_lines(
        [
            line(),
            line(gross_kg=D("99.999")),
            line(fob=Money(0, "MYR")),
            line(fob=Money(-1, "MYR"), quantity=D("0"), origin="TH"),
            line(fob=Money(100, "CNY"), net_kg=D("0")),
        ]
    )
    assert {(e.field, e.code) for e in errors} == {
        ("lines[1].gross_kg", "gross_below_net"),
        ("lines[2].fob", "invalid"),
        ("lines[3].fob", "invalid"),
        ("lines[3].quantity", "invalid"),
        ("lines[3].origin", "invalid"),
        ("lines[4].fob", "invalid"),
        ("lines[4].net_kg", "invalid"),
    }
    assert fields(check_lines([])) == {"lines"}


def test_gross_equal_to_net_is_allowed():
    assert check_lines([line(gross_kg=D("100"))]) == []


def test_duty_is_fob_times_rate_half_up_to_the_sen():
    lines = [
        line(hs_code="151110", tariff_code="1511100000", fob=Money(12_345, "MYR")),  # 123.45
        line(),
        line(hs_code="940360", tariff_code=""),
    ]
    result = rules.compute_duty(lines, {"1511100000": D("0.05"), "0810600000": D("0")})
    # 123.45 × 5 % = 6.1725 -> 6.17
    assert result.duties == (Money(617, "MYR"), Money(0, "MYR"), Money(0, "MYR"))
    assert result.total == Money(617, "MYR")
    assert result.fob_total == Money(1_012_345, "MYR")
    half = rules.compute_duty([line(tariff_code="X", fob=Money(10, "MYR"))], {"X": D("0.05")})
    assert half.total == Money(1, "MYR")  # 0.005 rounds half-up to 0.01


def test_status_moves_forward_only():
    assert rules.may_move("draft", "submitted")
    assert rules.may_move("submitted", "released")
    assert rules.may_move("submitted", "refused")
    assert not rules.may_move("submitted", "draft")
    assert not rules.may_move("released", "refused")
    assert not rules.may_move("refused", "released")


RATES = {"A": D("0.05"), "B": D("0.08"), "N": D("0")}


@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "N", ""]), st.integers(1, 10**11)),
        min_size=1,
        max_size=20,
    )
)
def test_lines_sum_to_the_total_and_nil_lines_are_zero(items):
    lines = [line(tariff_code=code, fob=Money(sen, "MYR")) for code, sen in items]
    result = rules.compute_duty(lines, RATES)
    assert Money.total(result.duties, "MYR") == result.total
    for item, duty, rate in zip(lines, result.duties, result.rates, strict=True):
        if rate == 0:
            assert duty.is_zero
        # never more than half a sen from the exact product
        assert abs(D(duty.amount) - D(item.fob.amount) * rate) <= D("0.5")
        assert not duty.is_negative


@given(st.integers(1, 10**11), st.integers(1, 10**6))
def test_duty_never_decreases_as_fob_grows(sen, more):
    low = rules.compute_duty([line(tariff_code="B", fob=Money(sen, "MYR"))], RATES)
    high = rules.compute_duty([line(tariff_code="B", fob=Money(sen + more, "MYR"))], RATES)
    assert high.total >= low.total


def test_header_is_a_frozen_dataclass():
    assert dataclasses.is_dataclass(header())


def test_answers_need_a_submission_first():
    assert not rules.may_move("draft", "released")
    assert not rules.may_move("draft", "refused")
