"""Fixtures of the payments tests: merchants, a buyer, a CNY/MYR rate, intents and the wallet."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ehub.core.context import Context
from ehub.core.money import Money

_seq = itertools.count(1)
RATE = Decimal("0.650000000000")  # 1 CNY = 0.65 MYR


def cny(amount: int) -> Money:
    return Money(amount, "CNY")


@pytest.fixture
def fx_rate(db):
    from ehub.core.models import FxRate

    return FxRate.objects.create(
        base="CNY", quote="MYR", rate=RATE, source="test", as_of=datetime(2020, 1, 1, tzinfo=UTC)
    )


@pytest.fixture
def merchants(make_org):
    return [
        make_org(name="Durian Raja Sdn. Bhd.", registration_number="201901012345"),
        make_org(name="Batik Indah Sdn. Bhd.", registration_number="201801054321"),
    ]


@pytest.fixture
def buyer(buyer_user):
    return buyer_user


@pytest.fixture
def buyer_ctx(buyer):
    return Context(user=buyer, via="web")


@pytest.fixture
def system():
    return Context.system()


@pytest.fixture
def make_intent(db, buyer, buyer_ctx, merchants, fx_rate):
    """make_intent(parts=[(merchant_index, goods, freight, tax), ...]) -> PaymentIntent."""
    from ehub.payments import services

    def make(parts=((0, 10000, 1500, 1050),), key=None, category=""):
        specs = [
            services.PaymentPart(
                reference=f"ORD-TEST-{next(_seq):06d}",
                merchant_org_id=merchants[m].pk,
                goods=cny(g),
                freight=cny(f),
                tax=cny(t),
                category=category,
            )
            for m, g, f, t in parts
        ]
        return services.create_intent(
            buyer_ctx,
            buyer=buyer,
            parts=specs,
            idempotency_key=key or f"key-{next(_seq)}",
            return_url="/orders/",
        )

    return make


def run_tasks():
    from ehub.core.tasks import run_pending_tasks

    return run_pending_tasks(raise_errors=True)


@pytest.fixture
def pay(db):
    """pay(intent) -> the intent after the wallet charged it and eHub handled the callbacks."""
    from ehub.payments.gateways import sandbox

    def do(intent, payer="李伟"):
        sandbox().pay(intent.public_id, intent.money, payer)
        run_tasks()
        intent.refresh_from_db()
        return intent

    return do


def signed(body: dict | bytes, *, timestamp=None, secret=None):
    """(body bytes, headers) as the sandbox wallet would send them."""
    from ehub.payments import gateways

    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if secret is None:
        return raw, gateways.signed_request(raw, timestamp=timestamp)
    stamp = timestamp or 0
    return raw, {gateways.SIGNATURE_HEADER: gateways.sign(secret, stamp, raw)}


@pytest.fixture
def ledger_clean():
    """Call after a scenario: the ledger's invariants hold."""
    from ehub.ledger import services as ledger

    def check():
        problems = ledger.verify()
        assert problems == []

    return check
