"""Risk lanes: each rule fires with its reason, scores add up, lanes follow the data file."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ehub.core.money import Money
from ehub.customs.domain.risk import (
    Lane,
    RiskFacts,
    RiskLine,
    Screen,
    assess,
    parse_restricted,
    parse_rules,
    shipped_restricted,
    shipped_rules,
    shipped_screen,
)


def cny(text):
    return Money.parse(text, "CNY")


def line(**changes):
    fields = dict(
        gcode="1806320000", qty=D("2"), unit_price=cny("50.00"), reference_price=cny("55.00")
    )
    fields.update(changes)
    return RiskLine(**fields)


def facts(**changes):
    fields = dict(
        lines=[line()],
        dutiable=cny("120.00"),
        parties={"buyer": "李伟", "consignee": "李伟", "seller": "Durian Raja Sdn. Bhd."},
    )
    fields.update(changes)
    return RiskFacts(**fields)


def rules_fired(assessment):
    return [reason.rule for reason in assessment.reasons]


def test_ordinary_parcel_is_green():
    result = assess(facts())
    assert (result.score, result.lane, result.reasons) == (0, Lane.GREEN, ())


def test_undervaluation_against_the_reference_price():
    result = assess(facts(lines=[line(unit_price=cny("38.49"))]))  # below 70 % of 55.00
    assert rules_fired(result) == ["undervaluation"]
    assert result.lane is Lane.AMBER and result.score == 40
    message = str(result.reasons[0].message)
    assert "38.49" in message and "69 %" in message and "55.00" in message
    assert assess(facts(lines=[line(unit_price=cny("38.50"))])).reasons == ()
    assert assess(facts(lines=[line(reference_price=None, unit_price=cny("0.01"))])).reasons == ()
    looser = dataclasses.replace(shipped_rules(), undervaluation_ratio=D("0.5"))
    assert assess(facts(lines=[line(unit_price=cny("38.49"))]), rules=looser).reasons == ()


def test_quantity_rules():
    over = assess(
        facts(
            lines=[
                line(gcode="1701991000", qty_limit=D("2"), limit_qty=D("2.5"), qty_limit_unit="kg")
            ]
        )
    )
    assert rules_fired(over) == ["quantity_limit"] and over.lane is Lane.RED
    many = assess(facts(lines=[line(qty=D("21"))]))
    assert rules_fired(many) == ["many_pieces"]
    assert assess(facts(lines=[line(qty=D("20"))])).reasons == ()


def test_quota_splitting_counts():
    assert rules_fired(assess(facts(consignees_for_id=3))) == ["quota_splitting_id"]
    assert assess(facts(consignees_for_id=2)).reasons == ()
    both = assess(facts(consignees_for_id=5, ids_for_address=4))
    assert rules_fired(both) == ["quota_splitting_id", "quota_splitting_address"]
    assert both.score == 70 and both.lane is Lane.RED


@pytest.mark.parametrize(
    "name",
    [
        "Golden Lotus Trading Company Limited",
        "GOLDEN LOTUS TRADING CO., LIMITED",
        "Golden Lotus Tradng Company Ltd",
        "Company Limited Golden Lotus Trading",
        "张伟明",
        "zhang wei-ming",
    ],
)
def test_restricted_party_fuzzy_hits(name):
    result = assess(facts(parties={"consignee": name}))
    assert rules_fired(result) == ["restricted_party"]
    assert result.lane is Lane.RED
    assert "consignee" in str(result.reasons[0].message)


@pytest.mark.parametrize(
    "name", ["Golden Harvest Foods", "张伟", "Li Wei", "Durian Raja Sdn. Bhd."]
)
def test_ordinary_names_do_not_hit(name):
    assert assess(facts(parties={"buyer": name})).reasons == ()


def test_high_value_and_scores_add_up():
    result = assess(
        facts(dutiable=cny("4000.00"), lines=[line(unit_price=cny("10.00"))], ids_for_address=9)
    )
    assert rules_fired(result) == ["undervaluation", "quota_splitting_address", "high_value"]
    assert result.score == 40 + 35 + 20 and result.lane is Lane.RED
    assert assess(facts(dutiable=cny("3999.99"))).reasons == ()


def test_rules_and_list_are_data():
    rules = shipped_rules()
    assert (rules.amber, rules.red) == (30, 60)
    stricter = dataclasses.replace(rules, amber=10, high_value=cny("100.00"))
    assert assess(facts(), rules=stricter).lane is Lane.AMBER
    screen = Screen(
        parse_restricted("name,aliases,country,list,reason\nAcme Durian,,MY,T,x\n"), 0.9
    )
    assert rules_fired(assess(facts(parties={"seller": "ACME Durian"}), screen=screen)) == [
        "restricted_party"
    ]
    assert len(shipped_restricted()) >= 5
    with pytest.raises(ValueError, match="missing"):
        parse_rules("[lanes]\namber = 1\n")
    with pytest.raises(ValueError, match="row 2"):
        parse_restricted("name,aliases\n,\n")


def _screen_everything(screen, name):
    """``Screen.hit`` without the length prefilter: every entry through difflib's bounds."""
    from difflib import SequenceMatcher

    from ehub.customs.domain.risk import normalise_name

    normal = normalise_name(name)
    if not normal:
        return None
    best = None
    matcher = SequenceMatcher(autojunk=False)
    for candidate in (normal, " ".join(sorted(normal.split()))):
        matcher.set_seq2(candidate)
        for listed, party in screen._entries:
            matcher.set_seq1(listed)
            if (
                matcher.real_quick_ratio() >= screen.similarity
                and matcher.quick_ratio() >= screen.similarity
            ):
                score = matcher.ratio()
                if score >= screen.similarity and (best is None or score > best[1]):
                    best = (party, score)
    return best


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        [p.name for p in shipped_restricted()]
        + [a for p in shipped_restricted() for a in p.aliases]
        + ["买家0000001", "Durian Raja Sdn. Bhd.", ""]
    ).flatmap(
        lambda base: st.builds(
            lambda cut, extra: base[: len(base) - cut] + extra,
            st.integers(0, 3),
            st.text("abc .-伟", max_size=3),
        )
    )
)
def test_screen_length_prefilter_changes_no_answer(name):
    screen = shipped_screen()
    assert screen.hit(name) == _screen_everything(screen, name)
