"""Inventory use cases: stock per SKU per hub, holds (reservations), and their movements.

This is the one door to ``Stock``: checkout, campaigns and the hub call these functions, never
the models. Each public function is one transaction (a savepoint inside the caller's, so a
checkout can reserve and then roll everything back) and writes exactly one ``StockMovement``
per stock row it changes, with the row's values after the change.

How ``available`` stays >= 0 under concurrency
    A change is applied as one conditional UPDATE: ``UPDATE stock SET reserved = reserved + 3
    WHERE id = … AND on_hand - reserved >= 3``. The database evaluates the condition on the
    current row version while holding the row lock, so two buyers racing for the last unit
    cannot both win; the loser's UPDATE matches no row and becomes a ValidationFailed naming
    ``qty`` with the number still available. The bounds come from
    ``inventory_domain.guard`` and the CHECK constraints on ``Stock`` are the backstop. After a
    successful UPDATE the row stays locked until commit, so the values read back for the
    movement are exactly this change's result.

Idempotency
    ``reserve`` is idempotent by ``key``: the Reservation row is inserted first (unique key) and
    the stock is touched only if that insert wins; a retry, or a concurrent twin, gets the
    existing reservation back and never a second hold. Re-using a key for a different SKU, hub
    or quantity is a Conflict. ``release``/``consume`` without ``qty`` (give back or ship all
    that is still held) are idempotent; partial ones apply on every call.

Who may call
    Merchant-facing functions (``adjust``, ``set_on_hand``, reads) are scoped to the caller's
    organization: another org's SKU is NotFound. ``receive``/``return_to_stock`` also accept the
    hub's own organization. Holds (``reserve*``, ``release``, ``consume``) are internal: the
    calling service (checkout, campaigns) has already decided the caller may buy or allocate, so
    they check quantities, not roles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet, Sum
from django.utils.translation import gettext as _

from ehub.accounts.domain import OrgKind, OrgStatus
from ehub.accounts.models import Organization
from ehub.accounts.services import scoped
from ehub.core import audit, clock
from ehub.core.context import Context
from ehub.core.errors import Conflict, FieldError, NotFound, ValidationFailed

from ..inventory_domain import (
    Change,
    InvalidQuantity,
    Level,
    Operation,
    change_for,
    guard,
    refusal,
)
from ..models import (
    MovementReason,
    Reservation,
    ReservationStatus,
    Sku,
    Stock,
    StockMovement,
)

KEY_MAX = Reservation._meta.get_field("key").max_length
PURPOSE_MAX = Reservation._meta.get_field("purpose").max_length
NOTE_MAX = StockMovement._meta.get_field("note").max_length
REFERENCE_MAX = StockMovement._meta.get_field("reference").max_length
EXPIRY_BATCH = 500


@dataclass(frozen=True)
class StockLevel:
    """What a caller sees of one SKU at one hub (zeros when no stock row exists yet)."""

    sku_id: int
    hub_id: int
    on_hand: int = 0
    reserved: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class ReserveLine:
    """One line of a multi-SKU hold (a cart line): ``sku`` and ``hub`` as instances or ids."""

    sku: Any
    hub: Any
    qty: int


class ReservationClosed(Conflict):
    code = "reservation_closed"


class KeyReused(Conflict):
    code = "idempotency_key_reused"


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _pk(obj: Any, field: str) -> int:
    value = getattr(obj, "pk", obj)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed.single(field, _("Unknown reference."), "invalid")
    return value


def _is_system(ctx: Context) -> bool:
    return ctx.has_role("system")


def _actor_id(ctx: Context) -> int | None:
    return ctx.user.pk if ctx.is_authenticated else None


def _quantity(operation: Operation, qty: Any, field: str) -> Change:
    try:
        return change_for(operation, qty)
    except InvalidQuantity as exc:
        raise ValidationFailed.single(field, exc.message, "invalid_quantity") from None


def _text(value: str | None, field: str, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise ValidationFailed.single(
            field, _("Use at most %(limit)d characters.") % {"limit": limit}, "too_long"
        )
    return value


def _merchant_sku(ctx: Context, sku: Any, field: str = "sku") -> Sku:
    """The SKU if the caller's organization owns it (system contexts see all); else NotFound."""
    found = (
        _scoped(Sku.objects.filter(pk=_pk(sku, field)), ctx).only("pk", "org_id", "code").first()
    )
    if found is None:
        raise NotFound(_("SKU not found."), field=field)
    return found


def _hub(hub: Any, field: str = "hub") -> Organization:
    found = hubs().filter(pk=_pk(hub, field)).only("pk", "kind", "status").first()
    if found is None:
        raise ValidationFailed.single(field, _("Choose an active eFulfilment hub."), "unknown_hub")
    return found


def _stock_row(sku: Sku, hub: Organization) -> Stock:
    """The (SKU, hub) row, created at zero on first use.

    ``get_or_create`` inserts in a savepoint and re-reads on a unique-constraint clash, so two
    first receipts racing for the same pair end on one row.
    """
    stock, _created = Stock.objects.get_or_create(
        sku_id=sku.pk, hub_id=hub.pk, defaults={"org_id": sku.org_id}
    )
    return stock


def _level(stock_pk: int) -> Level:
    on_hand, reserved = Stock.objects.filter(pk=stock_pk).values_list("on_hand", "reserved").get()
    return Level(on_hand, reserved)


def _apply(stock_pk: int, change: Change) -> Level | None:
    """Apply ``change`` as one conditional UPDATE; the level after it, or None if refused."""
    bounds = guard(change)
    rows = Stock.objects.filter(pk=stock_pk)
    if bounds.min_on_hand:
        rows = rows.filter(on_hand__gte=bounds.min_on_hand)
    if bounds.min_reserved:
        rows = rows.filter(reserved__gte=bounds.min_reserved)
    if bounds.min_available:
        rows = rows.filter(on_hand__gte=F("reserved") + bounds.min_available)
    values: dict[str, Any] = {"updated_at": clock.now()}
    if change.on_hand:
        values["on_hand"] = F("on_hand") + change.on_hand
    if change.reserved:
        values["reserved"] = F("reserved") + change.reserved
    if rows.update(**values) == 0:
        return None
    # Our UPDATE holds the row lock until commit: this read sees exactly our result.
    return _level(stock_pk)


