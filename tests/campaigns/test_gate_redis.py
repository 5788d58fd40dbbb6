"""The Redis gate in front of the flash-sale claim (``services.redis_gate``).

These tests need a Redis server: ``EHUB_REDIS_URL`` when set, else redis://127.0.0.1:6379/14.
Without one they are skipped, unless ``EHUB_REQUIRE_REDIS=1`` (CI), where that is a failure.
Each test uses its own key prefix and deletes only its own keys. The tests run on a committed
database (``transaction=True``): inside a transaction Redis only checks (see the last test).
"""

from __future__ import annotations

import logging
import os
import random
import threading
import uuid

import pytest
from django.db import connections, transaction
from django.db.models import Sum

from ehub.campaigns.models import BuyerAllowance, Claim, ClaimStatus, OfferBucket
from ehub.campaigns.services import (
    LimitReached,
    NotOnSale,
    SoldOut,
    claim_offer_units,
    end_offer,
    gate,
    redis_gate,
    release_offer_units,
)
from ehub.core.context import Context

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = os.environ.get("EHUB_REDIS_URL") or "redis://127.0.0.1:6379/14"
UNREACHABLE = "redis://127.0.0.1:1/0"


def _server():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        client.ping()
    except (redis.exceptions.RedisError, OSError) as exc:
        message = f"Redis is not reachable at {REDIS_URL} ({exc})."
        if os.environ.get("EHUB_REQUIRE_REDIS") == "1":
            pytest.fail(message + " EHUB_REQUIRE_REDIS=1 requires it.")
        pytest.skip(
            message + " Install and start it (apt-get install redis-server) to run these tests,"
            " or set EHUB_REDIS_URL."
        )
    return client


@pytest.fixture
def rds(settings, monkeypatch):
    """Turn the gate on against a reachable Redis, under a key prefix of this test alone."""
    client = _server()
    prefix = f"ehub-test-{uuid.uuid4().hex[:12]}"
    settings.REDIS_URL = REDIS_URL
    monkeypatch.setattr(redis_gate, "KEY_PREFIX", prefix)
    monkeypatch.setattr(redis_gate, "_down_until", 0.0)
    monkeypatch.setattr(redis_gate, "_warned", False)
    monkeypatch.setattr(redis_gate, "_dirty", set())
    yield client
    stale = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if stale:
        client.delete(*stale)


def copy_of(client, offer) -> dict:
    state, buyers, keys, _gen = redis_gate._keys(offer.pk)
    units = client.hget(state, "units")
    return {
        "units": None if units is None else int(units),
        "buyers": {int(k): int(v) for k, v in client.hgetall(buyers).items()},
        "keys": {k.decode() for k in client.hkeys(keys)},
    }


def assert_books_balance(offer) -> dict:
    left = OfferBucket.objects.filter(offer=offer).aggregate(s=Sum("remaining"))["s"] or 0
    held_rows = Claim.objects.filter(offer=offer, status=ClaimStatus.HELD)
    held = held_rows.aggregate(s=Sum("qty"))["s"] or 0
    per_buyer = dict(
        held_rows.values("buyer_id").annotate(s=Sum("qty")).values_list("buyer_id", "s")
    )
    assert left + held == offer.allocated_units, "units lost or created"
    assert all(q <= offer.per_buyer_limit for q in per_buyer.values()), "limit passed"
    allowances = dict(
        BuyerAllowance.objects.filter(offer=offer, claimed__gt=0).values_list("buyer_id", "claimed")
    )
    assert allowances == per_buyer
    return {"left": left, "held": held, "per_buyer": per_buyer}


# -- behaviour -----------------------------------------------------------------------------


def test_refusals_by_redis_never_reach_the_database(
    rds, make_offer, make_buyer, django_assert_num_queries
):
    offer = make_offer(units=3, limit=2)
    first, second, third = make_buyer(), make_buyer(), make_buyer()
    claim_offer_units(first, offer, 2, key="a")  # fills the copy from the database
    claim_offer_units(second, offer, 1, key="b")
    assert copy_of(rds, offer)["units"] == 0
    with django_assert_num_queries(0), pytest.raises(SoldOut):
        claim_offer_units(third, offer, 1, key="c")
    with django_assert_num_queries(0), pytest.raises(LimitReached) as exc:
        claim_offer_units(first, offer, 1, key="d")
    assert exc.value.field == "qty"
    assert assert_books_balance(offer)["left"] == 0


