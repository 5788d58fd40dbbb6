"""The flash-sale gate: claims and releases, idempotency, limits, windows, and concurrency.

The concurrency tests run real threads (and on PostgreSQL, processes), each with its own
database connection, against a committed database, and then check the books:
0 oversold, 0 lost (units left + units held == allocated), every buyer within the limit.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import random
import threading

import pytest
from django.db import connection, connections
from django.db.models import Sum

from ehub.campaigns.models import BuyerAllowance, Claim, ClaimStatus, OfferBucket
from ehub.campaigns.services import (
    LimitReached,
    NotOnSale,
    SoldOut,
    claim_offer_units,
    gate,
    release_offer_units,
    remaining_units,
)
from ehub.core import clock
from ehub.core.errors import Conflict, NotFound, ValidationFailed


@pytest.fixture(params=["function", "statements"])
def gate_mode(request, monkeypatch):
    """On PostgreSQL both implementations run (the function is the default); on SQLite the
    statement path is the only one, so the second parameter repeats it harmlessly."""
    monkeypatch.setattr(gate, "GATE_MODE", request.param)
    return request.param


def books(offer) -> dict:
    left = OfferBucket.objects.filter(offer=offer).aggregate(s=Sum("remaining"))["s"] or 0
    held = (
        Claim.objects.filter(offer=offer, status=ClaimStatus.HELD).aggregate(s=Sum("qty"))["s"] or 0
    )
    per_buyer = dict(
        Claim.objects.filter(offer=offer, status=ClaimStatus.HELD)
        .values("buyer_id")
        .annotate(s=Sum("qty"))
        .values_list("buyer_id", "s")
    )
    allowances = dict(BuyerAllowance.objects.filter(offer=offer).values_list("buyer_id", "claimed"))
    return {"left": left, "held": held, "per_buyer": per_buyer, "allowances": allowances}


def assert_books_balance(offer) -> dict:
    state = books(offer)
    assert state["left"] + state["held"] == offer.allocated_units, "units lost or created"
    assert state["held"] <= offer.allocated_units, "oversold"
    assert all(qty <= offer.per_buyer_limit for qty in state["per_buyer"].values())
    # The allowance row is exactly what the buyer holds.
    for buyer_id, claimed in state["allowances"].items():
        assert claimed == state["per_buyer"].get(buyer_id, 0)
    assert not OfferBucket.objects.filter(offer=offer, remaining__lt=0).exists()
    return state


def test_claim_is_idempotent_by_key(gate_mode, make_offer, make_buyer):
    offer = make_offer(units=5, limit=2, buckets=3)
    buyer = make_buyer()
    first = claim_offer_units(buyer, offer, 2, key="order-1:line-1")
    again = claim_offer_units(buyer, offer, 2, key="order-1:line-1")
    assert again.pk == first.pk
    assert assert_books_balance(offer)["held"] == 2
    with pytest.raises(Conflict) as exc:
        claim_offer_units(buyer, offer, 1, key="order-1:line-1")
    assert exc.value.code == "claim_key_reused"


def test_per_buyer_limit_holds_across_claims(gate_mode, make_offer, make_buyer):
    offer = make_offer(units=10, limit=3)
    buyer = make_buyer()
    claim_offer_units(buyer, offer, 2, key="a")
    with pytest.raises(LimitReached) as exc:
        claim_offer_units(buyer, offer, 2, key="b")
    assert exc.value.field == "qty"
    claim_offer_units(buyer, offer, 1, key="c")
    with pytest.raises(LimitReached):
        claim_offer_units(buyer, offer, 4, key="d")  # above the limit on its own
    assert assert_books_balance(offer)["per_buyer"] == {buyer.pk: 3}


def test_never_oversells_and_spreads_a_claim_over_buckets(gate_mode, make_offer, make_buyer):
    offer = make_offer(units=7, limit=7, buckets=7)  # one unit per bucket
    buyer = make_buyer()
    claim_offer_units(buyer, offer, 5, key="big")  # needs five buckets
    with pytest.raises(SoldOut):
        claim_offer_units(make_buyer(), offer, 3, key="too-many")
    assert assert_books_balance(offer)["left"] == 2
    claim_offer_units(make_buyer(), offer, 2, key="rest")
    with pytest.raises(SoldOut):
        claim_offer_units(make_buyer(), offer, 1, key="none-left")
    assert assert_books_balance(offer)["left"] == 0


def test_release_returns_units_and_allowance_once(gate_mode, make_offer, make_buyer):
    offer = make_offer(units=2, limit=2)
    buyer = make_buyer()
    claim_offer_units(buyer, offer, 2, key="k")
    with pytest.raises(SoldOut):
        claim_offer_units(make_buyer(), offer, 1, key="late")
    released = release_offer_units("k")
    assert released.status == ClaimStatus.RELEASED
    release_offer_units("k")  # again: nothing more comes back
    assert assert_books_balance(offer)["left"] == 2
    # The sold-out flag was cleared by the release, and the buyer may claim again.
    claim_offer_units(make_buyer(), offer, 1, key="after")
    claim_offer_units(buyer, offer, 1, key="k2")
    with pytest.raises(NotFound):
        release_offer_units("no-such-key")


def test_claims_only_inside_the_sale_window(make_offer, make_buyer, campaign):
    start = clock.now() + dt.timedelta(hours=1)
    offer = make_offer(units=5, flash_starts_at=start, flash_ends_at=start + dt.timedelta(hours=1))
    buyer = make_buyer()
    with pytest.raises(NotOnSale):
        claim_offer_units(buyer, offer, 1, key="early")
    with clock.frozen(start):
        claim_offer_units(buyer, offer, 1, key="on-time")
    with clock.frozen(start + dt.timedelta(hours=1)):
        with pytest.raises(NotOnSale):
            claim_offer_units(buyer, offer, 1, key="late")
        # A retry of the successful claim still answers with it.
        assert claim_offer_units(buyer, offer, 1, key="on-time").qty == 1


def test_bad_quantity_and_key(make_offer, make_buyer):
    offer = make_offer(units=5)
    with pytest.raises(ValidationFailed) as exc:
        claim_offer_units(make_buyer(), offer, 0, key="")
    assert {e.field for e in exc.value.errors} == {"qty", "key"}


def test_remaining_units_for_display(make_offer, make_buyer, django_assert_max_num_queries):
    offer = make_offer(units=9, limit=3)
    claim_offer_units(make_buyer(), offer, 3, key="x")
    gate.forget_remaining(offer.pk)
    with django_assert_max_num_queries(1):
        assert remaining_units([offer.pk]) == {offer.pk: 6}
    with django_assert_max_num_queries(0):
        assert remaining_units([offer.pk]) == {offer.pk: 6}  # cached


# -- concurrency ---------------------------------------------------------------------------


def _crowd(offer, buyers, *, threads, attempts, seed, release_some=True):
    """Each thread claims for random buyers (1-3 units) and sometimes releases a claim."""
    errors: list[BaseException] = []
    outcomes = {"won": 0, "sold_out": 0, "limit": 0}
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def run(n: int) -> None:
        rng = random.Random(seed + n)
        mine: list[str] = []
        try:
            barrier.wait()
            for i in range(attempts):
                buyer = rng.choice(buyers)
                key = f"t{n}-{i}"
                try:
                    claim_offer_units(buyer, offer, rng.randint(1, 3), key=key)
                    mine.append(key)
                    outcome = "won"
                except SoldOut:
                    outcome = "sold_out"
                except LimitReached:
                    outcome = "limit"
                with lock:
                    outcomes[outcome] += 1
                if release_some and mine and rng.random() < 0.15:
                    release_offer_units(mine.pop(rng.randrange(len(mine))))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == [], [str(e) for e in errors]
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_many_threads_never_oversell_nor_lose_units(gate_mode, make_offer, make_buyer):
    offer = make_offer(units=60, limit=3, buckets=8)
    buyers = [make_buyer() for _ in range(40)]
    outcomes = _crowd(offer, buyers, threads=12, attempts=30, seed=7)
    state = assert_books_balance(offer)
    assert outcomes["won"] > 0 and outcomes["sold_out"] + outcomes["limit"] > 0
    assert state["held"] <= 60


@pytest.mark.django_db(transaction=True)
def test_a_crowd_sells_out_exactly(gate_mode, make_offer, make_buyer):
    offer = make_offer(units=50, limit=1, buckets=16)
    buyers = [make_buyer() for _ in range(120)]
    errors: list[BaseException] = []
    won: list[int] = []
    barrier = threading.Barrier(8)

    def run(chunk):
        try:
            barrier.wait()
            for buyer in chunk:
                try:
                    claim_offer_units(buyer, offer, 1, key=f"crowd-{buyer.pk}")
                    won.append(buyer.pk)
                except SoldOut:
                    pass
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(buyers[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], [str(e) for e in errors]
    assert len(won) == 50 and len(set(won)) == 50
    assert assert_books_balance(offer)["left"] == 0


def _process_claims(offer_id, buyer_ids, prefix, queue):
    from ehub.campaigns.models import Offer

    connections.close_all()  # never share the parent's socket
    offer = Offer.objects.get(pk=offer_id)
    won = 0
    for buyer_id in buyer_ids:
        for attempt in range(2):  # the second attempt must hit the limit of 1
            try:
                claim_offer_units(buyer_id, offer, 1, key=f"{prefix}-{buyer_id}-{attempt}")
                won += 1
            except (SoldOut, LimitReached):
                pass
    connections.close_all()
    queue.put(won)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_processes_never_oversell_on_postgresql(gate_mode, make_offer, make_buyer):
    if connection.vendor != "postgresql":
        pytest.skip("processes need a server database (set EHUB_TEST_DATABASE_URL to PostgreSQL)")
    offer = make_offer(units=80, limit=1, buckets=8)
    buyer_ids = [make_buyer().pk for _ in range(200)]
    connections.close_all()
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_process_claims, args=(offer.pk, buyer_ids[i::4], gate_mode, queue))
        for i in range(4)
    ]
    for proc in procs:
        proc.start()
    won = sum(queue.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert won == 80
    state = assert_books_balance(offer)
    assert state["left"] == 0 and max(state["per_buyer"].values()) == 1
