"""Chinese provinces → delivery zones (1–4, counted from KUL) and routing codes.

The table is data (``data/provinces.json``): GB/T 2260 code, ISO 3166-2:CN code, Chinese and
English names, the zone and the import gateway airport. Hong Kong, Macao and Taiwan are not in
it on purpose: they are not cross-border e-commerce imports into the mainland (mode 9610).

Addresses arrive as people type them, so :func:`resolve_province` accepts the Chinese name with
or without its suffix (省 / 市 / 自治区 ...), the English name in any case, the ISO code
(``CN-SH`` or ``SH``) and the division code (``31`` or ``310000``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from ehub.fulfillment.carriers.base import DestinationNotServed

DATA = Path(__file__).resolve().parent / "data" / "provinces.json"
_ZH_SUFFIX = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区)$")


@dataclass(frozen=True)
class Province:
    code: str  # GB/T 2260, two digits
    iso: str  # "CN-SH"
    zh: str
    en: str
    zone: int
    gateway: str  # IATA code of the import airport

    @property
    def abbr(self) -> str:
        return self.iso[3:]


@cache
def provinces() -> tuple[Province, ...]:
    rows = json.loads(DATA.read_text(encoding="utf-8"))["provinces"]
    return tuple(Province(**row) for row in rows)


@cache
def _index() -> dict[str, Province]:
    index: dict[str, Province] = {}
    for p in provinces():
        for key in (p.code, p.code + "0000", p.iso, p.abbr, p.zh, _ZH_SUFFIX.sub("", p.zh), p.en):
            index[key.casefold()] = p
        index[p.en.replace(" ", "").casefold()] = p
    return index


def resolve_province(text: str) -> Province:
    """The province ``text`` names; DestinationNotServed (field "province") otherwise."""
    key = (text or "").strip().casefold()
    found = _index().get(key) or _index().get(_ZH_SUFFIX.sub("", key))
    if found is None and key.isdigit() and len(key) == 6:
        found = _index().get(key[:2])
    if found is None:
        raise DestinationNotServed(
            _("Unknown or unserved province %(province)r.") % {"province": text},
            field="province",
        )
    return found


def routing_code(province: Province | str, zone: int | None = None) -> str:
    """``<gateway>-<zone>-<province>``, e.g. ``PVG-1-SH``: what the sorter reads first."""
    p = province if isinstance(province, Province) else resolve_province(province)
    return f"{p.gateway}-{zone if zone is not None else p.zone}-{p.abbr}"
