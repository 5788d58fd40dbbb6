"""Inventory services: every movement reason, holds and their idempotency, expiry, scoping."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum

from ehub.accounts.domain import OrgKind
from ehub.catalog.models import (
    MovementReason,
    Reservation,
    ReservationStatus,
    Stock,
    StockMovement,
)
from ehub.catalog.services import inventory
from ehub.catalog.services.inventory import KeyReused, ReservationClosed, ReserveLine
from ehub.core import clock
from ehub.core.context import Context
from ehub.core.errors import NotFound, ValidationFailed
from ehub.core.models import AuditEntry

from .inventory_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 9, 9, 10, 0, tzinfo=dt.UTC)  # Malaysia Week opens


def level(sku, hub) -> tuple[int, int]:
    row = Stock.objects.get(sku=sku, hub=hub)
    return row.on_hand, row.reserved


def assert_ledger_matches(stock: Stock) -> None:
    """Σ of the movement deltas is the stock, and each movement's 'after' chains on."""
    stock.refresh_from_db()
    sums = StockMovement.objects.filter(stock=stock).aggregate(
        on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta")
    )
    assert (sums["on_hand"] or 0, sums["reserved"] or 0) == (stock.on_hand, stock.reserved)
    on_hand = reserved = 0
    for m in StockMovement.objects.filter(stock=stock).order_by("pk"):
        on_hand += m.on_hand_delta
        reserved += m.reserved_delta
        assert (m.on_hand_after, m.reserved_after) == (on_hand, reserved)
        assert m.on_hand_after >= m.reserved_after >= 0


def field_errors(exc_info) -> dict[str, str]:
    return {e.field: str(e.message) for e in exc_info.value.errors}


@pytest.fixture
def stocked(merchant_ctx, sku, hub):
    """10 units of the SKU on hand at the hub."""
    inventory.adjust(merchant_ctx, sku, hub, 10, "opening count")
    return Stock.objects.get(sku=sku, hub=hub)


# -- adjustments ----------------------------------------------------------------------------


def test_adjust_creates_the_row_writes_one_movement_and_an_audit_entry(merchant_ctx, sku, hub):
    movement = inventory.adjust(merchant_ctx, sku, hub, 25, "first stock take")

    stock = Stock.objects.get(sku=sku, hub=hub)
    assert (stock.on_hand, stock.reserved, stock.available) == (25, 0, 25)
    assert stock.org_id == sku.org_id
    assert movement.reason == MovementReason.ADJUSTMENT
    assert (movement.on_hand_delta, movement.reserved_delta) == (25, 0)
    assert (movement.on_hand_after, movement.reserved_after) == (25, 0)
    assert movement.actor_id == merchant_ctx.user.pk
    assert movement.note == "first stock take"
    entry = AuditEntry.objects.get(action="inventory.adjusted")
    assert entry.object_id == str(stock.pk)
    assert entry.before["on_hand"] == 0 and entry.after["on_hand"] == 25
    assert entry.after["note"] == "first stock take"

    inventory.adjust(merchant_ctx, sku, hub, -5)
    assert level(sku, hub) == (20, 0)
    assert StockMovement.objects.count() == 2
    assert AuditEntry.objects.filter(action="inventory.adjusted").count() == 2
    assert_ledger_matches(stock)


def test_adjust_cannot_take_on_hand_below_reserved(merchant_ctx, system_ctx, stocked, sku, hub):
    inventory.reserve(system_ctx, sku=sku, hub=hub, qty=4, key="cart-1")
    with pytest.raises(ValidationFailed) as exc:
        inventory.adjust(merchant_ctx, sku, hub, -7)
    assert "4 units reserved" in field_errors(exc)["delta"]
    assert exc.value.errors[0].code == "below_reserved"
    assert level(sku, hub) == (10, 4)
    inventory.adjust(merchant_ctx, sku, hub, -6)  # exactly down to what is reserved
    assert level(sku, hub) == (4, 4)
    assert_ledger_matches(stocked)


@pytest.mark.parametrize("delta", [0, 1.5, "3", True])
def test_adjust_refuses_a_zero_or_non_integer_change(merchant_ctx, sku, hub, delta):
    with pytest.raises(ValidationFailed) as exc:
        inventory.adjust(merchant_ctx, sku, hub, delta)
    assert set(field_errors(exc)) == {"delta"}
    assert not Stock.objects.exists() and not StockMovement.objects.exists()


