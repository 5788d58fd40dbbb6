"""The arithmetic of stock movements, without a database (hypothesis property tests)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ehub.catalog.inventory_domain import (
    Change,
    InvalidQuantity,
    Level,
    Operation,
    Refused,
    apply,
    change_for,
    guard,
)

OPERATIONS = list(Operation)
operations = st.tuples(st.sampled_from(OPERATIONS), st.integers(min_value=-50, max_value=50))
levels = st.builds(
    lambda reserved, free: Level(reserved + free, reserved),
    st.integers(0, 200),
    st.integers(0, 200),
)


def test_each_operation_moves_the_right_counters():
    assert change_for("receipt", 5) == Change(5, 0)
    assert change_for("return", 5) == Change(5, 0)
    assert change_for("reservation", 5) == Change(0, 5)
    assert change_for("release", 5) == Change(0, -5)
    assert change_for("shipment", 5) == Change(-5, -5)
    assert change_for("adjustment", -5) == Change(-5, 0)
    assert apply("shipment", Level(10, 4), 4) == Level(6, 0)


@pytest.mark.parametrize(
    ("operation", "qty"),
    [("receipt", 0), ("reservation", -1), ("adjustment", 0), ("release", 1.0), ("return", True)],
)
def test_bad_quantities(operation, qty):
    with pytest.raises(InvalidQuantity):
        change_for(operation, qty)


def test_refusals_name_the_field_and_say_how_many():
    with pytest.raises(Refused) as exc:
        apply("reservation", Level(10, 7), 4)
    assert (exc.value.field, exc.value.code) == ("qty", "insufficient_stock")
    assert "Only 3 available" in exc.value.message
    with pytest.raises(Refused) as exc:
        apply("adjustment", Level(10, 7), -4)
    assert (exc.value.field, exc.value.code) == ("delta", "below_reserved")
    with pytest.raises(Refused) as exc:
        apply("release", Level(10, 2), 3)
    assert exc.value.code == "insufficient_reserved"
    with pytest.raises(Refused) as exc:
        apply("shipment", Level(10, 2), 3)
    assert exc.value.code == "insufficient_reserved"


@given(levels, operations)
def test_the_guard_admits_exactly_the_changes_that_keep_a_level_valid(level, op):
    operation, qty = op
    try:
        change = change_for(operation, qty)
    except InvalidQuantity:
        return
    assert guard(change).admits(level) == level.plus(change).is_valid


@given(st.lists(operations, max_size=60))
def test_no_sequence_of_operations_makes_available_negative(ops):
    level = Level()
    ledger: list[Change] = []
    for operation, qty in ops:
        try:
            after = apply(operation, level, qty)
        except (Refused, InvalidQuantity):
            continue  # refused: the level is unchanged and nothing is recorded
        ledger.append(Change(after.on_hand - level.on_hand, after.reserved - level.reserved))
        level = after
        assert level.available >= 0 and level.reserved >= 0 and level.on_hand >= 0
    # The movements are the whole truth: their deltas add up to the current level.
    assert sum(c.on_hand for c in ledger) == level.on_hand
    assert sum(c.reserved for c in ledger) == level.reserved
