"""The flash-sale gate: claim and release an offer's units without overselling or losing any.

Checkout calls :func:`claim_offer_units` when a buyer puts a campaign offer in an order and
:func:`release_offer_units` when that order is abandoned or cancelled. Both are idempotent by
the caller's key.

How a claim stays correct under a crowd (the design is written up in docs/decisions.md):

* the offer's allocation is split into K ``OfferBucket`` rows; a claim decrements one with
  ``UPDATE … SET remaining = remaining - q WHERE … AND remaining >= q`` on a randomly chosen
  bucket. The condition is evaluated on the latest committed row under its row lock, so no
  bucket ever goes below zero (a check constraint backs this up), and buyers queue on K rows
  instead of one;
* when that bucket is short, the claim reads the non-empty buckets and takes from them
  (several if it must, in index order so two such claims cannot deadlock); when all of them
  together are short the claim fails as a whole: units are never handed out in part;
* the per-buyer limit is one conditional upsert on the (offer, buyer) row:
  ``INSERT … ON CONFLICT DO UPDATE SET claimed = claimed + q WHERE claimed + q <= limit``;
* the claim row (unique key) is written first, so a retry returns the original claim before
  any counter moves; everything happens in one transaction, so a refused claim changes
  nothing.

SQL is written by hand here (the ORM cannot express the conditional upserts): the f-strings
only ever interpolate quoted table names, values always go as parameters (hence the S608
``noqa``); ``random`` spreads load over buckets and is no security measure (S311).

The hot path is four statements in one transaction and reads no other row: the offer's sale
window is copied onto the offer row that the caller already holds.

When ``EHUB_REDIS_URL`` is set, ``redis_gate`` answers first: claims it refuses never reach the
database, claims it admits run the database claim above unchanged (the database stays the
record), and if the database then refuses or fails the units go back to Redis.
"""

from __future__ import annotations

import os
import random
import threading
from contextlib import nullcontext

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils.translation import gettext_lazy as _

from ehub.core import clock
from ehub.core.context import Context
from ehub.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed

from ..domain import plan_take
from ..models import (
    BuyerAllowance,
    CampaignStatus,
    Claim,
    ClaimStatus,
    Offer,
    OfferBucket,
    OfferStatus,
)
from . import redis_gate

# How long "sold out" and the displayed remaining units may be stale. A sold-out flag only
# saves refused buyers a transaction; a release clears it at once in this process.
SOLD_OUT_TTL = float(os.environ.get("EHUB_CAMPAIGN_SOLD_OUT_TTL", "1"))
REMAINING_TTL = float(os.environ.get("EHUB_CAMPAIGN_REMAINING_TTL", "1"))
MAX_KEY_LENGTH = 100
# "function" (default): on PostgreSQL one call of the campaigns_claim function; "statements":
# the portable path everywhere (kept selectable so tests can prove both on PostgreSQL).
GATE_MODE = os.environ.get("EHUB_CAMPAIGN_GATE", "function")
# A claim made in its own transaction commits asynchronously on PostgreSQL; see decisions.md.
ASYNC_COMMIT = os.environ.get("EHUB_CAMPAIGN_ASYNC_COMMIT", "1") == "1"

# SQLite has one writer per database; serialising this process's claims on a lock avoids
# busy-waiting (and shared-cache "table is locked" errors of in-memory test databases).
_sqlite_writer = threading.RLock()


class ClaimRefused(Conflict):
    """The claim is valid but cannot be honoured now."""

    code = "claim_refused"


class SoldOut(ClaimRefused):
    code = "sold_out"
    title = _("Sold out.")


class LimitReached(ClaimRefused):
    code = "buyer_limit_reached"
    title = _("You have reached the limit for this offer.")


class NotOnSale(ClaimRefused):
    code = "not_on_sale"
    title = _("This offer is not on sale now.")


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _writer_lock():
    return _sqlite_writer if connection.vendor == "sqlite" else nullcontext()


def _sold_out_key(offer_id: int) -> str:
    return f"campaigns:sold-out:{offer_id}"


def _remaining_key(offer_id: int) -> str:
    return f"campaigns:remaining:{offer_id}"


def _check_request(qty, key) -> None:
    errors = []
    if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
        errors.append(FieldError("qty", _("Claim at least one unit."), "not_positive"))
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        errors.append(
            FieldError("key", _("Give an idempotency key of 1 to 100 characters."), "invalid")
        )
    if errors:
        raise ValidationFailed(errors)


def _existing(key: str, buyer_id: int, offer: Offer, qty: int) -> Claim | None:
    claim = Claim.objects.filter(key=key).first()
    if claim is None:
        return None
    if claim.buyer_id != buyer_id or claim.offer_id != offer.pk or claim.qty != qty:
        raise Conflict(
            _("This key was used for a different claim."), code="claim_key_reused", field="key"
        )
    claim.offer = offer
    return claim


