"""Pure account rules: registration numbers, resident IDs, portal access. No database."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from ehub.accounts.domain import (
    InvalidNumber,
    OrgKind,
    Portal,
    home_portal,
    may_enter,
    normalize_cn_resident_id,
    normalize_registration_number,
    portals_for,
)


@pytest.mark.parametrize(
    "number",
    ["201901012345", "199501000005", "202306123456", "2019-01-012345", " 201901012345 "],
)
def test_valid_ssm_numbers(number):
    assert normalize_registration_number("MY", number) == number.strip().replace("-", "")


@pytest.mark.parametrize(
    "number",
    [
        "201907012345",  # entity type 07 does not exist
        "201900012345",  # entity type 00
        "181901012345",  # year 18xx
        "20190101234",  # 11 digits
        "2019010123456",  # 13 digits
        "20190101234A",
        "123456-X",  # old-style number: not accepted for new sign-ups
    ],
)
def test_invalid_ssm_numbers_name_the_field(number):
    with pytest.raises(InvalidNumber) as err:
        normalize_registration_number("my", number)
    assert err.value.field == "registration_number"
    assert "SSM" in str(err.value)


def test_uscc_checked_for_chinese_companies():
    assert normalize_registration_number("CN", "91330106MA2B3C4D5D") == "91330106MA2B3C4D5D"
    with pytest.raises(InvalidNumber) as err:
        normalize_registration_number("CN", "91330106MA2B3C4D5E")  # wrong check character
    assert err.value.field == "registration_number"


def test_other_countries_stored_as_given():
    assert normalize_registration_number("SG", "  201912345K ") == "201912345K"
    assert normalize_registration_number("MY", "") == ""


def test_resident_id_checksum():
    assert normalize_cn_resident_id("110101199003071233") == "110101199003071233"
    with pytest.raises(InvalidNumber) as err:
        normalize_cn_resident_id("110101199003071234")
    assert err.value.field == "id_number"


@given(st.from_regex(r"\A11010119[5-9][0-9](0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}\Z"))
def test_any_single_digit_change_breaks_a_resident_id(base):
    number = base + ric.calc_check_digit(base + "0")
    assert normalize_cn_resident_id(number) == number
    wrong = "0123456789X".replace(number[-1], "")[0]
    with pytest.raises(InvalidNumber):
        normalize_cn_resident_id(number[:-1] + wrong)


def test_portal_access_by_org_kind():
    assert portals_for(set()) == [Portal.STOREFRONT, Portal.ACADEMY]
    assert Portal.MERCHANT in portals_for({OrgKind.MERCHANT})
    assert Portal.OPS not in portals_for({OrgKind.MERCHANT})
    assert set(portals_for({OrgKind.HUB_OPERATOR, OrgKind.CUSTOMS_AUTHORITY})) >= {
        Portal.HUB,
        Portal.CUSTOMS,
    }
    assert may_enter(Portal.OPS, OrgKind.PLATFORM)
    assert not may_enter(Portal.CUSTOMS, OrgKind.MERCHANT)
    assert not may_enter(Portal.HUB, None)
    assert may_enter(Portal.STOREFRONT, None)


def test_home_portal_is_the_one_reserved_for_the_org_kind():
    assert home_portal(OrgKind.MERCHANT) == Portal.MERCHANT
    assert home_portal(OrgKind.CUSTOMS_AUTHORITY) == Portal.CUSTOMS
    assert home_portal(OrgKind.PLATFORM) == Portal.OPS
    assert home_portal(OrgKind.PAYMENT_PROVIDER) is None