def _refused(
    operation: Operation, stock_pk: int | None, change: Change, field: str | None = None
) -> ValidationFailed:
    """The refusal, in words, with the level as it is now (zeros when there is no row)."""
    level = _level(stock_pk) if stock_pk is not None else Level()
    reason = refusal(operation, level, change)
    return ValidationFailed.single(field or reason.field, reason.message, reason.code)


def _record(
    ctx: Context,
    stock: Stock,
    operation: Operation,
    change: Change,
    after: Level,
    *,
    reference: str = "",
    note: str = "",
) -> StockMovement:
    return StockMovement.objects.create(
        stock_id=stock.pk,
        org_id=stock.org_id,
        reason=MovementReason(operation.value),
        on_hand_delta=change.on_hand,
        reserved_delta=change.reserved,
        on_hand_after=after.on_hand,
        reserved_after=after.reserved,
        reference=reference[:REFERENCE_MAX],
        note=note[:NOTE_MAX],
        actor_id=_actor_id(ctx),
        at=clock.now(),
    )


def _move(
    ctx: Context,
    stock: Stock,
    operation: Operation,
    change: Change,
    *,
    reference: str = "",
    note: str = "",
    field: str | None = None,
) -> tuple[StockMovement, Level]:
    after = _apply(stock.pk, change)
    if after is None:
        raise _refused(operation, stock.pk, change, field)
    return _record(ctx, stock, operation, change, after, reference=reference, note=note), after


# ---------------------------------------------------------------------------------------------
# On-hand changes: adjustments, receipts, returns
# ---------------------------------------------------------------------------------------------


def _audit_adjustment(ctx: Context, stock: Stock, movement: StockMovement) -> None:
    audit.record(
        ctx,
        "inventory.adjusted",
        stock,
        before={
            "on_hand": movement.on_hand_after - movement.on_hand_delta,
            "reserved": movement.reserved_after,
        },
        after={
            "on_hand": movement.on_hand_after,
            "reserved": movement.reserved_after,
            "delta": movement.on_hand_delta,
            "note": movement.note,
            "sku_id": stock.sku_id,
            "hub_id": stock.hub_id,
        },
    )


def adjust(ctx: Context, sku: Any, hub: Any, delta: int, note: str = "") -> StockMovement:
    """Correct on-hand stock by ``delta`` (negative removes). Reason ``adjustment``; audited.

    The merchant owning the SKU (or a system context) may adjust. On hand may not go below what
    is reserved: that is a ValidationFailed on ``delta`` saying how many are reserved.
    """
    change = _quantity(Operation.ADJUSTMENT, delta, "delta")
    note = _text(note, "note", NOTE_MAX)
    with transaction.atomic():
        sku_obj = _merchant_sku(ctx, sku)
        hub_obj = _hub(hub)
        stock = _stock_row(sku_obj, hub_obj)
        movement, _after = _move(ctx, stock, Operation.ADJUSTMENT, change, note=note)
        _audit_adjustment(ctx, stock, movement)
    return movement


def set_on_hand(
    ctx: Context, sku: Any, hub: Any, on_hand: int, note: str = ""
) -> StockMovement | None:
    """Set on-hand stock to a counted figure (a stock take): an adjustment by the difference.

    Returns None when the count equals what is on hand (nothing changes, nothing is written).
    A count below the reserved units is a ValidationFailed on ``on_hand``.
    """
    if isinstance(on_hand, bool) or not isinstance(on_hand, int) or on_hand < 0:
        raise ValidationFailed.single(
            "on_hand", _("Enter a whole number of at least 0."), "invalid_quantity"
        )
    note = _text(note, "note", NOTE_MAX)
    with transaction.atomic():
        sku_obj = _merchant_sku(ctx, sku)
        hub_obj = _hub(hub)
        stock = _stock_row(sku_obj, hub_obj)
        # The row lock makes "count minus current" exact; the conditional UPDATE in _move still
        # guards the bounds should a backend ignore FOR UPDATE (SQLite locks the whole file).
        current = (
            Stock.objects.select_for_update().filter(pk=stock.pk).values_list("on_hand", "reserved")
        )
        held_on_hand, reserved = current.get()
        if on_hand < reserved:
            raise ValidationFailed.single(
                "on_hand",
                _("Cannot count fewer than the %(reserved)d units reserved.")
                % {"reserved": reserved},
                "below_reserved",
            )
        if on_hand == held_on_hand:
            return None
        change = Change(on_hand=on_hand - held_on_hand, reserved=0)
        movement, _after = _move(
            ctx, stock, Operation.ADJUSTMENT, change, note=note, field="on_hand"
        )
        _audit_adjustment(ctx, stock, movement)
    return movement


def _receiving_sku(ctx: Context, sku: Any, hub: Organization) -> Sku:
    # The hub's own staff receive goods for any merchant; a merchant may book its own.
    if _is_system(ctx) or ctx.org_id == hub.pk:
        found = Sku.objects.filter(pk=_pk(sku, "sku")).only("pk", "org_id", "code").first()
        if found is None:
            raise NotFound(_("SKU not found."), field="sku")
        return found
    return _merchant_sku(ctx, sku)


