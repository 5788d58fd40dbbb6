"""Validation of CEB messages: every problem with the element path where it is.

``validate(message)`` checks what each field declares in ``documents`` (required, maximum
length, format, code list, decimal places, non-negative amounts) and the rules between fields:

* order head: ``acturalPaid = goodsValue + freight + taxTotal − discount``; goodsValue is the
  sum of the lines' totalPrice; the buyer's resident ID number is valid when buyerIdType is 1;
* order and inventory lines: ``totalPrice = qty × price`` (to the fen), gnum runs 1, 2, 3…;
* payment: the payer's resident ID number is valid when payerIdType is 1;
* tax bill: the head's taxes are the sums of its lines'.

Paths look like ``CEB311Message/Order[1]/OrderHead/acturalPaid`` (list items numbered from 1,
as XPath does). The result is empty when the message is valid.

Speed: most messages are valid, so ``validate`` first asks a checker generated per record class
from the same field declarations (straight-line code, no paths built) whether the message
passes every rule; only when it does not is the message walked again to name each problem.
Both apply the same tests, field by field (``tests/customs/test_documents.py`` holds them to
it).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from ehub.customs.domain import documents as d
from ehub.customs.domain.codes import is_return_status
from ehub.customs.domain.documents import Issue, Message

_GUID_RE = re.compile(
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
)
_ENTERPRISE_RE = re.compile(r"^[0-9A-Z]{10}$|^[0-9A-Z]{18}$")
FEN = Decimal("0.01")


def _digits(n: int) -> Callable[[str], bool]:
    return lambda value: len(value) == n and value.isdigit() and value.isascii()


def _calendar(value: str) -> bool:
    """Whether 8 or 14 ASCII digits are a real date (time): ``strptime`` with ``%Y%m%d`` or
    ``%Y%m%d%H%M%S`` accepts exactly these (each field then takes its two digits), at a
    fraction of the cost."""
    try:
        if len(value) == 8:
            datetime(int(value[:4]), int(value[4:6]), int(value[6:8]))
        else:
            datetime(
                int(value[:4]),
                int(value[4:6]),
                int(value[6:8]),
                int(value[8:10]),
                int(value[10:12]),
                int(value[12:14]),
            )
    except ValueError:
        return False
    return True


def _time14(value: str) -> bool:
    return len(value) == 14 and value.isdigit() and value.isascii() and _calendar(value)


def _time17(value: str) -> bool:
    return len(value) == 17 and value.isdigit() and value.isascii() and _calendar(value[:14])


def _date8(value: str) -> bool:
    return len(value) == 8 and value.isdigit() and value.isascii() and _calendar(value)


FORMATS: dict[str, tuple[Callable[[str], bool], Any]] = {
    "guid": (lambda v: bool(_GUID_RE.match(v)), _("A 36-character GUID (8-4-4-4-12 hex).")),
    "time14": (_time14, _("A time as YYYYMMDDhhmmss.")),
    "time17": (_time17, _("A time as yyyyMMddHHmmssSSS.")),
    "date8": (_date8, _("A date as YYYYMMDD.")),
    "enterprise": (
        lambda v: bool(_ENTERPRISE_RE.match(v)),
        _("A 10-character customs registration code or an 18-character USCC."),
    ),
    "gcode": (_digits(10), _("A 10-digit China tariff line.")),
    "unit": (_digits(3), _("A 3-digit customs unit code.")),
    "country": (_digits(3), _("A 3-digit customs country code.")),
    "district": (_digits(6), _("A 6-digit administrative division code.")),
    "digits4": (_digits(4), _("A 4-digit customs code.")),
    "return_status": (is_return_status, _("A returnStatus code of the CEB standard.")),
    "version": (lambda v: v == "1.0", _("The message version must be 1.0.")),
}


def _check_field(spec: dataclasses.Field, value: Any, path: str, issues: list[Issue]) -> None:
    meta = spec.metadata
    kind = meta["kind"]
    if kind in ("text", "attr"):
        if not value:
            if meta.get("required", True):
                issues.append(Issue(path, "required", _("This field is required.")))
            return
        if len(value) > meta["max"]:
            issues.append(
                Issue(
                    path,
                    "max_length",
                    _("At most %(max)d characters (has %(n)d).")
                    % {"max": meta["max"], "n": len(value)},
                )
            )
        fmt = meta.get("fmt")
        if fmt:
            check, sentence = FORMATS[fmt]
            if not check(value):
                issues.append(Issue(path, "format", sentence))
        codes = meta.get("codes")
        if codes is not None and value not in codes:
            issues.append(
                Issue(
                    path,
                    "code_list",
                    _("%(value)s is not one of %(codes)s.")
                    % {"value": value[:20], "codes": ", ".join(codes)},
                )
            )
    elif kind == "decimal":
        if value is None:
            if meta["required"]:
                issues.append(Issue(path, "required", _("This field is required.")))
            return
        if value < 0:
            issues.append(Issue(path, "negative", _("Must not be negative.")))
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > meta["places"]:
            issues.append(
                Issue(
                    path,
                    "precision",
                    _("At most %(places)d decimal places.") % {"places": meta["places"]},
                )
            )
    elif kind == "int":
        if value is None:
            if meta["required"]:
                issues.append(Issue(path, "required", _("This field is required.")))
        elif value < 1:
            issues.append(Issue(path, "range", _("Must be 1 or more.")))


@functools.cache
def _specs(cls: type) -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(cls)


def _walk(record: Any, path: str, issues: list[Issue]) -> None:
    for spec in _specs(type(record)):
        value = getattr(record, spec.name)
        kind = spec.metadata.get("kind")
        if kind == "attr":
            _check_field(spec, value, f"{path}/@{spec.name}", issues)
        elif kind == "one":
            if value is None:
                if spec.metadata["required"]:
                    issues.append(
                        Issue(f"{path}/{spec.name}", "required", _("This element is required."))
                    )
            else:
                _walk(value, f"{path}/{spec.name}", issues)
        elif kind == "list":
            if len(value) < spec.metadata["min"]:
                issues.append(
                    Issue(
                        f"{path}/{spec.name}",
                        "required",
                        _("At least %(n)d %(name)s element(s).")
                        % {"n": spec.metadata["min"], "name": spec.name},
                    )
                )
            for i, item in enumerate(value, start=1):
                _walk(item, f"{path}/{spec.name}[{i}]", issues)
        else:
            _check_field(spec, value, f"{path}/{spec.name}", issues)
    rule = RULES.get(type(record))
    if rule is not None:
        rule(record, path, issues)


# -- rules between fields --------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return format(value, "f")


@functools.lru_cache(maxsize=16384)
def _known_birth_place(region_and_year: str) -> bool:
    """Whether the 6-digit region code was assigned in the birth year (first 10 digits)."""
    try:
        ric.get_birth_place(region_and_year + "0101" + "0000")
    except (StdnumError, ValueError):
        return False
    return True


_PLAIN_RIC = re.compile(r"[0-9]{17}[0-9X]")


@functools.lru_cache(maxsize=4096)
def _valid_resident_id(number: str) -> bool:
    """``stdnum.cn.ric.validate``'s checks (length, digits, birth date, birth place, ISO 7064
    MOD 11-2 check digit), with the birth-place table lookup memoised per region code: it was
    the costliest step of validating a batch. A number already in compact form (17 ASCII
    digits and a digit or X) skips stdnum's cleaning, which leaves such a number unchanged.
    Remembered for the last few thousand numbers: an order and its payment carry the same."""
    if _PLAIN_RIC.fullmatch(number):
        try:
            date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        except ValueError:
            return False
        if not _known_birth_place(number[:10]):
            return False
        return ric.calc_check_digit(number) == number[-1]
    try:
        compact = ric.compact(number)
        if len(compact) != 18 or not compact[:17].isdigit() or not compact[:17].isascii():
            return False
        ric.get_birth_date(compact)
        if not _known_birth_place(compact[:10]):
            return False
        return ric.calc_check_digit(compact) == compact[-1].upper()
    except StdnumError:
        return False


def _resident_id(id_type: str, number: str, path: str, issues: list[Issue]) -> None:
    if id_type != "1" or not number:
        return
    if not _valid_resident_id(number):
        issues.append(
            Issue(
                path,
                "id_number",
                _("Not a valid 18-digit resident ID number (ISO 7064 MOD 11-2 check)."),
            )
        )


def _order_head(head: d.OrderHead, path: str, issues: list[Issue]) -> None:
    parts = (head.goodsValue, head.freight, head.taxTotal, head.discount, head.acturalPaid)
    if all(part is not None for part in parts):
        expected = head.goodsValue + head.freight + head.taxTotal - head.discount
        if expected != head.acturalPaid:
            issues.append(
                Issue(
                    f"{path}/acturalPaid",
                    "actural_paid_mismatch",
                    _(
                        "acturalPaid must be goodsValue + freight + taxTotal − discount = "
                        "%(expected)s, not %(given)s."
                    )
                    % {"expected": _money(expected), "given": _money(head.acturalPaid)},
                )
            )
    _resident_id(head.buyerIdType, head.buyerIdNumber, f"{path}/buyerIdNumber", issues)


def _line_total(line: Any, path: str, issues: list[Issue]) -> None:
    if line.qty is None or line.price is None or line.totalPrice is None:
        return
    expected = (line.qty * line.price).quantize(FEN, rounding=ROUND_HALF_UP)
    if line.totalPrice.quantize(FEN, rounding=ROUND_HALF_UP) != expected:
        issues.append(
            Issue(
                f"{path}/totalPrice",
                "total_price_mismatch",
                _("totalPrice must be qty × price = %(expected)s, not %(given)s.")
                % {"expected": _money(expected), "given": _money(line.totalPrice)},
            )
        )


def _gnums(lines: list[Any], name: str, path: str, issues: list[Issue]) -> None:
    for i, line in enumerate(lines, start=1):
        if line.gnum is not None and line.gnum != i:
            issues.append(
                Issue(
                    f"{path}/{name}[{i}]/gnum",
                    "gnum_sequence",
                    _("Line numbers run 1, 2, 3…: expected %(n)d.") % {"n": i},
                )
            )


def _order(order: d.Order, path: str, issues: list[Issue]) -> None:
    _gnums(order.OrderList, "OrderList", path, issues)
    for i, line in enumerate(order.OrderList, start=1):
        _line_total(line, f"{path}/OrderList[{i}]", issues)
    head = order.OrderHead
    totals = [line.totalPrice for line in order.OrderList]
    if (
        head is not None
        and head.goodsValue is not None
        and totals
        and None not in totals
        and sum(totals, Decimal(0)) != head.goodsValue
    ):
        issues.append(
            Issue(
                f"{path}/OrderHead/goodsValue",
                "goods_value_mismatch",
                _("goodsValue must be the sum of the lines' totalPrice, %(sum)s.")
                % {"sum": _money(sum(totals, Decimal(0)))},
            )
        )


def _inventory(inventory: d.Inventory, path: str, issues: list[Issue]) -> None:
    _gnums(inventory.InventoryList, "InventoryList", path, issues)
    for i, line in enumerate(inventory.InventoryList, start=1):
        _line_total(line, f"{path}/InventoryList[{i}]", issues)


def _inventory_head(head: d.InventoryHead, path: str, issues: list[Issue]) -> None:
    _resident_id(head.buyerIdType, head.buyerIdNumber, f"{path}/buyerIdNumber", issues)


def _payment_head(head: d.PaymentHead, path: str, issues: list[Issue]) -> None:
    _resident_id(head.payerIdType, head.payerIdNumber, f"{path}/payerIdNumber", issues)


def _tax(tax: d.Tax, path: str, issues: list[Issue]) -> None:
    _gnums(tax.TaxListRd, "TaxListRd", path, issues)
    head = tax.TaxHeadRd
    if head is None:
        return
    for name in ("customsTax", "valueAddedTax", "consumptionTax"):
        parts = [getattr(line, name) for line in tax.TaxListRd]
        total = getattr(head, name)
        if total is None or None in parts or not parts:
            continue
        if sum(parts, Decimal(0)) != total:
            issues.append(
                Issue(
                    f"{path}/TaxHeadRd/{name}",
                    "tax_total_mismatch",
                    _("%(name)s must be the sum of the lines, %(sum)s.")
                    % {"name": name, "sum": _money(sum(parts, Decimal(0)))},
                )
            )


RULES: dict[type, Callable[[Any, str, list[Issue]], None]] = {
    d.OrderHead: _order_head,
    d.Order: _order,
    d.Inventory: _inventory,
    d.InventoryHead: _inventory_head,
    d.PaymentHead: _payment_head,
    d.Tax: _tax,
}


def validate(message: Message) -> list[Issue]:
    """Every problem of ``message``, each with its element path; empty when it is valid."""
    if not isinstance(message, Message) or not message.ROOT:
        raise TypeError(f"validate takes a CEB message, not {type(message).__name__}")
    if _checker(type(message))(message):
        return []
    issues: list[Issue] = []
    _walk(message, message.ROOT, issues)
    return issues


# -- the fast yes/no check -------------------------------------------------------------------


def _rule_passes(rule: Callable[[Any, str, list[Issue]], None], record: Any) -> bool:
    found: list[Issue] = []
    rule(record, "", found)
    return not found


@functools.cache
def _checker(cls: type) -> Callable[[Any], bool]:
    """Whether a ``cls`` record has no issue at all: the tests of ``_walk`` and
    ``_check_field``, field by field in the same order, as straight-line code generated from
    the field declarations (a test that fails returns False at once; nothing else differs)."""
    env: dict[str, Any] = {"_rule_passes": _rule_passes, "_type": type, "_int": int}
    lines = ["def check(r):"]
    for n, spec in enumerate(_specs(cls)):
        meta = spec.metadata
        kind = meta.get("kind")
        get = f"    v = r.{spec.name}"
        if kind in ("text", "attr"):
            lines += [get, "    if v:", f"        if len(v) > {int(meta['max'])}: return False"]
            fmt = meta.get("fmt")
            if fmt:
                env[f"fmt{n}"] = FORMATS[fmt][0]
                lines.append(f"        if not fmt{n}(v): return False")
            if meta.get("codes") is not None:
                env[f"codes{n}"] = meta["codes"]
                lines.append(f"        if v not in codes{n}: return False")
            if meta.get("required", True):
                lines.append("    else: return False")
        elif kind == "decimal":
            lines += [get, "    if v is None:"]
            lines.append("        return False" if meta["required"] else "        pass")
            lines += [
                "    else:",
                "        if v < 0: return False",
                "        e = v.as_tuple().exponent",
                f"        if _type(e) is _int and -e > {int(meta['places'])}: return False",
            ]
        elif kind == "int":
            lines += [get, "    if v is None:"]
            lines.append("        return False" if meta["required"] else "        pass")
            lines.append("    elif v < 1: return False")
        elif kind == "one":
            env[f"sub{n}"] = spec.metadata["record"]
            lines += [get, "    if v is None:"]
            lines.append("        return False" if meta["required"] else "        pass")
            lines.append(f"    elif not _checker(sub{n})(v): return False")
        elif kind == "list":
            env[f"sub{n}"] = spec.metadata["record"]
            lines += [get, f"    if len(v) < {int(meta['min'])}: return False"]
            lines += [f"    check{n} = _checker(sub{n})", "    for x in v:"]
            lines.append(f"        if not check{n}(x): return False")
        else:
            # A field of no known kind: leave the whole record to _walk (which raises on it).
            lines.append("    return False")
    rule = RULES.get(cls)
    if rule is not None:
        env["rule"] = rule
        lines.append("    return _rule_passes(rule, r)")
    else:
        lines.append("    return True")
    env["_checker"] = _checker
    exec("\n".join(lines), env)  # noqa: S102 - code built from our own field declarations
    return env["check"]