def test_adjust_refuses_another_orgs_sku_and_a_non_hub(
    merchant_ctx, other_sku, sku, hub, merchant_org
):
    with pytest.raises(NotFound) as exc:
        inventory.adjust(merchant_ctx, other_sku, hub, 5)
    assert exc.value.field == "sku"
    with pytest.raises(ValidationFailed) as exc:
        inventory.adjust(merchant_ctx, sku, merchant_org, 5)  # a merchant is not a hub
    assert set(field_errors(exc)) == {"hub"}
    with pytest.raises(ValidationFailed) as exc:
        inventory.adjust(merchant_ctx, sku, hub, 5, "x" * 301)
    assert set(field_errors(exc)) == {"note"}
    with pytest.raises(NotFound):
        inventory.adjust(Context(), sku, hub, 5)  # no organization at all
    assert not Stock.objects.exists() and not AuditEntry.objects.exists()


def test_set_on_hand_adjusts_by_the_difference(merchant_ctx, system_ctx, stocked, sku, hub):
    movement = inventory.set_on_hand(merchant_ctx, sku, hub, 7, "stock take")
    assert movement.on_hand_delta == -3 and movement.on_hand_after == 7
    assert inventory.set_on_hand(merchant_ctx, sku, hub, 7) is None  # nothing to change
    assert StockMovement.objects.count() == 2
    inventory.reserve(system_ctx, sku=sku, hub=hub, qty=5, key="cart-2")
    with pytest.raises(ValidationFailed) as exc:
        inventory.set_on_hand(merchant_ctx, sku, hub, 4)
    assert "5 units reserved" in field_errors(exc)["on_hand"]
    with pytest.raises(ValidationFailed) as exc:
        inventory.set_on_hand(merchant_ctx, sku, hub, -1)
    assert set(field_errors(exc)) == {"on_hand"}
    assert_ledger_matches(stocked)


# -- receipts and returns -------------------------------------------------------------------


def test_receive_and_return_add_on_hand_with_their_reasons(merchant_ctx, sku, hub, make_user):
    hub_staff = make_user(org=hub)
    hub_ctx = Context(user=hub_staff, org=hub, roles=frozenset({"operator"}))
    received = inventory.receive(hub_ctx, sku, hub, 40, "ASN-2026-0001")
    returned = inventory.return_to_stock(merchant_ctx, sku, hub, 2, "RMA-7")

    assert received.reason == MovementReason.RECEIPT and received.reference == "ASN-2026-0001"
    assert returned.reason == MovementReason.RETURN and returned.on_hand_after == 42
    assert level(sku, hub) == (42, 0)
    assert not AuditEntry.objects.exists()  # only manual adjustments are audited
    assert_ledger_matches(Stock.objects.get(sku=sku, hub=hub))


def test_another_merchant_cannot_receive_into_my_sku(other_ctx, sku, hub):
    with pytest.raises(NotFound):
        inventory.receive(other_ctx, sku, hub, 5)
    with pytest.raises(ValidationFailed) as exc:
        inventory.return_to_stock(other_ctx, sku, hub, 0)
    assert set(field_errors(exc)) == {"qty"}
    assert not Stock.objects.exists()


# -- reservations ---------------------------------------------------------------------------


def test_reserve_holds_units_and_is_idempotent_by_key(system_ctx, stocked, sku, hub):
    first = inventory.reserve(system_ctx, sku=sku, hub=hub, qty=3, key="chk-1", purpose="checkout")
    again = inventory.reserve(system_ctx, sku=sku, hub=hub, qty=3, key="chk-1", purpose="checkout")

    assert again.pk == first.pk
    assert level(sku, hub) == (10, 3)
    assert Reservation.objects.count() == 1
    moves = StockMovement.objects.filter(reason=MovementReason.RESERVATION)
    assert [(m.reserved_delta, m.reference) for m in moves] == [(3, "chk-1")]
    assert first.status == ReservationStatus.ACTIVE and first.held == 3

    with pytest.raises(KeyReused) as exc:
        inventory.reserve(system_ctx, sku=sku, hub=hub, qty=4, key="chk-1")
    assert exc.value.field == "key"
    assert level(sku, hub) == (10, 3)