def receive(ctx: Context, sku: Any, hub: Any, qty: int, reference: str = "") -> StockMovement:
    """Goods received at the hub: on hand up by ``qty``. Reason ``receipt``."""
    change = _quantity(Operation.RECEIPT, qty, "qty")
    reference = _text(reference, "reference", REFERENCE_MAX)
    with transaction.atomic():
        hub_obj = _hub(hub)
        sku_obj = _receiving_sku(ctx, sku, hub_obj)
        stock = _stock_row(sku_obj, hub_obj)
        movement, _after = _move(ctx, stock, Operation.RECEIPT, change, reference=reference)
    return movement


def return_to_stock(
    ctx: Context, sku: Any, hub: Any, qty: int, reference: str = ""
) -> StockMovement:
    """A returned parcel's units put back on the shelf: on hand up. Reason ``return``."""
    change = _quantity(Operation.RETURN, qty, "qty")
    reference = _text(reference, "reference", REFERENCE_MAX)
    with transaction.atomic():
        hub_obj = _hub(hub)
        sku_obj = _receiving_sku(ctx, sku, hub_obj)
        stock = _stock_row(sku_obj, hub_obj)
        movement, _after = _move(ctx, stock, Operation.RETURN, change, reference=reference)
    return movement


# ---------------------------------------------------------------------------------------------
# Holds: reserve, release, consume, expire
# ---------------------------------------------------------------------------------------------


def _check_key(key: Any, field: str = "key") -> str:
    if not isinstance(key, str) or not key.strip():
        raise ValidationFailed.single(field, _("An idempotency key is required."), "required")
    if len(key) > KEY_MAX:
        raise ValidationFailed.single(
            field, _("Use at most %(limit)d characters.") % {"limit": KEY_MAX}, "too_long"
        )
    return key


def _check_expiry(expires_at: dt.datetime | None) -> dt.datetime | None:
    if expires_at is None:
        return None
    if not isinstance(expires_at, dt.datetime) or expires_at.utcoffset() is None:
        raise ValidationFailed.single("expires_at", _("Give an aware date and time."), "invalid")
    if expires_at <= clock.now():
        raise ValidationFailed.single(
            "expires_at", _("The expiry must be in the future."), "in_past"
        )
    return expires_at


def _same_hold(existing: Reservation, sku_id: int, hub_id: int, qty: int) -> Reservation:
    if (existing.stock.sku_id, existing.stock.hub_id, existing.qty) != (sku_id, hub_id, qty):
        raise KeyReused(
            _("This key already holds %(qty)d of another line; use a new key.")
            % {"qty": existing.qty},
            field="key",
        )
    return existing


def _existing_hold(key: str) -> Reservation | None:
    return Reservation.objects.select_related("stock").filter(key=key).first()


def _ensure_sweep(expires_at: dt.datetime | None) -> None:
    if expires_at is not None:
        from ..tasks import schedule_expiry_sweep

        schedule_expiry_sweep()


def _hold(
    ctx: Context,
    stock: Stock | None,
    *,
    sku_id: int,
    hub_id: int,
    qty: int,
    change: Change,
    key: str,
    purpose: str,
    expires_at: dt.datetime | None,
    field: str,
) -> Reservation:
    """Insert the reservation, then take the units; the caller's atomic block rolls back both."""
    existing = _existing_hold(key)
    if existing is not None:
        return _same_hold(existing, sku_id, hub_id, qty)
    if stock is None:
        raise _refused(Operation.RESERVATION, None, change, field)
    try:
        with transaction.atomic():
            # Insert first: the unique key decides which of two concurrent twins holds stock.
            reservation = Reservation.objects.create(
                stock=stock,
                org_id=stock.org_id,
                key=key,
                qty=qty,
                purpose=purpose,
                expires_at=expires_at,
                created_at=clock.now(),
            )
    except IntegrityError:
        existing = _existing_hold(key)
        if existing is None:  # pragma: no cover - the twin rolled back between our statements
            raise
        return _same_hold(existing, sku_id, hub_id, qty)
    after = _apply(stock.pk, change)
    if after is None:
        raise _refused(Operation.RESERVATION, stock.pk, change, field)
    _record(ctx, stock, Operation.RESERVATION, change, after, reference=key, note=purpose)
    return reservation


def reserve(
    ctx: Context,
    *,
    sku: Any,
    hub: Any,
    qty: int,
    key: str,
    purpose: str = "",
    expires_at: dt.datetime | None = None,
) -> Reservation:
    """Hold ``qty`` units of ``sku`` at ``hub`` under the idempotency ``key``.

    Same key again: the existing Reservation (whatever its status), never a second hold; the
    same key for another SKU, hub or quantity is a Conflict (``idempotency_key_reused``). Not
    enough available: ValidationFailed on ``qty`` saying how many are available.
    ``expires_at`` (aware, future): ``expire_reservations`` gives the units back after it.
    """
    key = _check_key(key)
    change = _quantity(Operation.RESERVATION, qty, "qty")
    purpose = _text(purpose, "purpose", PURPOSE_MAX)
    sku_id, hub_id = _pk(sku, "sku"), _pk(hub, "hub")
    with transaction.atomic():
        existing = _existing_hold(key)
        if existing is not None:
            return _same_hold(existing, sku_id, hub_id, qty)
        expires_at = _check_expiry(expires_at)
        stock = Stock.objects.filter(sku_id=sku_id, hub_id=hub_id).only("pk", "org_id").first()
        if stock is None and not Sku.objects.filter(pk=sku_id).exists():
            raise NotFound(_("SKU not found."), field="sku")
        reservation = _hold(
            ctx,
            stock,
            sku_id=sku_id,
            hub_id=hub_id,
            qty=qty,
            change=change,
            key=key,
            purpose=purpose,
            expires_at=expires_at,
            field="qty",
        )
        _ensure_sweep(expires_at)
    return reservation


def line_key(key_prefix: str, sku_id: int, hub_id: int) -> str:
    """The reservation key ``reserve_many`` uses for one (SKU, hub) line."""
    return f"{key_prefix}:{sku_id}@{hub_id}"