class _Replay(Exception):
    pass


def claim_offer_units(buyer, offer: Offer, qty: int, *, key: str) -> Claim:
    """Hold ``qty`` units of ``offer`` for ``buyer``; the same ``key`` returns the same claim.

    Raises ``NotOnSale`` outside the offer's sale window, ``LimitReached`` past the per-buyer
    limit, ``SoldOut`` when fewer than ``qty`` units are left (nothing is held then),
    ``ValidationFailed`` for a bad qty or key, ``Conflict`` when the key was used for a
    different claim.
    """
    _check_request(qty, key)
    buyer_id = buyer.pk if hasattr(buyer, "pk") else int(buyer)
    # Outside the SQLite writer lock: Redis refusals need not queue behind database writes.
    # Inside a caller's transaction (checkout) Redis only checks: the units are taken from it
    # when that transaction commits, so a rollback cannot leave them missing there.
    in_caller_transaction = connection.in_atomic_block
    verdict = (
        redis_gate.admit(offer, buyer_id, qty, key, clock.now(), take=not in_caller_transaction)
        if redis_gate.active()
        else None
    )
    if verdict is None:
        with _writer_lock():
            return _claim(buyer_id, offer, qty, key)
    if not verdict.ok:
        raise _refusal(verdict.reason, offer)
    try:
        with _writer_lock():
            claim, fresh = _claim_in_record(buyer_id, offer, qty, key, clock.now())
    except SoldOut:
        verdict.database_sold_out()
        raise
    except LimitReached:
        verdict.database_limit_reached()
        raise
    except BaseException:
        verdict.give_back()
        raise
    if not fresh:
        # A replay: the database took nothing this time; the key stays known to Redis.
        verdict.give_back(keep_key=True)
    elif not verdict.taken:
        transaction.on_commit(verdict.take_committed)
    return claim


def _refusal(reason: str, offer: Offer) -> ClaimRefused:
    if reason == "LIMIT":
        return _limit_reached(offer)
    if reason == "SOLD_OUT":
        return SoldOut(_("Not enough units left."), field="qty")
    return NotOnSale(_("This offer is not on sale now."))


def _claim(buyer_id: int, offer: Offer, qty: int, key: str) -> Claim:
    now = clock.now()

    refusal: ClaimRefused | None = None
    if offer.status != OfferStatus.APPROVED or not (
        offer.sale_starts_at <= now < offer.sale_ends_at
    ):
        refusal = NotOnSale(_("This offer is not on sale now."))
    elif qty > offer.per_buyer_limit:
        refusal = LimitReached(
            _("At most %(limit)d per buyer.") % {"limit": offer.per_buyer_limit}, field="qty"
        )
    elif cache.get(_sold_out_key(offer.pk)):
        refusal = SoldOut(_("Sold out."), field="qty")
    if refusal is not None:
        # A retry of a claim that succeeded earlier still gets its claim back.
        existing = _existing(key, buyer_id, offer, qty)
        if existing is not None:
            return existing
        raise refusal
    return _claim_in_record(buyer_id, offer, qty, key, now)[0]


def _claim_in_record(buyer_id: int, offer: Offer, qty: int, key: str, now) -> tuple[Claim, bool]:
    """The database claim; the flag says whether it is new (False: a replay of ``key``)."""
    if _use_database_function():
        claim_id = _claim_in_database(key, offer, buyer_id, qty, now)
    else:
        claim_id = _claim_with_statements(key, offer, buyer_id, qty, now)
    if claim_id is None:
        existing = _existing(key, buyer_id, offer, qty)
        if existing is None:  # pragma: no cover - the row was there a moment ago
            raise Conflict(_("Try again."), code="claim_retry")
        return existing, False
    claim = Claim(
        pk=claim_id,
        key=key,
        offer=offer,
        buyer_id=buyer_id,
        qty=qty,
        status=ClaimStatus.HELD,
        created_at=now,
    )
    claim._state.adding = False
    claim._state.db = connection.alias
    return claim, True


def _use_database_function() -> bool:
    return connection.vendor == "postgresql" and GATE_MODE != "statements"