def test_reserve_refuses_more_than_available_naming_qty(system_ctx, stocked, sku, hub):
    inventory.reserve(system_ctx, sku=sku, hub=hub, qty=7, key="a")
    with pytest.raises(ValidationFailed) as exc:
        inventory.reserve(system_ctx, sku=sku, hub=hub, qty=4, key="b")
    assert field_errors(exc) == {"qty": "Only 3 available; cannot hold 4."}
    assert exc.value.errors[0].code == "insufficient_stock"
    assert not Reservation.objects.filter(key="b").exists()
    assert level(sku, hub) == (10, 7)
    inventory.reserve(system_ctx, sku=sku, hub=hub, qty=3, key="c")  # exactly what is left
    assert level(sku, hub) == (10, 10)
    assert_ledger_matches(stocked)


def test_reserve_without_stock_row_or_sku(system_ctx, sku, hub):
    with pytest.raises(ValidationFailed) as exc:
        inventory.reserve(system_ctx, sku=sku, hub=hub, qty=1, key="k")
    assert field_errors(exc) == {"qty": "Only 0 available; cannot hold 1."}
    with pytest.raises(NotFound) as nf:
        inventory.reserve(system_ctx, sku=999_999, hub=hub, qty=1, key="k")
    assert nf.value.field == "sku"
    for bad in ({"qty": 0}, {"key": ""}, {"key": "k" * 101}):
        args = {"sku": sku, "hub": hub, "qty": 1, "key": "k"} | bad
        with pytest.raises(ValidationFailed) as exc:
            inventory.reserve(system_ctx, **args)
        assert set(field_errors(exc)) == set(bad)
    assert not Reservation.objects.exists()


def test_reserve_expiry_must_be_future_and_aware(system_ctx, stocked, sku, hub):
    with clock.frozen(T0):
        for expires in (T0, T0 - dt.timedelta(minutes=1), dt.datetime(2026, 9, 10, 10)):
            with pytest.raises(ValidationFailed) as exc:
                inventory.reserve(system_ctx, sku=sku, hub=hub, qty=1, key="k", expires_at=expires)
            assert set(field_errors(exc)) == {"expires_at"}
    assert not Reservation.objects.exists()


def test_release_partial_then_rest_and_again_is_a_no_op(system_ctx, stocked, sku, hub):
    inventory.reserve(system_ctx, sku=sku, hub=hub, qty=5, key="r")
    partial = inventory.release(system_ctx, "r", 2)
    assert (partial.held, partial.released_qty, partial.status) == (3, 2, ReservationStatus.ACTIVE)
    assert level(sku, hub) == (10, 3)

    with pytest.raises(ValidationFailed) as exc:
        inventory.release(system_ctx, "r", 4)
    assert field_errors(exc) == {"qty": "Only 3 still held by this reservation."}

    done = inventory.release(system_ctx, "r")
    assert (done.held, done.status) == (0, ReservationStatus.RELEASED)
    assert done.closed_at is not None
    assert inventory.release(system_ctx, "r").status == ReservationStatus.RELEASED  # retry
    with pytest.raises(ReservationClosed):
        inventory.release(system_ctx, "r", 1)
    assert level(sku, hub) == (10, 0)
    releases = StockMovement.objects.filter(reason=MovementReason.RELEASE)
    assert [m.reserved_delta for m in releases.order_by("pk")] == [-2, -3]
    with pytest.raises(NotFound):
        inventory.release(system_ctx, "no-such-key")
    assert_ledger_matches(stocked)


def test_consume_ships_held_units(system_ctx, stocked, sku, hub):
    inventory.reserve(system_ctx, sku=sku, hub=hub, qty=4, key="order-1")
    shipped = inventory.consume(system_ctx, "order-1")
    assert shipped.status == ReservationStatus.CONSUMED and shipped.consumed_qty == 4
    assert level(sku, hub) == (6, 0)
    movement = StockMovement.objects.get(reason=MovementReason.SHIPMENT)
    assert (movement.on_hand_delta, movement.reserved_delta) == (-4, -4)
    assert (movement.on_hand_after, movement.reserved_after, movement.reference) == (
        6,
        0,
        "order-1",
    )
    assert inventory.consume(system_ctx, "order-1").pk == shipped.pk  # retry: nothing more
    assert level(sku, hub) == (6, 0)
    assert_ledger_matches(stocked)