def reserve_many(
    ctx: Context,
    lines: Sequence[ReserveLine] | Iterable[tuple[Any, Any, int]],
    key_prefix: str,
    purpose: str = "",
    expires_at: dt.datetime | None = None,
) -> list[Reservation]:
    """Hold every line or none (a cart). Returns one Reservation per distinct (SKU, hub), in the
    order the lines first name them.

    Lines naming the same (SKU, hub) are merged into one hold. Each line's key is
    ``line_key(key_prefix, sku_id, hub_id)``, so calling again with the same prefix returns the
    same holds. Rows are updated in ascending stock id order, the same order for every caller,
    so two carts sharing SKUs wait for each other instead of deadlocking. Every line without
    enough stock is reported (``lines[i].qty`` with how many are available) and nothing is held.
    """
    key_prefix = _check_key(key_prefix, "key_prefix")
    purpose = _text(purpose, "purpose", PURPOSE_MAX)
    wanted: dict[tuple[int, int], int] = {}
    first_index: dict[tuple[int, int], int] = {}
    errors: list[FieldError] = []
    items = [line if isinstance(line, ReserveLine) else ReserveLine(*line) for line in lines]
    if not items:
        raise ValidationFailed.single("lines", _("Give at least one line."), "required")
    for index, line in enumerate(items):
        try:
            _quantity(Operation.RESERVATION, line.qty, f"lines[{index}].qty")
            pair = (_pk(line.sku, f"lines[{index}].sku"), _pk(line.hub, f"lines[{index}].hub"))
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        wanted[pair] = wanted.get(pair, 0) + line.qty
        first_index.setdefault(pair, index)
    if errors:
        raise ValidationFailed(errors)
    for sku_id, hub_id in wanted:
        _check_key(line_key(key_prefix, sku_id, hub_id), "key_prefix")

    keys = {pair: line_key(key_prefix, *pair) for pair in wanted}
    outermost = not connection.in_atomic_block
    try:
        # No savepoint inside a caller's transaction (a round trip each way): a refusal is
        # undone by hand below and raised once the block is left, so it never spoils it.
        with transaction.atomic(savepoint=False):
            held, errors = _hold_many(
                ctx, wanted, first_index, keys, purpose, _check_expiry(expires_at)
            )
            if not errors:
                _ensure_sweep(expires_at)
    except IntegrityError:
        # A concurrent call with the same keys inserted first (the unique key decides). In a
        # transaction of our own it is over: answer as that call did. Inside a caller's
        # transaction that transaction is spoiled: the caller decides (checkout replays).
        if not outermost:
            raise
        existing = {r.key: r for r in _existing_holds(list(keys.values()))}
        if set(existing) != set(keys.values()):  # pragma: no cover - the twin rolled back
            raise
        held = {
            pair: _same_hold(existing[key], pair[0], pair[1], wanted[pair])
            for pair, key in keys.items()
        }
    if errors:
        raise ValidationFailed(errors)
    return [held[pair] for pair in sorted(wanted, key=first_index.__getitem__)]


def _existing_holds(keys: list[str]) -> QuerySet:
    return Reservation.objects.select_related("stock").filter(key__in=keys)


def _take_for_hold(sku_id: int, hub_id: int, qty: int, now) -> tuple | None:
    """Reserve ``qty`` at (SKU, hub) with one conditional UPDATE … RETURNING (PostgreSQL and
    SQLite 3.35+): (stock id, org id, on hand, reserved) after it, or None when refused."""
    table = connection.ops.quote_name(Stock._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET reserved = reserved + %s, updated_at = %s "  # noqa: S608
            "WHERE sku_id = %s AND hub_id = %s AND on_hand >= reserved + %s "
            "RETURNING id, org_id, on_hand, reserved",
            [qty, connection.ops.adapt_datetimefield_value(now), sku_id, hub_id, qty],
        )
        return cursor.fetchone()