def _claim_in_database(key: str, offer: Offer, buyer_id: int, qty: int, now) -> int | None:
    """PostgreSQL: the whole claim in one call of ``campaigns_claim`` (migration 0002)."""
    # Asynchronous commit only when the claim is its own transaction: inside a caller's
    # transaction (checkout) it would weaken the caller's commit too.
    asynchronous = ASYNC_COMMIT and not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT campaigns_claim(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                key,
                offer.pk,
                buyer_id,
                qty,
                offer.per_buyer_limit,
                offer.bucket_count,
                random.randrange(max(offer.bucket_count, 1)),  # noqa: S311
                now,
                asynchronous,
            ],
        )
        result = cursor.fetchone()[0]
    if result > 0:
        return result
    if result == 0:
        return None
    if result == -1:
        raise _limit_reached(offer)
    if not _any_left(offer.pk):
        cache.set(_sold_out_key(offer.pk), True, SOLD_OUT_TTL)
    raise SoldOut(_("Not enough units left."), field="qty")


def _limit_reached(offer: Offer) -> LimitReached:
    return LimitReached(
        _("You already hold the most this offer allows per buyer (%(limit)d).")
        % {"limit": offer.per_buyer_limit},
        field="qty",
    )


def _claim_with_statements(key: str, offer: Offer, buyer_id: int, qty: int, now) -> int | None:
    """Any backend: the same steps as single statements in one transaction (the caller
    holds ``_writer_lock``)."""
    try:
        with transaction.atomic():
            claim_id = _insert_claim(key, offer.pk, buyer_id, qty, now)
            if claim_id is None:
                raise _Replay
            _raise_allowance(offer, buyer_id, qty)
            _take_units(offer, qty)
    except _Replay:
        return None
    return claim_id