def test_a_retry_returns_the_claim_and_takes_nothing_more(rds, make_offer, make_buyer):
    offer = make_offer(units=5, limit=2)
    buyer = make_buyer()
    first = claim_offer_units(buyer, offer, 2, key="order-1")
    again = claim_offer_units(buyer, offer, 2, key="order-1")
    assert again.pk == first.pk
    assert copy_of(rds, offer)["units"] == 3
    assert copy_of(rds, offer)["buyers"] == {buyer.pk: 2}
    assert assert_books_balance(offer)["held"] == 2


def test_a_database_failure_gives_the_units_back(rds, make_offer, make_buyer, monkeypatch):
    offer = make_offer(units=4, limit=2)
    buyer = make_buyer()
    claim_offer_units(make_buyer(), offer, 1, key="warm")

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(gate, "_claim_in_record", broken)
    with pytest.raises(RuntimeError):
        claim_offer_units(buyer, offer, 2, key="lost")
    copy = copy_of(rds, offer)
    assert copy["units"] == 3 and buyer.pk not in copy["buyers"] and "lost" not in copy["keys"]
    monkeypatch.undo()
    claim_offer_units(buyer, offer, 2, key="lost")  # the same key now goes through
    assert copy_of(rds, offer)["units"] == 1
    assert assert_books_balance(offer)["held"] == 3


def test_a_copy_above_the_truth_is_corrected_by_the_database(rds, make_offer, make_buyer):
    offer = make_offer(units=2, limit=2)
    claim_offer_units(make_buyer(), offer, 2, key="all")
    state = redis_gate._keys(offer.pk)[0]
    rds.hincrby(state, "units", 5)  # drift upwards: Redis admits, the database refuses
    with pytest.raises(SoldOut):
        claim_offer_units(make_buyer(), offer, 1, key="x")
    assert copy_of(rds, offer)["units"] == 0  # rebuilt from the database
    assert assert_books_balance(offer)["held"] == 2


def test_a_copy_below_the_truth_is_rebuilt_on_sold_out(rds, make_offer, make_buyer, monkeypatch):
    monkeypatch.setattr(redis_gate, "DRIFT_CHECK_EVERY_S", 0)
    offer = make_offer(units=5, limit=2)
    claim_offer_units(make_buyer(), offer, 1, key="warm")
    rds.hset(redis_gate._keys(offer.pk)[0], "units", 0)  # e.g. a worker died after Redis said OK
    with pytest.raises(SoldOut):  # nothing tells it otherwise yet
        claim_offer_units(make_buyer(), offer, 1, key="early")
    gate.remaining_units([offer.pk])  # what the sale page polls: 4 left
    claim_offer_units(make_buyer(), offer, 1, key="after")
    assert copy_of(rds, offer)["units"] == 3
    assert assert_books_balance(offer)["left"] == 3


def test_a_database_limit_corrects_the_buyer_copy(rds, make_offer, make_buyer):
    offer = make_offer(units=9, limit=3)
    buyer = make_buyer()
    claim_offer_units(buyer, offer, 3, key="three")
    rds.hdel(redis_gate._keys(offer.pk)[1], buyer.pk)  # the copy forgot the buyer
    with pytest.raises(LimitReached):
        claim_offer_units(buyer, offer, 1, key="one-more")
    copy = copy_of(rds, offer)
    assert copy["buyers"][buyer.pk] == 3 and copy["units"] == 6


def test_release_gives_units_back_to_redis(rds, make_offer, make_buyer):
    offer = make_offer(units=2, limit=2)
    buyer = make_buyer()
    claim_offer_units(buyer, offer, 2, key="k")
    with pytest.raises(SoldOut):
        claim_offer_units(make_buyer(), offer, 1, key="late")
    release_offer_units("k")
    release_offer_units("k")  # again: nothing more comes back
    copy = copy_of(rds, offer)
    assert copy["units"] == 2 and buyer.pk not in copy["buyers"]
    claim_offer_units(make_buyer(), offer, 1, key="after")
    claim_offer_units(buyer, offer, 1, key="k2")
    assert assert_books_balance(offer)["left"] == 0


def test_an_ended_offer_starts_fresh_and_is_closed(rds, make_offer, make_buyer):
    offer = make_offer(units=5, limit=2)
    buyer = make_buyer()
    claim_offer_units(buyer, offer, 1, key="before")
    end_offer(Context.system(), offer.pk)
    assert copy_of(rds, offer)["units"] is None  # the copy was dropped
    with pytest.raises(NotOnSale):
        claim_offer_units(make_buyer(), offer, 1, key="after-end")  # stale offer object
    # A retry of the earlier claim still answers with it.
    assert claim_offer_units(buyer, offer, 1, key="before").qty == 1