def _insert_holds(
    taken: dict[tuple[int, int], tuple],
    wanted: dict[tuple[int, int], int],
    keys: dict[tuple[int, int], str],
    purpose: str,
    expires_at: dt.datetime | None,
    now: dt.datetime,
) -> dict[tuple[int, int], Reservation]:
    """One INSERT of the new holds … ON CONFLICT (key) DO NOTHING RETURNING id, key: the ones
    inserted, by (SKU, hub). A key that exists is skipped instead of spoiling the transaction."""
    if not taken:
        return {}
    table = connection.ops.quote_name(Reservation._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    expiry = connection.ops.adapt_datetimefield_value(expires_at) if expires_at else None
    active = str(ReservationStatus.ACTIVE)
    rows, params = [], []
    for pair, row in taken.items():
        rows.append("(%s, %s, %s, %s, 0, 0, %s, %s, %s, %s)")
        params += [row[0], row[1], keys[pair], wanted[pair], active, purpose, expiry, stamp]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (stock_id, org_id, key, qty, released_qty, consumed_qty, "  # noqa: S608
            f"status, purpose, expires_at, created_at) VALUES {', '.join(rows)} "
            "ON CONFLICT (key) DO NOTHING RETURNING id, key",
            params,
        )
        ids = dict((key, pk) for pk, key in cursor.fetchall())
    by_key = {key: pair for pair, key in keys.items()}
    return {
        by_key[key]: Reservation(
            pk=pk,
            stock_id=taken[by_key[key]][0],
            org_id=taken[by_key[key]][1],
            key=key,
            qty=wanted[by_key[key]],
            status=ReservationStatus.ACTIVE,
            purpose=purpose,
            expires_at=expires_at,
            created_at=now,
        )
        for key, pk in ids.items()
    }


def _why_not(pair: tuple[int, int], qty: int, line: str) -> list[FieldError]:
    """The refusal of a line (``lines[3]``, ``holds[3]``) whose UPDATE took nothing (the slow
    path: a few reads)."""
    stock = Stock.objects.filter(sku_id=pair[0], hub_id=pair[1]).only("pk").first()
    if stock is None and not Sku.objects.filter(pk=pair[0]).exists():
        return [FieldError(f"{line}.sku", _("SKU not found."), "not_found")]
    refused = _refused(
        Operation.RESERVATION, stock.pk if stock else None, Change(0, qty), f"{line}.qty"
    )
    return list(refused.errors)


def _hold_many(
    ctx: Context,
    wanted: dict[tuple[int, int], int],
    first_index: dict[tuple[int, int], int],
    keys: dict[tuple[int, int], str],
    purpose: str,
    expires_at: dt.datetime | None,
) -> tuple[dict[tuple[int, int], Reservation], list[FieldError]]:
    """reserve_many's transaction, in 3 statements for a new one-line hold (+1 per line):
    which keys exist; one conditional UPDATE … RETURNING per (SKU, hub); one bulk INSERT of
    the reservations; one of the stock movements. No savepoints, no per-line reads."""
    errors: list[FieldError] = []
    held: dict[tuple[int, int], Reservation] = {}
    now = clock.now()
    taken: dict[tuple[int, int], tuple] = {}
    # Fixed lock order, the same for every caller: (SKU, hub) ascending (one stock row each),
    # so two carts sharing SKUs wait for each other instead of deadlocking.
    for pair in sorted(wanted):
        row = _take_for_hold(pair[0], pair[1], wanted[pair], now)
        if row is None:
            found = _existing_hold(keys[pair])  # a replay needs no units: answer the first
            if found is None:
                errors.extend(_why_not(pair, wanted[pair], f"lines[{first_index[pair]}]"))
                continue
            try:
                held[pair] = _same_hold(found, pair[0], pair[1], wanted[pair])
            except Conflict as exc:
                index = first_index[pair]
                errors.append(FieldError(f"lines[{index}].key", exc.detail, exc.code))
        else:
            taken[pair] = row
    if not errors:
        inserted = _insert_holds(taken, wanted, keys, purpose, expires_at, now)
        repeated = [pair for pair in taken if pair not in inserted]
        if repeated:
            # Keys held already (a replay): those lines take nothing this time.
            existing = {r.key: r for r in _existing_holds([keys[p] for p in repeated])}
            for pair in repeated:
                row = taken.pop(pair)
                Stock.objects.filter(pk=row[0]).update(reserved=F("reserved") - wanted[pair])
                try:
                    held[pair] = _same_hold(existing[keys[pair]], pair[0], pair[1], wanted[pair])
                except Conflict as exc:
                    index = first_index[pair]
                    errors.append(FieldError(f"lines[{index}].key", exc.detail, exc.code))
                    Reservation.objects.filter(pk__in=[r.pk for r in inserted.values()]).delete()
        held.update(inserted)
    if errors:
        # Give back what the lines took (the rows stay locked by us until commit).
        for pair, row in taken.items():
            Stock.objects.filter(pk=row[0]).update(reserved=F("reserved") - wanted[pair])
        return {}, errors
    if not taken:
        return held, []
    actor_id = _actor_id(ctx)
    StockMovement.objects.bulk_create(
        [
            StockMovement(
                stock_id=row[0],
                org_id=row[1],
                reason=MovementReason(Operation.RESERVATION.value),
                on_hand_delta=0,
                reserved_delta=wanted[pair],
                on_hand_after=row[2],
                reserved_after=row[3],
                reference=keys[pair][:REFERENCE_MAX],
                note=purpose[:NOTE_MAX],
                actor_id=actor_id,
                at=now,
            )
            for pair, row in taken.items()
        ]
    )
    return held, []


def _locked_hold(key: str) -> Reservation:
    key = _check_key(key)
    reservation = (
        Reservation.objects.select_for_update(of=("self",))
        .select_related("stock")
        .filter(key=key)
        .first()
    )
    if reservation is None:
        raise NotFound(_("Reservation not found."), field="key")
    return reservation


def _take_from_hold(
    ctx: Context,
    reservation: Reservation,
    qty: int | None,
    operation: Operation,
    *,
    final_status: str,
    note: str = "",
) -> Reservation:
    """Release or ship ``qty`` (all still held when None) of a locked, active reservation."""
    n = reservation.held if qty is None else qty
    change = _quantity(operation, n, "qty")
    if n > reservation.held:
        raise ValidationFailed.single(
            "qty",
            _("Only %(held)d still held by this reservation.") % {"held": reservation.held},
            "exceeds_held",
        )
    counter = "released_qty" if operation is Operation.RELEASE else "consumed_qty"
    # Conditional even under the row lock, so a backend without FOR UPDATE cannot double-count.
    updated = Reservation.objects.filter(
        pk=reservation.pk,
        status=ReservationStatus.ACTIVE,
        qty__gte=F("released_qty") + F("consumed_qty") + n,
    ).update(**{counter: F(counter) + n})
    if updated == 0:
        raise ReservationClosed(_("This reservation changed meanwhile; try again."), field="key")
    setattr(reservation, counter, getattr(reservation, counter) + n)
    _move(ctx, reservation.stock, operation, change, reference=reservation.key, note=note)
    if reservation.held == 0:
        if reservation.consumed_qty and final_status != ReservationStatus.EXPIRED:
            final_status = ReservationStatus.CONSUMED
        reservation.status = final_status
        reservation.closed_at = clock.now()
        reservation.save(update_fields=["status", "closed_at"])
    return reservation


def release(ctx: Context, key: str, qty: int | None = None) -> Reservation:
    """Give back ``qty`` held units (all when None). Reason ``release``.

    Releasing all of a reservation that is already closed (released, expired, shipped) does
    nothing and returns it: safe to retry. A partial release of a closed reservation, or of more
    than it still holds, is refused.
    """
    with transaction.atomic():
        reservation = _locked_hold(key)
        if reservation.status != ReservationStatus.ACTIVE:
            if qty is None:
                return reservation
            raise ReservationClosed(_("This reservation is no longer active."), field="key")
        return _take_from_hold(
            ctx, reservation, qty, Operation.RELEASE, final_status=ReservationStatus.RELEASED
        )


def consume(ctx: Context, key: str, qty: int | None = None) -> Reservation:
    """Ship ``qty`` held units (all when None): on hand and reserved both go down. Reason
    ``shipment``.

    Consuming all of an already shipped reservation returns it unchanged (safe to retry); a
    released or expired one cannot ship (Conflict ``reservation_closed``).
    """
    with transaction.atomic():
        reservation = _locked_hold(key)
        if reservation.status != ReservationStatus.ACTIVE:
            if qty is None and reservation.status == ReservationStatus.CONSUMED:
                return reservation
            raise ReservationClosed(_("This reservation is no longer active."), field="key")
        return _take_from_hold(
            ctx, reservation, qty, Operation.SHIPMENT, final_status=ReservationStatus.CONSUMED
        )


def expire_reservations(now: dt.datetime | None = None) -> int:
    """Release every active reservation whose ``expires_at`` has passed; how many expired.

    Each reservation is its own transaction, so one problem does not keep the others held, and
    a release racing the sweep is harmless (the sweep re-checks under the row lock).
    """
    moment = now or clock.now()
    ctx = Context.system()
    expired = 0
    while True:
        due = list(
            Reservation.objects.filter(status=ReservationStatus.ACTIVE, expires_at__lte=moment)
            .order_by("expires_at", "pk")
            .values_list("key", flat=True)[:EXPIRY_BATCH]
        )
        for key in due:
            with transaction.atomic():
                reservation = _locked_hold(key)
                if reservation.status != ReservationStatus.ACTIVE:
                    continue
                _take_from_hold(
                    ctx,
                    reservation,
                    None,
                    Operation.RELEASE,
                    final_status=ReservationStatus.EXPIRED,
                    note="expired",
                )
                expired += 1
        if len(due) < EXPIRY_BATCH:
            return expired


# ---------------------------------------------------------------------------------------------
# Batches of holds: a hub's day books and ships thousands of single-line orders at once
# ---------------------------------------------------------------------------------------------

BATCH_MAX = 5_000  # holds per call; callers with more split them (one transaction each)


@dataclass(frozen=True)
class Hold:
    """One hold of a batch: ``qty`` of ``sku`` at ``hub`` under its own idempotency ``key``."""

    sku: Any
    hub: Any
    qty: int
    key: str


def _check_batch_size(n: int, field: str) -> None:
    if n == 0:
        raise ValidationFailed.single(field, _("Give at least one line."), "required")
    if n > BATCH_MAX:
        raise ValidationFailed.single(
            field, _("At most %(n)d per batch.") % {"n": BATCH_MAX}, "too_many"
        )


def reserve_batch(
    ctx: Context,
    holds: Sequence[Hold],
    purpose: str = "",
    expires_at: dt.datetime | None = None,
) -> list[Reservation]:
    """``reserve`` for many holds, each under its own key (many orders' checkouts at once).

    All or nothing: one refusal (not enough stock, an unknown SKU, a key reused for another
    line, bad input) refuses the batch with every problem named (``holds[i].qty``...) and
    holds nothing. A key already held for the same line is returned as it is, as ``reserve``
    does. The result is what one ``reserve`` per hold, in order, would leave: one Reservation
    and one movement per new hold, the movements' levels counted up hold by hold. Statements:
    one read of the keys, one conditional UPDATE … RETURNING per distinct (SKU, hub), one
    INSERT of the holds, one of the movements (Django splits a very large INSERT by the
    backend's parameter limit). A concurrent call inserting one of the same keys makes this
    one fail (IntegrityError) without holding anything: retry it, and the twin's holds come
    back.
    """
    holds = list(holds)
    _check_batch_size(len(holds), "holds")
    purpose = _text(purpose, "purpose", PURPOSE_MAX)
    errors: list[FieldError] = []
    parsed: list[tuple[str, int, int, int]] = []  # key, sku id, hub id, qty
    seen: set[str] = set()
    for i, hold in enumerate(holds):
        try:
            key = _check_key(hold.key, f"holds[{i}].key")
            _quantity(Operation.RESERVATION, hold.qty, f"holds[{i}].qty")
            sku_id, hub_id = _pk(hold.sku, f"holds[{i}].sku"), _pk(hold.hub, f"holds[{i}].hub")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        if key in seen:
            errors.append(
                FieldError(f"holds[{i}].key", _("This key is listed twice."), "duplicate")
            )
            continue
        seen.add(key)
        parsed.append((key, sku_id, hub_id, hold.qty))
    if errors:
        raise ValidationFailed(errors)
    index = {key: i for i, (key, *_rest) in enumerate(parsed)}
    with transaction.atomic():
        expires_at = _check_expiry(expires_at)
        existing = {r.key: r for r in _existing_holds([p[0] for p in parsed])}
        result: dict[str, Reservation] = {}
        new: list[tuple[str, int, int, int]] = []
        for key, sku_id, hub_id, qty in parsed:
            found = existing.get(key)
            if found is None:
                new.append((key, sku_id, hub_id, qty))
                continue
            try:
                result[key] = _same_hold(found, sku_id, hub_id, qty)
            except Conflict as exc:
                errors.append(FieldError(f"holds[{index[key]}].key", exc.detail, exc.code))
        wanted: dict[tuple[int, int], int] = {}
        for _key, sku_id, hub_id, qty in new:
            wanted[(sku_id, hub_id)] = wanted.get((sku_id, hub_id), 0) + qty
        now = clock.now()
        taken: dict[tuple[int, int], tuple] = {}
        if not errors:
            # Ascending (SKU, hub): the lock order of every caller (see _hold_many).
            for pair in sorted(wanted):
                row = _take_for_hold(pair[0], pair[1], wanted[pair], now)
                if row is None:
                    first = next(k for k, s, h, _q in new if (s, h) == pair)
                    errors.extend(_why_not(pair, wanted[pair], f"holds[{index[first]}]"))
                else:
                    taken[pair] = row
        if errors:
            raise ValidationFailed(errors)  # the atomic block gives back what was taken
        if new:
            made = Reservation.objects.bulk_create(
                [
                    Reservation(
                        stock_id=taken[(s, h)][0],
                        org_id=taken[(s, h)][1],
                        key=key,
                        qty=qty,
                        purpose=purpose,
                        expires_at=expires_at,
                        created_at=now,
                    )
                    for key, s, h, qty in new
                ]
            )
            result.update((r.key, r) for r in made)
            # Levels as one reserve per hold would have written them, in the batch's order.
            reserved = {pair: row[3] - wanted[pair] for pair, row in taken.items()}
            actor_id = _actor_id(ctx)
            movements = []
            for key, s, h, qty in new:
                reserved[(s, h)] += qty
                movements.append(
                    StockMovement(
                        stock_id=taken[(s, h)][0],
                        org_id=taken[(s, h)][1],
                        reason=MovementReason(Operation.RESERVATION.value),
                        on_hand_delta=0,
                        reserved_delta=qty,
                        on_hand_after=taken[(s, h)][2],
                        reserved_after=reserved[(s, h)],
                        reference=key[:REFERENCE_MAX],
                        note=purpose[:NOTE_MAX],
                        actor_id=actor_id,
                        at=now,
                    )
                )
            StockMovement.objects.bulk_create(movements)
            _ensure_sweep(expires_at)
    return [result[p[0]] for p in parsed]


def _ship_from_stock(stock_id: int, qty: int, now: dt.datetime) -> tuple | None:
    """One conditional UPDATE … RETURNING: ``qty`` held units leave the shelf (on hand and
    reserved down); (org id, on hand, reserved) after it, or None if the row cannot give them."""
    table = connection.ops.quote_name(Stock._meta.db_table)
    bounds = guard(Change(-qty, -qty))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET on_hand = on_hand - %s, reserved = reserved - %s, "  # noqa: S608
            "updated_at = %s WHERE id = %s AND on_hand >= %s AND reserved >= %s "
            "RETURNING org_id, on_hand, reserved",
            [
                qty,
                qty,
                connection.ops.adapt_datetimefield_value(now),
                stock_id,
                bounds.min_on_hand,
                bounds.min_reserved,
            ],
        )
        return cursor.fetchone()