def test_partial_consume_then_release_of_the_rest(system_ctx, stocked, sku, hub):
    inventory.reserve(system_ctx, sku=sku, hub=hub, qty=5, key="o")
    inventory.consume(system_ctx, "o", 2)
    closed = inventory.release(system_ctx, "o")
    assert (closed.consumed_qty, closed.released_qty, closed.status) == (
        2,
        3,
        ReservationStatus.CONSUMED,
    )
    assert level(sku, hub) == (8, 0)
    assert_ledger_matches(stocked)


def test_a_released_reservation_cannot_ship(system_ctx, stocked, sku, hub):
    inventory.reserve(system_ctx, sku=sku, hub=hub, qty=2, key="x")
    inventory.release(system_ctx, "x")
    with pytest.raises(ReservationClosed) as exc:
        inventory.consume(system_ctx, "x")
    assert exc.value.status == 409
    assert level(sku, hub) == (10, 0)


def test_reserving_again_with_a_closed_key_returns_the_closed_hold(system_ctx, stocked, sku, hub):
    inventory.reserve(system_ctx, sku=sku, hub=hub, qty=2, key="x")
    inventory.release(system_ctx, "x")
    again = inventory.reserve(system_ctx, sku=sku, hub=hub, qty=2, key="x")
    assert again.status == ReservationStatus.RELEASED
    assert level(sku, hub) == (10, 0)  # never a second hold


# -- expiry -----------------------------------------------------------------------------------


def test_expire_reservations_with_a_frozen_clock(system_ctx, stocked, sku, hub):
    with clock.frozen(T0):
        soon = T0 + dt.timedelta(minutes=15)
        later = T0 + dt.timedelta(hours=2)
        inventory.reserve(system_ctx, sku=sku, hub=hub, qty=3, key="q1", expires_at=soon)
        inventory.reserve(system_ctx, sku=sku, hub=hub, qty=2, key="q2", expires_at=soon)
        inventory.release(system_ctx, "q2", 1)
        inventory.reserve(system_ctx, sku=sku, hub=hub, qty=4, key="q3", expires_at=later)
        inventory.reserve(system_ctx, sku=sku, hub=hub, qty=1, key="q4")  # never expires
        assert inventory.expire_reservations() == 0
        assert level(sku, hub) == (10, 9)

        clock.advance(dt.timedelta(minutes=15))  # expiry is inclusive: due at expires_at
        assert inventory.expire_reservations() == 2
        assert level(sku, hub) == (10, 5)
        q1, q2 = Reservation.objects.get(key="q1"), Reservation.objects.get(key="q2")
        assert (q1.status, q1.released_qty, q1.closed_at) == (
            ReservationStatus.EXPIRED,
            3,
            T0 + dt.timedelta(minutes=15),
        )
        assert (q2.status, q2.released_qty) == (ReservationStatus.EXPIRED, 2)
        assert inventory.expire_reservations() == 0  # idempotent

        clock.advance(dt.timedelta(days=1))
        assert inventory.expire_reservations() == 1
    assert level(sku, hub) == (10, 1)
    expiries = StockMovement.objects.filter(reason=MovementReason.RELEASE, note="expired")
    assert expiries.count() == 3
    assert_ledger_matches(stocked)


def test_expiry_with_an_explicit_now_and_batches(monkeypatch, system_ctx, stocked, sku, hub):
    monkeypatch.setattr(inventory, "EXPIRY_BATCH", 2)
    with clock.frozen(T0):
        for i in range(5):
            inventory.reserve(
                system_ctx,
                sku=sku,
                hub=hub,
                qty=1,
                key=f"b{i}",
                expires_at=T0 + dt.timedelta(minutes=i + 1),
            )
    assert inventory.expire_reservations(now=T0 + dt.timedelta(minutes=3)) == 3
    assert inventory.expire_reservations(now=T0 + dt.timedelta(minutes=10)) == 2
    assert level(sku, hub) == (10, 0)


# -- many lines at once ----------------------------------------------------------------------


def test_reserve_many_is_all_or_nothing(system_ctx, merchant_ctx, make_sku, merchant_org, hub):
    a, b, c = (make_sku(merchant_org) for _ in range(3))
    for s, n in ((a, 5), (b, 1), (c, 2)):
        inventory.adjust(merchant_ctx, s, hub, n)
    moves_before = StockMovement.objects.count()

    with pytest.raises(ValidationFailed) as exc:
        inventory.reserve_many(
            system_ctx,
            [ReserveLine(a, hub, 2), ReserveLine(b, hub, 3), (c, hub, 9)],
            key_prefix="cart-9",
            purpose="checkout",
        )
    assert field_errors(exc) == {
        "lines[1].qty": "Only 1 available; cannot hold 3.",
        "lines[2].qty": "Only 2 available; cannot hold 9.",
    }
    assert not Reservation.objects.exists()
    assert StockMovement.objects.count() == moves_before
    assert Stock.objects.filter(reserved__gt=0).count() == 0


