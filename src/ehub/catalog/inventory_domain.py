"""Pure arithmetic of stock: what each kind of movement does to ``on_hand`` and ``reserved``.

A stock level is two counters; ``available = on_hand - reserved``. Every operation is a
:class:`Change` (two signed deltas) and a level is valid when

    on_hand >= 0,  reserved >= 0,  reserved <= on_hand     (so available >= 0)

The services never read a level, decide, and write it back: they turn a Change into one
conditional UPDATE whose WHERE clause is :func:`guard` (the lower bounds the *current* row must
meet for the new row to be valid), so the database applies the check and the write as one step.
This module is that rule, stated once and tested with hypothesis without a database; the same
functions also explain a refusal in words (:func:`refusal`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.utils.translation import gettext as _


class Operation(enum.StrEnum):
    """The kinds of movement; values equal ``catalog.models.MovementReason``."""

    RECEIPT = "receipt"  # goods arrive at the hub: on_hand up
    RESERVATION = "reservation"  # units held for a purpose: reserved up
    RELEASE = "release"  # a hold is given back (cancelled, expired): reserved down
    SHIPMENT = "shipment"  # held units leave the hub: on_hand and reserved down
    ADJUSTMENT = "adjustment"  # manual correction (stock take, damage): on_hand up or down
    RETURN = "return"  # a buyer's return is put back on the shelf: on_hand up


@dataclass(frozen=True)
class Level:
    on_hand: int = 0
    reserved: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def is_valid(self) -> bool:
        return self.on_hand >= 0 and self.reserved >= 0 and self.reserved <= self.on_hand

    def plus(self, change: Change) -> Level:
        return Level(self.on_hand + change.on_hand, self.reserved + change.reserved)


@dataclass(frozen=True)
class Change:
    """Signed deltas of one movement."""

    on_hand: int
    reserved: int


@dataclass(frozen=True)
class Guard:
    """Lower bounds on the current row that make ``current + change`` valid.

    As SQL: ``on_hand >= min_on_hand AND reserved >= min_reserved AND
    on_hand - reserved >= min_available``. Each bound is derived from one validity condition
    of the new level, so the guard holds exactly when the new level is valid (given a valid
    current level).
    """

    min_on_hand: int
    min_reserved: int
    min_available: int

    def admits(self, level: Level) -> bool:
        return (
            level.on_hand >= self.min_on_hand
            and level.reserved >= self.min_reserved
            and level.available >= self.min_available
        )


class InvalidQuantity(ValueError):
    """The quantity is not a positive whole number (or a zero adjustment)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _require_int(qty: object) -> int:
    if isinstance(qty, bool) or not isinstance(qty, int):
        raise InvalidQuantity(_("Enter a whole number."))
    return qty


def change_for(operation: Operation | str, qty: int) -> Change:
    """The deltas of ``operation`` for ``qty`` units.

    ``qty`` is a positive count for every operation except an adjustment, where it is the
    signed correction (never zero: an adjustment that changes nothing is a mistake).
    """
    operation = Operation(operation)
    qty = _require_int(qty)
    if operation is Operation.ADJUSTMENT:
        if qty == 0:
            raise InvalidQuantity(_("An adjustment must change the stock (not 0)."))
        return Change(on_hand=qty, reserved=0)
    if qty <= 0:
        raise InvalidQuantity(_("Enter a quantity of at least 1."))
    return {
        Operation.RECEIPT: Change(qty, 0),
        Operation.RETURN: Change(qty, 0),
        Operation.RESERVATION: Change(0, qty),
        Operation.RELEASE: Change(0, -qty),
        Operation.SHIPMENT: Change(-qty, -qty),
    }[operation]


def guard(change: Change) -> Guard:
    """The bounds the current row must meet so that applying ``change`` keeps it valid.

    new on_hand  = on_hand + dh >= 0           <=>  on_hand >= -dh
    new reserved = reserved + dr >= 0          <=>  reserved >= -dr
    new available = available + dh - dr >= 0  <=>  available >= dr - dh
    """
    return Guard(
        min_on_hand=max(0, -change.on_hand),
        min_reserved=max(0, -change.reserved),
        min_available=max(0, change.reserved - change.on_hand),
    )


class Refused(Exception):
    """The movement would make the level invalid. ``field`` names the offending input."""

    def __init__(self, field: str, message: str, code: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


def refusal(operation: Operation | str, level: Level, change: Change) -> Refused:
    """Why ``change`` cannot be applied to ``level``, in words a merchant or buyer understands."""
    operation = Operation(operation)
    if operation is Operation.RESERVATION:
        return Refused(
            "qty",
            _("Only %(available)d available; cannot hold %(qty)d.")
            % {"available": max(level.available, 0), "qty": change.reserved},
            "insufficient_stock",
        )
    if operation is Operation.ADJUSTMENT:
        return Refused(
            "delta",
            _(
                "On hand cannot go below the %(reserved)d units reserved "
                "(on hand %(on_hand)d, change %(delta)+d)."
            )
            % {"reserved": level.reserved, "on_hand": level.on_hand, "delta": change.on_hand},
            "below_reserved",
        )
    if operation in (Operation.RELEASE, Operation.SHIPMENT):
        return Refused(
            "qty",
            _("Only %(reserved)d reserved; cannot take %(qty)d.")
            % {"reserved": level.reserved, "qty": -change.reserved},
            "insufficient_reserved",
        )
    return Refused("qty", _("This movement would make stock negative."), "invalid_stock")


def apply(operation: Operation | str, level: Level, qty: int) -> Level:
    """The level after ``operation``; raises :class:`Refused` (level unchanged) if invalid."""
    change = change_for(operation, qty)
    if not guard(change).admits(level):
        raise refusal(operation, level, change)
    return level.plus(change)