def consume_batch(ctx: Context, items: Sequence[tuple[str, int]]) -> list[Reservation]:
    """``consume`` for many holds at once: ``(key, qty)`` units of each leave the hub (a
    manifest handed over). Reason ``shipment``.

    A key named twice ships the sum (a flash-sale offer's shared hold). All or nothing: an
    unknown key, a closed hold or more than it still holds refuses the batch, naming every
    such ``items[i]``, and ships nothing. The result is that of one ``consume`` per key in key
    order: holds counted down (closed as shipped when nothing is left), one movement per key.
    Statements: one locking read of the holds, one UPDATE per distinct (quantity, closes)
    group of holds, one conditional UPDATE … RETURNING per stock row, one INSERT of the
    movements.
    """
    items = list(items)
    _check_batch_size(len(items), "items")
    errors: list[FieldError] = []
    wanted: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, (key, qty) in enumerate(items):
        try:
            key = _check_key(key, f"items[{i}].key")
            _quantity(Operation.SHIPMENT, qty, f"items[{i}].qty")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        wanted[key] = wanted.get(key, 0) + qty
        first.setdefault(key, i)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        found = {
            r.key: r
            for r in Reservation.objects.select_for_update(of=("self",))
            .filter(key__in=list(wanted))
            .order_by("pk")
        }
        for key in sorted(wanted):
            reservation, field = found.get(key), f"items[{first[key]}]"
            if reservation is None:
                errors.append(
                    FieldError(f"{field}.key", _("Reservation %(key)s not found.") % {"key": key},
                               "not_found")
                )  # fmt: skip
            elif reservation.status != ReservationStatus.ACTIVE:
                errors.append(
                    FieldError(
                        f"{field}.key",
                        _("Reservation %(key)s is no longer active.") % {"key": key},
                        ReservationClosed.code,
                    )
                )
            elif wanted[key] > reservation.held:
                errors.append(
                    FieldError(
                        f"{field}.qty",
                        _("Only %(held)d still held by reservation %(key)s.")
                        % {"held": reservation.held, "key": key},
                        "exceeds_held",
                    )
                )
        if errors:
            raise ValidationFailed(errors)
        now = clock.now()
        groups: dict[tuple[int, bool], list[int]] = {}
        per_stock: dict[int, int] = {}
        for key in sorted(wanted):
            reservation, n = found[key], wanted[key]
            groups.setdefault((n, n == reservation.held), []).append(reservation.pk)
            per_stock[reservation.stock_id] = per_stock.get(reservation.stock_id, 0) + n
        for (n, closes), pks in groups.items():
            values: dict[str, Any] = {"consumed_qty": F("consumed_qty") + n}
            if closes:
                values.update(status=ReservationStatus.CONSUMED, closed_at=now)
            # Conditional even under the row locks (see _take_from_hold).
            updated = Reservation.objects.filter(
                pk__in=pks,
                status=ReservationStatus.ACTIVE,
                qty__gte=F("released_qty") + F("consumed_qty") + n,
            ).update(**values)
            if updated != len(pks):
                raise ReservationClosed(
                    _("A reservation changed meanwhile; try again."), field="items"
                )
        after: dict[int, list[int]] = {}
        for stock_id in sorted(per_stock):
            row = _ship_from_stock(stock_id, per_stock[stock_id], now)
            if row is None:  # pragma: no cover - the holds guarantee the units (CHECKs too)
                raise _refused(Operation.SHIPMENT, stock_id, Change(0, 0), "items")
            # Walk back to the level before the batch, then forward key by key.
            after[stock_id] = [row[0], row[1] + per_stock[stock_id], row[2] + per_stock[stock_id]]
        actor_id = _actor_id(ctx)
        movements = []
        for key in sorted(wanted):
            reservation, n = found[key], wanted[key]
            level = after[reservation.stock_id]
            level[1] -= n
            level[2] -= n
            movements.append(
                StockMovement(
                    stock_id=reservation.stock_id,
                    org_id=level[0],
                    reason=MovementReason(Operation.SHIPMENT.value),
                    on_hand_delta=-n,
                    reserved_delta=-n,
                    on_hand_after=level[1],
                    reserved_after=level[2],
                    reference=key[:REFERENCE_MAX],
                    note="",
                    actor_id=actor_id,
                    at=now,
                )
            )
            reservation.consumed_qty += n
            if reservation.held == 0:
                reservation.status = ReservationStatus.CONSUMED
                reservation.closed_at = now
        StockMovement.objects.bulk_create(movements)
    return [found[key] for key in wanted]