def test_reserve_many_holds_every_line_merges_duplicates_and_is_idempotent(
    system_ctx, merchant_ctx, make_sku, merchant_org, hub
):
    a, b = make_sku(merchant_org), make_sku(merchant_org)
    inventory.adjust(merchant_ctx, a, hub, 5)
    inventory.adjust(merchant_ctx, b, hub, 5)
    lines = [(b, hub, 1), (a, hub, 2), (b, hub, 2)]
    held = inventory.reserve_many(system_ctx, lines, "cart-7", "checkout")
    assert [(r.stock.sku_id, r.qty) for r in held] == [(b.pk, 3), (a.pk, 2)]
    assert held[0].key == inventory.line_key("cart-7", b.pk, hub.pk)
    again = inventory.reserve_many(system_ctx, lines, "cart-7", "checkout")
    assert [r.pk for r in again] == [r.pk for r in held]
    assert level(a, hub) == (5, 2) and level(b, hub) == (5, 3)
    assert StockMovement.objects.filter(reason=MovementReason.RESERVATION).count() == 2


def test_reserve_many_reports_bad_lines(system_ctx, sku, hub):
    with pytest.raises(ValidationFailed) as exc:
        inventory.reserve_many(system_ctx, [(sku, hub, 0), (sku, hub, -1)], "p")
    assert set(field_errors(exc)) == {"lines[0].qty", "lines[1].qty"}
    with pytest.raises(ValidationFailed) as exc:
        inventory.reserve_many(system_ctx, [], "p")
    assert set(field_errors(exc)) == {"lines"}
    with pytest.raises(ValidationFailed) as exc:
        inventory.reserve_many(system_ctx, [(999_999, hub, 1)], "p")
    assert set(field_errors(exc)) == {"lines[0].sku"}


# -- reads and the backstop ----------------------------------------------------------------


def test_reads_are_scoped_to_the_merchant(merchant_ctx, other_ctx, system_ctx, stocked, sku, hub):
    inventory.reserve(system_ctx, sku=sku, hub=hub, qty=2, key="r1")
    assert inventory.stock_for(merchant_ctx, sku, hub).available == 8
    assert list(inventory.stock_levels(merchant_ctx)) == [stocked]
    assert not inventory.stock_levels(other_ctx).exists()
    assert not inventory.movements(other_ctx).exists()
    assert not inventory.reservations(other_ctx).exists()
    assert inventory.movements(merchant_ctx, sku=sku).count() == 2
    assert inventory.reservations(merchant_ctx).get().key == "r1"
    with pytest.raises(NotFound):
        inventory.stock_for(other_ctx, sku, hub)
    with pytest.raises(NotFound):
        inventory.get_stock(other_ctx, stocked.pk)
    with pytest.raises(NotFound):
        inventory.find_sku(other_ctx, sku.code)
    assert inventory.find_sku(merchant_ctx, sku.code) == sku
    assert inventory.available_for_skus([sku.pk, 12345]) == {sku.pk: 8, 12345: 0}


def test_stock_for_an_unstocked_sku_is_zero(merchant_ctx, sku, hub):
    got = inventory.stock_for(merchant_ctx, sku, hub)
    assert (got.on_hand, got.reserved, got.available) == (0, 0, 0)


def test_find_hub(hub, make_org):
    assert inventory.find_hub(hub.public_id.lower()) == hub
    suspended = make_org(kind=OrgKind.HUB_OPERATOR, status="suspended")
    with pytest.raises(ValidationFailed):
        inventory.find_hub(suspended.public_id)


def test_check_constraints_are_the_backstop(stocked):
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(pk=stocked.pk).update(reserved=11)
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(pk=stocked.pk).update(on_hand=-1, reserved=0)
    res = Reservation.objects.create(
        stock=stocked, org_id=stocked.org_id, key="z", qty=2, created_at=clock.now()
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Reservation.objects.filter(pk=res.pk).update(released_qty=2, consumed_qty=1)