def _insert_claim(key: str, offer_id: int, buyer_id: int, qty: int, now) -> int | None:
    table = _q(Claim._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({_q('key')}, offer_id, buyer_id, qty, status, created_at) "  # noqa: S608
            f"VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT ({_q('key')}) DO NOTHING RETURNING id",
            [
                key,
                offer_id,
                buyer_id,
                qty,
                ClaimStatus.HELD.value,
                connection.ops.adapt_datetimefield_value(now),
            ],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _raise_allowance(offer: Offer, buyer_id: int, qty: int) -> None:
    table = _q(BuyerAllowance._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (offer_id, buyer_id, claimed) VALUES (%s, %s, %s) "  # noqa: S608
            f"ON CONFLICT (offer_id, buyer_id) DO UPDATE "
            f"SET claimed = {table}.claimed + excluded.claimed "
            f"WHERE {table}.claimed + excluded.claimed <= %s RETURNING claimed",
            [offer.pk, buyer_id, qty, offer.per_buyer_limit],
        )
        row = cursor.fetchone()
    if row is None:
        raise _limit_reached(offer)


def _take_units(offer: Offer, qty: int) -> None:
    """Take ``qty`` from the buckets or raise SoldOut (the caller's transaction then rolls
    back). Same order of locks as the PostgreSQL function: see its comments."""
    table = _q(OfferBucket._meta.db_table)
    index = _q("index")
    skip = (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    buckets = max(offer.bucket_count, 1)
    # See the PostgreSQL function: a failed search must not keep stray row locks (SQLite
    # has no row locks and one writer, so it needs no savepoint).
    sid = transaction.savepoint() if skip else None
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET remaining = remaining - %s WHERE id = ("  # noqa: S608
            f"SELECT id FROM {table} WHERE offer_id = %s AND remaining >= %s "
            f"ORDER BY ({index} + %s) %% %s LIMIT 1{skip})",
            [qty, offer.pk, qty, random.randrange(buckets), buckets],  # noqa: S311
        )
        taken = cursor.rowcount == 1
        if sid is not None:
            if taken:
                transaction.savepoint_commit(sid)
            else:
                transaction.savepoint_rollback(sid)
        if taken:
            return
        cursor.execute(
            f"SELECT {index}, remaining FROM {table} WHERE offer_id = %s AND remaining > 0 "  # noqa: S608
            f"ORDER BY {index}{lock}",
            [offer.pk],
        )
        rows = cursor.fetchall()
        plan = plan_take([remaining for _index, remaining in rows], qty)
        if plan:
            for position, take in sorted(plan):
                cursor.execute(
                    f"UPDATE {table} SET remaining = remaining - %s "  # noqa: S608
                    f"WHERE offer_id = %s AND {index} = %s AND remaining >= %s",
                    [take, offer.pk, rows[position][0], take],
                )
                if cursor.rowcount != 1:  # pragma: no cover - the rows are locked
                    raise SoldOut(_("Too many buyers at once; try again."), field="qty")
            return
    if not _any_left(offer.pk):
        cache.set(_sold_out_key(offer.pk), True, SOLD_OUT_TTL)
    raise SoldOut(_("Not enough units left."), field="qty")


def _any_left(offer_id: int) -> bool:
    return OfferBucket.objects.filter(offer_id=offer_id, remaining__gt=0).exists()


def release_offer_units(claim_key: str) -> Claim:
    """Give a claim's units back (to the offer while it runs, to stock once it ended).

    Idempotent: releasing a released claim returns it unchanged. Unknown key: ``NotFound``.
    """
    from ehub.catalog.services import inventory

    now = clock.now()
    table = _q(Claim._meta.db_table)
    with _writer_lock(), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET status = %s, released_at = %s "  # noqa: S608
                f"WHERE {_q('key')} = %s AND status = %s RETURNING id",
                [
                    ClaimStatus.RELEASED.value,
                    connection.ops.adapt_datetimefield_value(now),
                    claim_key,
                    ClaimStatus.HELD.value,
                ],
            )
            row = cursor.fetchone()
        claim = Claim.objects.select_related("offer").filter(key=claim_key).first()
        if claim is None:
            raise NotFound(_("No such claim."))
        if row is None:
            return claim  # released before
        offer = _offer_for_release(claim.offer_id)
        BuyerAllowance.objects.filter(offer_id=offer.pk, buyer_id=claim.buyer_id).update(
            claimed=F("claimed") - claim.qty
        )
        if offer.status == OfferStatus.APPROVED:
            bucket = random.randrange(max(offer.bucket_count, 1))  # noqa: S311
            OfferBucket.objects.filter(offer_id=offer.pk, index=bucket).update(
                remaining=F("remaining") + claim.qty
            )
        else:
            # The offer has ended and its buckets are closed: the units go back to stock.
            inventory.release(Context.system(), offer.reservation_key, qty=claim.qty)
            Offer.objects.filter(pk=offer.pk).update(returned_units=F("returned_units") + claim.qty)
    cache.delete(_sold_out_key(claim.offer_id))
    cache.delete(_remaining_key(claim.offer_id))
    if offer.status == OfferStatus.APPROVED:
        redis_gate.released(offer.pk, claim.buyer_id, claim.qty)
    claim.status = ClaimStatus.RELEASED
    claim.released_at = now
    return claim


def claim_for_buyer(ctx: Context, offer_public_id: str, qty: int, *, key: str) -> Claim:
    """The caller claims units for themselves (the API's door to :func:`claim_offer_units`):
    signed in, and only offers of published campaigns; any other offer is ``NotFound``."""
    if not ctx.is_authenticated:
        raise PermissionDenied(_("Sign in first."))
    offer = Offer.objects.select_related("campaign").filter(public_id=offer_public_id).first()
    if offer is None or offer.campaign.status != CampaignStatus.PUBLISHED:
        raise NotFound(_("Offer not found."))
    return claim_offer_units(ctx.user, offer, qty, key=key)


def release_own_claim(ctx: Context, claim_key: str) -> Claim:
    """The caller gives back one of their own claims; anyone else's is ``NotFound``."""
    buyer_id = ctx.user.pk if ctx.is_authenticated else None
    if not Claim.objects.filter(key=claim_key, buyer_id=buyer_id).exists():
        raise NotFound(_("No such claim."))
    return release_offer_units(claim_key)


def _offer_for_release(offer_id: int) -> Offer:
    # A shared lock: releases run side by side, but not while end_offer (NO KEY UPDATE) drains
    # the buckets, so a unit can never land in a bucket that was already emptied for good.
    if connection.vendor == "postgresql":
        return Offer.objects.raw(
            f"SELECT * FROM {_q(Offer._meta.db_table)} WHERE id = %s FOR SHARE",  # noqa: S608
            [offer_id],
        )[0]
    return Offer.objects.get(pk=offer_id)


def remaining_units(offer_ids) -> dict[int, int]:
    """Units left per offer for display: the sum of its buckets, cached ``REMAINING_TTL`` s."""
    ids = list(dict.fromkeys(offer_ids))
    if not ids:
        return {}
    keys = {_remaining_key(i): i for i in ids}
    cached = cache.get_many(list(keys))
    result = {keys[k]: v for k, v in cached.items()}
    missing = [i for i in ids if i not in result]
    if missing:
        sums = dict(
            OfferBucket.objects.filter(offer_id__in=missing)
            .values("offer_id")
            .annotate(total=Sum("remaining"))
            .values_list("offer_id", "total")
        )
        fresh = {i: int(sums.get(i) or 0) for i in missing}
        cache.set_many({_remaining_key(i): v for i, v in fresh.items()}, REMAINING_TTL)
        result.update(fresh)
    return result


def forget_remaining(offer_id: int) -> None:
    """The offer was approved or ended: drop what is cached about it (Redis copy included)."""
    cache.delete(_remaining_key(offer_id))
    cache.delete(_sold_out_key(offer_id))
    redis_gate.forget(offer_id)