# ---------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------


def _scoped(qs: QuerySet, ctx: Context) -> QuerySet:
    return qs if _is_system(ctx) else scoped(qs, ctx)


def hubs() -> QuerySet:
    """Active eFulfilment hubs, by name (the choices of the adjustment form)."""
    return Organization.objects.filter(kind=OrgKind.HUB_OPERATOR, status=OrgStatus.ACTIVE).order_by(
        "legal_name", "pk"
    )


def find_hub(public_id: str, field: str = "hub") -> Organization:
    """An active hub by its public id (``ORG-…``); ValidationFailed naming ``field`` otherwise."""
    found = hubs().filter(public_id=(public_id or "").strip().upper()).first()
    if found is None:
        raise ValidationFailed.single(field, _("Choose an active eFulfilment hub."), "unknown_hub")
    return found


def find_sku(ctx: Context, code: str, field: str = "sku") -> Sku:
    """One of the caller's SKUs by its code; NotFound for unknown or another org's codes."""
    found = _scoped(Sku.objects.filter(code=(code or "").strip()), ctx).first()
    if found is None:
        raise NotFound(_("SKU not found."), field=field)
    return found


def skus(ctx: Context) -> QuerySet:
    """The caller's SKUs with their product, by code (the choices of the adjustment form)."""
    return _scoped(Sku.objects.select_related("product"), ctx).order_by("code", "pk")


