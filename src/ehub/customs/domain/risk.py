"""Risk lanes for declarations: rules as data (``customs/data/risk_rules.toml``) plus code.

``assess(facts)`` scores one declaration and picks its lane: green (released automatically),
amber (an officer checks the documents) or red (the parcel is inspected). Every rule that
fires adds its points and a reason the officer sees. The rules:

* **undervaluation** — a line's declared unit price is below a share (``undervaluation.ratio``,
  70 %) of the reference price: the catalog price of the line's SKU converted to CNY, looked
  up by the caller (``services.reference_prices``) and given here as ``RiskLine.reference_price``;
* **quantity** — past a tariff line's per-person quantity limit, or more pieces of one line
  than personal use explains;
* **quota splitting** — one ID number shipping to many consignees, or many ID numbers shipping
  to one address, over the caller's look-back window (the caller counts; this module judges);
* **restricted party** — the buyer, consignee, payer or seller resembles a name on the
  restricted-party list (``customs/data/restricted_parties.csv``; fuzzy match with difflib on
  case-folded names without punctuation, and on their words sorted, so "Co. Limited Golden
  Lotus Trading" still matches);
* **high value** — the dutiable price is at or above a threshold.

Thresholds and points are data so that an authority can tune them without a release.
"""

from __future__ import annotations

import csv
import enum
import io
import re
import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from difflib import SequenceMatcher
from functools import cache
from importlib import resources
from typing import Any

from django.utils.translation import gettext_lazy as _

from ehub.core.money import Money


class Lane(enum.StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


@dataclass(frozen=True)
class RiskRules:
    amber: int
    red: int
    undervaluation_ratio: Decimal
    undervaluation_points: int
    over_limit_points: int
    max_pieces_per_line: int
    many_pieces_points: int
    consignees_per_id: int
    ids_per_address: int
    splitting_points: int
    similarity: float
    restricted_points: int
    high_value: Money
    high_value_points: int


def parse_rules(text: str) -> RiskRules:
    data = tomllib.loads(text)
    try:
        return RiskRules(
            amber=int(data["lanes"]["amber"]),
            red=int(data["lanes"]["red"]),
            undervaluation_ratio=Decimal(data["undervaluation"]["ratio"]),
            undervaluation_points=int(data["undervaluation"]["points"]),
            over_limit_points=int(data["quantity"]["over_limit_points"]),
            max_pieces_per_line=int(data["quantity"]["max_pieces_per_line"]),
            many_pieces_points=int(data["quantity"]["many_pieces_points"]),
            consignees_per_id=int(data["quota_splitting"]["consignees_per_id"]),
            ids_per_address=int(data["quota_splitting"]["ids_per_address"]),
            splitting_points=int(data["quota_splitting"]["points"]),
            similarity=float(data["restricted_party"]["similarity"]),
            restricted_points=int(data["restricted_party"]["points"]),
            high_value=Money.parse(data["high_value"]["threshold_cny"], "CNY"),
            high_value_points=int(data["high_value"]["points"]),
        )
    except KeyError as exc:
        raise ValueError(f"risk rules: missing {exc}") from None


@dataclass(frozen=True)
class RestrictedParty:
    name: str
    aliases: tuple[str, ...]
    country: str
    list_name: str
    reason: str


_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)


def normalise_name(name: str) -> str:
    text = unicodedata.normalize("NFKC", name or "").casefold()
    return " ".join(_PUNCT.sub(" ", text).split())


def parse_restricted(text: str) -> tuple[RestrictedParty, ...]:
    parties = []
    for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        if not (row.get("name") or "").strip():
            raise ValueError(f"restricted parties row {number}: name is required")
        aliases = tuple(a.strip() for a in (row.get("aliases") or "").split(";") if a.strip())
        parties.append(
            RestrictedParty(
                row["name"].strip(),
                aliases,
                row.get("country", ""),
                row.get("list", ""),
                row.get("reason", ""),
            )
        )
    return tuple(parties)


def _data(name: str) -> str:
    return resources.files("ehub.customs").joinpath(f"data/{name}").read_text("utf-8")


@cache
def shipped_rules() -> RiskRules:
    return parse_rules(_data("risk_rules.toml"))


@cache
def shipped_restricted() -> tuple[RestrictedParty, ...]:
    return parse_restricted(_data("restricted_parties.csv"))


class Screen:
    """A restricted-party list prepared for fuzzy matching (normalised once)."""

    def __init__(self, parties: Sequence[RestrictedParty], similarity: float) -> None:
        self.similarity = similarity
        self._by_length: dict[int, list[tuple[str, RestrictedParty]]] = {}
        self._entries: list[tuple[str, RestrictedParty]] = []
        for party in parties:
            for name in (party.name, *party.aliases):
                normal = normalise_name(name)
                if normal:
                    self._entries.append((normal, party))
                    self._entries.append((" ".join(sorted(normal.split())), party))

    def hit(self, name: str) -> tuple[RestrictedParty, float] | None:
        """The closest listed party at or above the similarity, with its score."""
        normal = normalise_name(name)
        if not normal:
            return None
        best: tuple[RestrictedParty, float] | None = None
        similarity = self.similarity
        matcher = SequenceMatcher(autojunk=False)
        for candidate in (normal, " ".join(sorted(normal.split()))):
            matcher.set_seq2(candidate)
            for listed, party in self._near(len(candidate)):
                matcher.set_seq1(listed)
                if matcher.quick_ratio() >= similarity:
                    score = matcher.ratio()
                    if score >= similarity and (best is None or score > best[1]):
                        best = (party, score)
        return best

    def _near(self, length: int) -> list[tuple[str, RestrictedParty]]:
        """The entries that pass the first of difflib's cheap upper bounds for a name of
        ``length`` characters, as ``get_close_matches`` applies it: ``real_quick_ratio``,
        which depends on the two lengths only (2·min / sum), so it is worked out once per
        length."""
        found = self._by_length.get(length)
        if found is None:
            found = self._by_length[length] = [
                (listed, party)
                for listed, party in self._entries
                if 2.0 * min(len(listed), length) / (len(listed) + length) >= self.similarity
            ]
        return found


