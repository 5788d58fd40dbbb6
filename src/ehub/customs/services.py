"""Customs use cases: landed-cost quotes for checkout and the buyer's annual CBEC quota.

* ``quote_landed_cost`` reads the China tariff lines in force and the buyer's quota usage and
  asks ``domain.tax`` for the regime and taxes (two queries; a read, so no Context).
* ``reference_prices`` gives the undervaluation rule its reference: the catalog price of each
  SKU code (a document line's itemNo), converted from MYR to CNY at the day's rate (one query
  for the SKUs, one for the rate, whatever the number of codes).
* ``reserve_quota`` / ``confirm_quota`` / ``release_quota`` / ``restore_quota`` move a
  checkout's hold on the buyer's annual quota through its life: reserved at checkout,
  confirmed (counted as used) when customs releases the goods, released on cancel or
  rejection, restored on a return within the return window after release. Each is one
  transaction, idempotent by the caller's key, and audit-logged.

Concurrency: the limit is enforced by one conditional UPDATE
(``SET reserved = reserved + x WHERE used + reserved + x <= limit``). The database evaluates
the condition on the latest committed row under its row lock (PostgreSQL re-checks it after
waiting for a concurrent writer; SQLite serialises writers), so two checkouts of one buyer
cannot both pass the limit. Status changes of a reservation are conditional updates too, so a
confirm racing a release moves the quota once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from ehub.catalog.tariff import line_rates
from ehub.core import audit, clock
from ehub.core.context import Context
from ehub.core.errors import Conflict, NotFound, ValidationFailed
from ehub.core.fields import blind_index
from ehub.core.money import Money, Rounding
from ehub.customs.domain.limits import BEIJING, limits_on, quota_year
from ehub.customs.domain.tax import (
    OrderLine,
    Refusal,
    RefusalCode,
    Regime,
    TaxRates,
    TaxResult,
    compute_tax,
)
from ehub.customs.models import BuyerQuota, QuotaReservation, QuotaStatus

CNY = "CNY"


class QuotaExceeded(Conflict):
    code = "quota_exceeded"
    title = _("The buyer's annual cross-border quota is used up.")


class ReturnWindowClosed(Conflict):
    code = "return_window_closed"
    title = _("The return window has closed.")


class QuotaStateConflict(Conflict):
    code = "quota_state_conflict"
    title = _("The quota reservation is not in a state that allows this.")


# -- quotes ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuoteLine:
    """One order line as checkout knows it: the China tariff line, quantity and CNY price."""

    gcode: str
    qty: Decimal | int
    unit_price: Money  # CNY
    limit_qty: Decimal | None = None  # quantity in the unit of a quantity limit (e.g. kg)


def _beijing_today() -> date:
    return clock.now().astimezone(BEIJING).date()


def quote_landed_cost(
    lines: Sequence[QuoteLine],
    *,
    freight: Money | None = None,
    insurance: Money | None = None,
    discount: Money | None = None,
    id_number: str | None = None,
    quota_used: Money | None = None,
    used_qty: Mapping[str, Decimal] | None = None,
    on: date | None = None,
) -> TaxResult:
    """Regime, duty, consumption tax and VAT of a cross-border order, in CNY.

    The buyer's usage this year is ``quota_used`` when given, else looked up by ``id_number``
    (used + reserved; zero for an unknown buyer). ``on`` is the Beijing date whose tariff and
    limits apply (today by default). A line whose gcode has no China tariff line in force is
    refused with ``no_tariff_line``; bad input raises ``ValidationFailed``.
    """
    zero = Money(0, CNY)
    day = on or _beijing_today()
    limits = limits_on(day)
    if quota_used is None:
        quota_used = _quota_used(id_number, day.year) if id_number else zero
    found = line_rates("CN", {line.gcode for line in lines}, day)
    order_lines = []
    missing = None
    for line in lines:
        tariff = found.get(line.gcode)
        if tariff is None:
            missing = missing or line.gcode
            rates = TaxRates(vat=Decimal(0))
        else:
            rates = TaxRates(
                vat=tariff.vat_rate,
                consumption=tariff.consumption_tax_rate,
                duty=tariff.duty_rate,
                positive_list=tariff.cbec_positive,
                qty_limit=tariff.qty_limit,
                qty_limit_unit=tariff.qty_limit_unit,
            )
        order_lines.append(OrderLine(line.gcode, line.qty, line.unit_price, rates, line.limit_qty))
    result = compute_tax(
        order_lines,
        limits=limits,
        quota_used=quota_used,
        freight=freight or zero,
        insurance=insurance or zero,
        discount=discount or zero,
        used_qty=used_qty,
    )
    if missing is not None:
        refusal = Refusal(
            RefusalCode.NO_TARIFF_LINE,
            _("%(gcode)s is not a China tariff line in force on %(day)s.")
            % {"gcode": missing, "day": day.isoformat()},
            missing,
        )
        lines_zero = tuple(
            replace(line, duty=zero, consumption_tax=zero, vat=zero) for line in result.lines
        )
        result = replace(
            result,
            regime=Regime.REFUSED,
            refusal=refusal,
            lines=lines_zero,
            duty=zero,
            consumption_tax=zero,
            vat=zero,
        )
    return result


# -- reference prices ------------------------------------------------------------------------


def reference_prices(item_nos, *, at: datetime | None = None) -> dict[str, Money]:
    """itemNo (the merchant's SKU code) → the catalog unit price in CNY at ``at``'s rate.

    SKU codes are unique per merchant, not globally; the declaration does not say which
    merchant's catalog a code is from, so a code several merchants use takes the lowest of
    their prices (a reference must not make an honest declaration look undervalued). Codes not
    in the catalog, and every code when no MYR→CNY rate is known, are left out: the rule then
    has no reference and does not fire.
    """
    from ehub.catalog.models import Sku
    from ehub.core import fx

    codes = {code for code in item_nos if code}
    if not codes:
        return {}
    lowest: dict[str, int] = {}
    for code, price in Sku.objects.filter(code__in=codes, price_myr__gt=0).values_list(
        "code", "price_myr"
    ):
        if code not in lowest or price < lowest[code]:
            lowest[code] = price
    if not lowest:
        return {}
    try:
        rate = fx.find_rate("MYR", CNY, at).rate
    except fx.RateNotFound:
        return {}
    return {
        code: fx.apply_rate(Money(sen, "MYR"), CNY, rate, Rounding.HALF_UP)
        for code, sen in lowest.items()
    }


# -- quota -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuotaUsage:
    year: int
    used: Money
    reserved: Money
    limit: Money

    @property
    def remaining(self) -> Money:
        return max(self.limit - self.used - self.reserved, Money(0, CNY))


def _id_index(id_number: str) -> str:
    if not isinstance(id_number, str) or not id_number.strip() or len(id_number.strip()) > 60:
        raise ValidationFailed.single(
            "id_number", _("Give the buyer's ID number (at most 60 characters)."), "required"
        )
    return blind_index(id_number)


def _quota_used(id_number: str, year: int) -> Money:
    # Plain SQL: this runs on every checkout quote (see catalog.tariff.line_rates).
    table = connection.ops.quote_name(BuyerQuota._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            # Only the quoted table name is interpolated; values are parameters.
            f"SELECT used + reserved FROM {table} WHERE id_index = %s AND year = %s",  # noqa: S608
            [_id_index(id_number), year],
        )
        row = cursor.fetchone()
    return Money(int(row[0]), CNY) if row else Money(0, CNY)


def quota_usage(id_number: str, *, year: int | None = None) -> QuotaUsage:
    """The buyer's used and reserved amounts in ``year`` (this Beijing year by default)."""
    return _usage(_id_index(id_number), year or quota_year(clock.now()))


def declaration_quota_usage(declaration) -> QuotaUsage:
    """The quota of a declaration's buyer (by its ID number's blind index) in the Beijing year
    it was declared (this year while undeclared): the officer page shows it."""
    return _usage(declaration.buyer_id_index, quota_year(declaration.declared_at or clock.now()))


def _usage(index: str, year: int) -> QuotaUsage:
    row = (
        BuyerQuota.objects.filter(id_index=index, year=year).values_list("used", "reserved").first()
    ) or (0, 0)
    limits = limits_on(date(year, 12, 31))
    return QuotaUsage(year, Money(row[0], CNY), Money(row[1], CNY), limits.annual)


def _audit_after(reservation: QuotaReservation) -> dict:
    return {
        "key": reservation.key,
        "amount": Money(reservation.amount, CNY),
        "status": reservation.status,
        "year": reservation.quota.year,
    }


def _reservation(key: str) -> QuotaReservation:
    reservation = QuotaReservation.objects.select_related("quota").filter(key=key).first()
    if reservation is None:
        raise NotFound(_("No quota reservation with this key."), field="key")
    return reservation


def reserve_quota(ctx: Context, id_number: str, amount: Money, key: str) -> QuotaReservation:
    """Hold ``amount`` (CNY) of the buyer's quota for this Beijing year under ``key``.

    Raises ``QuotaExceeded`` when used + reserved + amount would pass the annual limit. The same
    key again returns the first reservation (a different buyer or amount is a Conflict).
    """
    index = _id_index(id_number)
    if not isinstance(amount, Money) or amount.currency != CNY or not amount.is_positive:
        raise ValidationFailed.single("amount", _("A positive amount in CNY."), "invalid")
    if not key or len(key) > 100:
        raise ValidationFailed.single("key", _("An idempotency key of 1-100 characters."))
    now = clock.now()
    year = quota_year(now)
    limit = limits_on(now.astimezone(BEIJING).date()).annual.amount
    # Three statements and no savepoint on the way through (checkout places an order in one
    # transaction and every SAVEPOINT/RELEASE is a round trip): take the amount from the
    # buyer's year row with one conditional upsert, then insert the reservation unless the key
    # exists. A repeated key is the rare path: the amount is given back and the first
    # reservation answered.
    with transaction.atomic(savepoint=False):
        taken = _take_quota(index, year, amount.amount, limit, now)
        if taken is None:
            existing = _existing_or_error(key, index, amount)
        else:
            reservation = _insert_reservation(key, taken, amount.amount, now)
            if reservation is None:
                BuyerQuota.objects.filter(pk=taken.pk).update(
                    reserved=F("reserved") - amount.amount
                )
                existing = _existing_or_error(key, index, amount)
            else:
                audit.record(
                    ctx, "customs.quota_reserved", reservation, after=_audit_after(reservation)
                )
                return reservation
    # Refusals are raised outside the block: nothing was written, and a caller's transaction
    # (no savepoint was taken) must stay usable.
    if isinstance(existing, QuotaStateConflict):
        raise existing
    if existing is not None:
        return existing
    if taken is None:
        raise QuotaExceeded(
            _(
                "This order (%(amount)s) would take the buyer past the annual "
                "cross-border limit of %(limit)s."
            )
            % {"amount": amount, "limit": Money(limit, CNY)},
            field="amount",
        )
    raise QuotaStateConflict(_("Try again."), field="key")  # pragma: no cover - twin rolled back


def _existing_or_error(
    key: str, index: str, amount: Money
) -> QuotaReservation | QuotaStateConflict | None:
    """``_existing`` whose conflict is returned, to be raised once the caller's block is left."""
    try:
        return _existing(key, index, amount)
    except QuotaStateConflict as exc:
        return exc


def _take_quota(index: str, year: int, amount: int, limit: int, now) -> BuyerQuota | None:
    """Add ``amount`` to the buyer's reserved quota if it fits under ``limit`` (the row is
    created on first use): one INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING, the same
    SQL on PostgreSQL and SQLite (3.35+). None when it does not fit."""
    if amount > limit:
        return None
    table = connection.ops.quote_name(BuyerQuota._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id_index, year, used, reserved, updated_at) "  # noqa: S608
            "VALUES (%s, %s, 0, %s, %s) ON CONFLICT (id_index, year) DO UPDATE SET "
            f"reserved = {table}.reserved + excluded.reserved, updated_at = excluded.updated_at "
            f"WHERE {table}.used + {table}.reserved + excluded.reserved <= %s "
            "RETURNING id, used, reserved",
            [index, year, amount, stamp, limit],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return BuyerQuota(
        pk=row[0], id_index=index, year=year, used=row[1], reserved=row[2], updated_at=now
    )


def _insert_reservation(key: str, quota: BuyerQuota, amount: int, now) -> QuotaReservation | None:
    """Insert the reservation unless ``key`` exists (None then), without a savepoint."""
    table = connection.ops.quote_name(QuotaReservation._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, quota_id, amount, status, created_at) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING RETURNING id",
            [key, quota.pk, amount, str(QuotaStatus.RESERVED), stamp],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return QuotaReservation(
        pk=row[0],
        key=key,
        quota=quota,
        amount=amount,
        status=QuotaStatus.RESERVED,
        created_at=now,
    )


def _existing(key: str, index: str, amount: Money) -> QuotaReservation | None:
    existing = QuotaReservation.objects.select_related("quota").filter(key=key).first()
    if existing is None:
        return None
    if existing.quota.id_index != index or existing.amount != amount.amount:
        raise QuotaStateConflict(
            _("This key already holds a different buyer's or amount's reservation."),
            field="key",
        )
    return existing


def _move(
    reservation: QuotaReservation, source: str, target: str, stamp: str, now: datetime
) -> bool:
    moved = QuotaReservation.objects.filter(pk=reservation.pk, status=source).update(
        status=target, **{stamp: now}
    )
    return bool(moved)


def confirm_quota(ctx: Context, key: str) -> QuotaReservation:
    """Customs released the goods: the reserved amount becomes used."""
    now = clock.now()
    with transaction.atomic():
        reservation = _reservation(key)
        if reservation.status == QuotaStatus.CONFIRMED:
            return reservation
        if not _move(reservation, QuotaStatus.RESERVED, QuotaStatus.CONFIRMED, "confirmed_at", now):
            raise QuotaStateConflict(
                _("Only a reserved quota can be confirmed (this one is %(status)s).")
                % {"status": _reservation(key).get_status_display()},
                field="key",
            )
        BuyerQuota.objects.filter(pk=reservation.quota_id).update(
            reserved=F("reserved") - reservation.amount,
            used=F("used") + reservation.amount,
            updated_at=now,
        )
        reservation.refresh_from_db()
        audit.record(ctx, "customs.quota_confirmed", reservation, after=_audit_after(reservation))
    return reservation


def release_quota(ctx: Context, key: str) -> QuotaReservation:
    """The order was cancelled or rejected before release: give the reserved amount back."""
    now = clock.now()
    with transaction.atomic():
        reservation = _reservation(key)
        if reservation.status == QuotaStatus.RELEASED:
            return reservation
        if not _move(reservation, QuotaStatus.RESERVED, QuotaStatus.RELEASED, "released_at", now):
            raise QuotaStateConflict(
                _(
                    "Only a reserved quota can be released (this one is %(status)s); "
                    "goods already released by customs are restored on return instead."
                )
                % {"status": _reservation(key).get_status_display()},
                field="key",
            )
        BuyerQuota.objects.filter(pk=reservation.quota_id).update(
            reserved=F("reserved") - reservation.amount, updated_at=now
        )
        reservation.refresh_from_db()
        audit.record(ctx, "customs.quota_released", reservation, after=_audit_after(reservation))
    return reservation


def restore_quota(ctx: Context, key: str, released_at: datetime) -> QuotaReservation:
    """The goods came back within the return window after customs release: the used amount
    returns to the buyer's quota. After the window it raises ``ReturnWindowClosed``."""
    now = clock.now()
    limits = limits_on(released_at.astimezone(BEIJING).date())
    with transaction.atomic():
        reservation = _reservation(key)
        if reservation.status == QuotaStatus.RESTORED:
            return reservation
        if now > limits.return_deadline(released_at):
            raise ReturnWindowClosed(
                _(
                    "Goods returned more than %(days)d days after customs release do not "
                    "restore the quota."
                )
                % {"days": limits.return_days},
                field="released_at",
            )
        if not _move(reservation, QuotaStatus.CONFIRMED, QuotaStatus.RESTORED, "restored_at", now):
            raise QuotaStateConflict(
                _("Only a confirmed quota can be restored (this one is %(status)s).")
                % {"status": _reservation(key).get_status_display()},
                field="key",
            )
        BuyerQuota.objects.filter(pk=reservation.quota_id).update(
            used=F("used") - reservation.amount, updated_at=now
        )
        reservation.refresh_from_db()
        audit.record(ctx, "customs.quota_restored", reservation, after=_audit_after(reservation))
    return reservation