def test_redis_down_falls_back_to_the_database(settings, rds, make_offer, make_buyer, caplog):
    offer = make_offer(units=4, limit=2)
    claim_offer_units(make_buyer(), offer, 1, key="warm")  # the copy exists, then goes stale
    settings.REDIS_URL = UNREACHABLE
    buyer = make_buyer()
    with caplog.at_level(logging.WARNING, logger=redis_gate.__name__):
        claim_offer_units(buyer, offer, 2, key="a")
        with pytest.raises(LimitReached):
            claim_offer_units(buyer, offer, 1, key="b")
        claim_offer_units(make_buyer(), offer, 1, key="c")
        with pytest.raises(SoldOut):
            claim_offer_units(make_buyer(), offer, 1, key="d")
        release_offer_units("c")
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1
    assert assert_books_balance(offer)["held"] == 3
    # Redis is back: the offers it missed are rebuilt from the database before use.
    settings.REDIS_URL = REDIS_URL
    redis_gate._down_until = 0.0
    claim_offer_units(make_buyer(), offer, 1, key="e")
    assert copy_of(rds, offer)["units"] == 0
    assert assert_books_balance(offer)["left"] == 0


def test_inside_a_callers_transaction_redis_only_checks(rds, make_offer, make_buyer):
    offer = make_offer(units=3, limit=2)
    buyer = make_buyer()
    claim_offer_units(make_buyer(), offer, 1, key="warm")
    with pytest.raises(RuntimeError), transaction.atomic():
        claim_offer_units(buyer, offer, 2, key="rolled-back")
        assert copy_of(rds, offer)["units"] == 2  # not taken before the commit
        raise RuntimeError("checkout failed")
    copy = copy_of(rds, offer)
    assert copy["units"] == 2 and buyer.pk not in copy["buyers"]
    with transaction.atomic():
        claim_offer_units(buyer, offer, 2, key="kept")
    copy = copy_of(rds, offer)
    assert copy["units"] == 0 and copy["buyers"][buyer.pk] == 2 and "kept" in copy["keys"]
    with pytest.raises(SoldOut):
        claim_offer_units(make_buyer(), offer, 1, key="late")
    assert assert_books_balance(offer)["left"] == 0


# -- concurrency ---------------------------------------------------------------------------


def _run_threads(target, chunks):
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(chunks))

    def run(chunk):
        try:
            barrier.wait()
            target(chunk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], [str(e) for e in errors]


@pytest.mark.django_db(transaction=True)
def test_a_crowd_sells_out_exactly_through_redis(rds, make_offer, make_buyer):
    offer = make_offer(units=50, limit=1, buckets=8)
    buyers = [make_buyer() for _ in range(120)]
    won: list[int] = []
    limited: list[int] = []

    def claim(chunk):
        for buyer in chunk:
            for attempt in range(2):  # the second attempt of a winner hits the limit
                try:
                    claim_offer_units(buyer, offer, 1, key=f"crowd-{buyer.pk}-{attempt}")
                    won.append(buyer.pk)
                except SoldOut:
                    pass
                except LimitReached:
                    limited.append(buyer.pk)

    _run_threads(claim, [buyers[i::8] for i in range(8)])
    assert len(won) == 50 and len(set(won)) == 50
    assert set(limited) <= set(won)
    state = assert_books_balance(offer)
    assert state["left"] == 0 and max(state["per_buyer"].values()) == 1
    copy = copy_of(rds, offer)
    assert copy["units"] == 0 and copy["buyers"] == state["per_buyer"]


@pytest.mark.django_db(transaction=True)
def test_claims_and_releases_in_threads_keep_redis_and_database_equal(rds, make_offer, make_buyer):
    offer = make_offer(units=60, limit=3, buckets=8)
    buyers = [make_buyer() for _ in range(40)]
    outcomes = {"won": 0, "refused": 0}
    lock = threading.Lock()

    def crowd(n):
        rng = random.Random(n)
        mine: list[str] = []
        for i in range(30):
            key = f"t{n}-{i}"
            try:
                claim_offer_units(rng.choice(buyers), offer, rng.randint(1, 3), key=key)
                mine.append(key)
                outcome = "won"
            except (SoldOut, LimitReached):
                outcome = "refused"
            with lock:
                outcomes[outcome] += 1
            if mine and rng.random() < 0.15:
                release_offer_units(mine.pop(rng.randrange(len(mine))))

    _run_threads(crowd, list(range(10)))
    assert outcomes["won"] > 0 and outcomes["refused"] > 0
    state = assert_books_balance(offer)
    copy = copy_of(rds, offer)
    assert copy["units"] == state["left"]
    assert copy["buyers"] == state["per_buyer"]