@cache
def shipped_screen() -> Screen:
    return Screen(shipped_restricted(), shipped_rules().similarity)


@dataclass(frozen=True)
class RiskLine:
    gcode: str
    qty: Decimal
    unit_price: Money  # CNY, as declared
    reference_price: Money | None = None  # CNY, the catalog's price for the same unit
    qty_limit: Decimal | None = None  # per person per year
    limit_qty: Decimal | None = None  # this year's quantity incl. this line, in the limit's unit
    qty_limit_unit: str = ""


@dataclass(frozen=True)
class RiskFacts:
    lines: Sequence[RiskLine]
    dutiable: Money
    parties: dict[str, str] = field(default_factory=dict)  # role -> name, e.g. {"buyer": ..}
    consignees_for_id: int = 1  # distinct consignees the buyer's ID number shipped to
    ids_for_address: int = 1  # distinct ID numbers shipping to the consignee's address


@dataclass(frozen=True)
class RiskReason:
    rule: str
    points: int
    message: Any

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "points": self.points, "message": str(self.message)}


@dataclass(frozen=True)
class RiskAssessment:
    score: int
    lane: Lane
    reasons: tuple[RiskReason, ...]


def _lane(score: int, rules: RiskRules) -> Lane:
    if score >= rules.red:
        return Lane.RED
    if score >= rules.amber:
        return Lane.AMBER
    return Lane.GREEN


def assess(
    facts: RiskFacts, rules: RiskRules | None = None, screen: Screen | None = None
) -> RiskAssessment:
    """Score ``facts`` with the shipped rules and list unless others are given."""
    rules = rules or shipped_rules()
    screen = screen or shipped_screen()
    reasons: list[RiskReason] = []
    for i, line in enumerate(facts.lines, start=1):
        reference = line.reference_price
        if reference is not None and reference.is_positive:
            floor = reference.to_decimal() * rules.undervaluation_ratio
            if line.unit_price.to_decimal() < floor:
                # Floored, so a price just under the line never reads as exactly the line.
                share = int(line.unit_price.to_decimal() / reference.to_decimal() * 100)
                reasons.append(
                    RiskReason(
                        "undervaluation",
                        rules.undervaluation_points,
                        _(
                            "Line %(n)d (%(gcode)s) is declared at %(price)s a unit, %(share)s %% "
                            "of the reference price %(reference)s (the catalog price in CNY)."
                        )
                        % {
                            "n": i,
                            "gcode": line.gcode,
                            "price": line.unit_price,
                            "share": share,
                            "reference": reference,
                        },
                    )
                )
        if line.qty_limit is not None:
            qty = line.limit_qty if line.limit_qty is not None else line.qty
            if qty > line.qty_limit:
                reasons.append(
                    RiskReason(
                        "quantity_limit",
                        rules.over_limit_points,
                        _(
                            "Line %(n)d (%(gcode)s) takes the buyer to %(qty)s %(unit)s this "
                            "year, past the limit of %(limit)s."
                        )
                        % {
                            "n": i,
                            "gcode": line.gcode,
                            "qty": qty.normalize(),
                            "unit": line.qty_limit_unit,
                            "limit": line.qty_limit.normalize(),
                        },
                    )
                )
        if line.qty > rules.max_pieces_per_line:
            reasons.append(
                RiskReason(
                    "many_pieces",
                    rules.many_pieces_points,
                    _(
                        "Line %(n)d has %(qty)s pieces of one item: more than personal use "
                        "(%(max)d)."
                    )
                    % {"n": i, "qty": line.qty.normalize(), "max": rules.max_pieces_per_line},
                )
            )
    if facts.consignees_for_id >= rules.consignees_per_id:
        reasons.append(
            RiskReason(
                "quota_splitting_id",
                rules.splitting_points,
                _("The buyer's ID number shipped to %(n)d different consignees recently.")
                % {"n": facts.consignees_for_id},
            )
        )
    if facts.ids_for_address >= rules.ids_per_address:
        reasons.append(
            RiskReason(
                "quota_splitting_address",
                rules.splitting_points,
                _("%(n)d different ID numbers shipped to this address recently.")
                % {"n": facts.ids_for_address},
            )
        )
    for role, name in facts.parties.items():
        found = screen.hit(name)
        if found is not None:
            party, score = found
            reasons.append(
                RiskReason(
                    "restricted_party",
                    rules.restricted_points,
                    _(
                        "The %(role)s %(name)s resembles %(listed)s on the %(list)s list "
                        "(%(score)s %% similar): %(reason)s"
                    )
                    % {
                        "role": role,
                        "name": name,
                        "listed": party.name,
                        "list": party.list_name,
                        "score": round(score * 100),
                        "reason": party.reason,
                    },
                )
            )
    if facts.dutiable >= rules.high_value:
        reasons.append(
            RiskReason(
                "high_value",
                rules.high_value_points,
                _("High value: %(value)s (threshold %(threshold)s).")
                % {"value": facts.dutiable, "threshold": rules.high_value},
            )
        )
    score = sum(reason.points for reason in reasons)
    return RiskAssessment(score, _lane(score, rules), tuple(reasons))