def stock_levels(ctx: Context, *, sku: Any = None, hub: Any = None) -> QuerySet:
    """The caller's stock rows (with SKU, product and hub loaded), by SKU code then hub."""
    qs = _scoped(Stock.objects.select_related("sku__product", "hub"), ctx)
    if sku is not None:
        qs = qs.filter(sku_id=_pk(sku, "sku"))
    if hub is not None:
        qs = qs.filter(hub_id=_pk(hub, "hub"))
    return qs.order_by("sku__code", "hub__legal_name", "pk")


def get_stock(ctx: Context, stock_id: int) -> Stock:
    """One of the caller's stock rows; NotFound for another org's."""
    found = stock_levels(ctx).filter(pk=stock_id).first()
    if found is None:
        raise NotFound(_("Stock not found."))
    return found


def stock_for(ctx: Context, sku: Any, hub: Any) -> StockLevel:
    """The level of one of the caller's SKUs at one hub (zeros if it has never been stocked)."""
    sku_obj = _merchant_sku(ctx, sku)
    hub_id = _pk(hub, "hub")
    row = (
        Stock.objects.filter(sku_id=sku_obj.pk, hub_id=hub_id)
        .values_list("on_hand", "reserved")
        .first()
    )
    on_hand, reserved = row or (0, 0)
    return StockLevel(sku_obj.pk, hub_id, on_hand, reserved)


def available_for_skus(sku_ids: Iterable[int], *, hub: Any = None) -> dict[int, int]:
    """Units available per SKU id, summed over hubs (or at one hub); one query, no scope.

    For the storefront's "in stock" labels: counts only, which any visitor may see.
    """
    ids = list(sku_ids)
    if not ids:
        return {}
    qs = Stock.objects.filter(sku_id__in=ids)
    if hub is not None:
        qs = qs.filter(hub_id=_pk(hub, "hub"))
    totals = dict(
        qs.values("sku_id")
        .annotate(available=Sum(F("on_hand") - F("reserved")))
        .values_list("sku_id", "available")
    )
    return {sku_id: int(totals.get(sku_id) or 0) for sku_id in ids}


def movements(
    ctx: Context, *, sku: Any = None, hub: Any = None, stock: Any = None, reason: str | None = None
) -> QuerySet:
    """The caller's stock movements, newest first."""
    qs = _scoped(StockMovement.objects.select_related("stock__sku", "stock__hub"), ctx)
    if stock is not None:
        qs = qs.filter(stock_id=_pk(stock, "stock"))
    if sku is not None:
        qs = qs.filter(stock__sku_id=_pk(sku, "sku"))
    if hub is not None:
        qs = qs.filter(stock__hub_id=_pk(hub, "hub"))
    if reason:
        qs = qs.filter(reason=reason)
    return qs.order_by("-at", "-pk")


def reservations(
    ctx: Context, *, sku: Any = None, hub: Any = None, status: str | None = None
) -> QuerySet:
    """Holds on the caller's stock, newest first (read-only: holds are made by checkout and
    campaigns)."""
    qs = _scoped(Reservation.objects.select_related("stock__sku", "stock__hub"), ctx)
    if sku is not None:
        qs = qs.filter(stock__sku_id=_pk(sku, "sku"))
    if hub is not None:
        qs = qs.filter(stock__hub_id=_pk(hub, "hub"))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")
