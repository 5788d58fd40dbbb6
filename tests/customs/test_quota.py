"""Buyer quota: reserve at checkout, confirm at release, release on cancel, restore on return
within 30 days; idempotent by key; the annual limit holds under concurrent checkouts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections

from ehub.core import clock
from ehub.core.context import Context
from ehub.core.errors import NotFound, ValidationFailed
from ehub.core.fields import blind_index
from ehub.core.models import AuditEntry
from ehub.core.money import Money
from ehub.customs import services
from ehub.customs.models import BuyerQuota, QuotaReservation

ID = "11010519491231002X"
OTHER_ID = "110105194912310037"
CTX = Context.system()
JUNE = datetime(2025, 6, 1, 4, 0, tzinfo=UTC)


def cny(text: str) -> Money:
    return Money.parse(text, "CNY")


@pytest.fixture
def june():
    with clock.frozen(JUNE) as moment:
        yield moment


def usage(id_number=ID, year=2025):
    found = services.quota_usage(id_number, year=year)
    return found.used, found.reserved


@pytest.mark.django_db
def test_reserve_confirm_restore(june):
    services.reserve_quota(CTX, ID, cny("1000.00"), "order-1")
    assert usage() == (cny("0"), cny("1000.00"))
    services.confirm_quota(CTX, "order-1")
    assert usage() == (cny("1000.00"), cny("0"))
    clock.advance(timedelta(days=30))
    restored = services.restore_quota(CTX, "order-1", released_at=JUNE)
    assert restored.status == "restored"
    assert usage() == (cny("0"), cny("0"))
    actions = list(
        AuditEntry.objects.filter(action__startswith="customs.quota").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == [
        "customs.quota_confirmed",
        "customs.quota_reserved",
        "customs.quota_restored",
    ]


@pytest.mark.django_db
def test_return_after_30_days_is_refused(june):
    services.reserve_quota(CTX, ID, cny("1000.00"), "order-1")
    services.confirm_quota(CTX, "order-1")
    clock.advance(timedelta(days=30, seconds=1))
    with pytest.raises(services.ReturnWindowClosed):
        services.restore_quota(CTX, "order-1", released_at=JUNE)
    assert usage() == (cny("1000.00"), cny("0"))


@pytest.mark.django_db
def test_release_on_cancel_and_state_rules(june):
    services.reserve_quota(CTX, ID, cny("500.00"), "order-1")
    services.release_quota(CTX, "order-1")
    services.release_quota(CTX, "order-1")  # again: nothing more happens
    assert usage() == (cny("0"), cny("0"))
    with pytest.raises(services.QuotaStateConflict):
        services.confirm_quota(CTX, "order-1")
    with pytest.raises(services.QuotaStateConflict):
        services.restore_quota(CTX, "order-1", released_at=JUNE)
    services.reserve_quota(CTX, ID, cny("500.00"), "order-2")
    services.confirm_quota(CTX, "order-2")
    with pytest.raises(services.QuotaStateConflict):
        services.release_quota(CTX, "order-2")
    with pytest.raises(NotFound):
        services.confirm_quota(CTX, "no-such-key")


@pytest.mark.django_db
def test_idempotent_by_key(june):
    first = services.reserve_quota(CTX, ID, cny("1000.00"), "order-1")
    again = services.reserve_quota(CTX, ID, cny("1000.00"), "order-1")
    assert first.pk == again.pk
    assert usage() == (cny("0"), cny("1000.00"))
    services.confirm_quota(CTX, "order-1")
    services.confirm_quota(CTX, "order-1")
    assert usage() == (cny("1000.00"), cny("0"))
    with pytest.raises(services.QuotaStateConflict):
        services.reserve_quota(CTX, ID, cny("999.00"), "order-1")
    with pytest.raises(services.QuotaStateConflict):
        services.reserve_quota(CTX, OTHER_ID, cny("1000.00"), "order-1")


@pytest.mark.django_db
def test_annual_limit_to_the_fen(june):
    services.reserve_quota(CTX, ID, cny("20000.00"), "a")
    services.confirm_quota(CTX, "a")
    services.reserve_quota(CTX, ID, cny("5999.99"), "b")
    with pytest.raises(services.QuotaExceeded) as caught:
        services.reserve_quota(CTX, ID, cny("0.02"), "c")
    assert caught.value.field == "amount"
    assert not QuotaReservation.objects.filter(key="c").exists()  # nothing half-written
    services.reserve_quota(CTX, ID, cny("0.01"), "d")
    assert services.quota_usage(ID, year=2025).remaining == cny("0")
    # Another buyer is unaffected.
    services.reserve_quota(CTX, OTHER_ID, cny("26000.00"), "e")


@pytest.mark.django_db
def test_a_declarations_quota_is_its_buyers_in_the_year_it_was_declared(june):
    from ehub.customs.models import Declaration

    services.reserve_quota(CTX, ID, cny("1000.00"), "order-1")
    services.reserve_quota(CTX, OTHER_ID, cny("3.00"), "order-2")
    decl = Declaration(buyer_id_index=blind_index(ID), declared_at=JUNE)
    found = services.declaration_quota_usage(decl)
    assert (found.year, found.used, found.reserved) == (2025, cny("0"), cny("1000.00"))
    assert found.remaining == cny("25000.00") and found.limit == cny("26000.00")
    # The Beijing year counts: 17:00 UTC on 31 December is already 1 January there.
    decl.declared_at = datetime(2024, 12, 31, 17, 0, tzinfo=UTC)
    assert services.declaration_quota_usage(decl).year == 2025
    decl.declared_at = datetime(2024, 12, 31, 15, 0, tzinfo=UTC)  # 23:00 in Beijing
    older = services.declaration_quota_usage(decl)
    assert (older.year, older.reserved) == (2024, cny("0"))


@pytest.mark.django_db
def test_year_is_counted_in_beijing_time():
    # 16:30 UTC on 31 December is already 00:30 on 1 January in Beijing.
    with clock.frozen(datetime(2025, 12, 31, 16, 30, tzinfo=UTC)):
        services.reserve_quota(CTX, ID, cny("26000.00"), "new-year")
    assert usage(year=2026) == (cny("0"), cny("26000.00"))
    assert usage(year=2025) == (cny("0"), cny("0"))
    with clock.frozen(datetime(2025, 12, 31, 15, 59, tzinfo=UTC)):
        services.reserve_quota(CTX, ID, cny("26000.00"), "old-year")
    assert usage(year=2025) == (cny("0"), cny("26000.00"))


@pytest.mark.django_db
def test_id_number_is_stored_only_as_blind_index(june):
    services.reserve_quota(CTX, ID, cny("10.00"), "order-1")
    row = BuyerQuota.objects.get()
    assert row.id_index == blind_index(ID)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM customs_buyerquota")
        stored = repr(cursor.fetchall())
    assert ID not in stored and ID[:10] not in stored
    assert services.quota_usage(ID.lower(), year=2025).reserved == cny("10.00")  # 'x' == 'X'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("id_number", "amount", "key", "field"),
    [
        ("", cny("1.00"), "k", "id_number"),
        (ID, cny("0.00"), "k", "amount"),
        (ID, Money(100, "MYR"), "k", "amount"),
        (ID, cny("1.00"), "", "key"),
    ],
)
def test_bad_input_names_the_field(id_number, amount, key, field):
    with pytest.raises(ValidationFailed) as caught:
        services.reserve_quota(CTX, id_number, amount, key)
    assert caught.value.errors[0].field == field


def _race(workers: int, amount: Money, keys=None):
    """Run reserve_quota in ``workers`` threads released at the same moment."""
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait()
            for _attempt in range(50):
                try:
                    services.reserve_quota(CTX, ID, amount, keys[i] if keys else f"k{i}")
                    result = "ok"
                    break
                except services.QuotaExceeded:
                    result = "exceeded"
                    break
                except Exception as exc:  # SQLite: "database table is locked" - retry
                    if "locked" not in str(exc):
                        result = f"error: {exc!r}"
                        break
                    threading.Event().wait(0.01)
            else:
                result = "gave up"
            with lock:
                outcomes.append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_cannot_pass_the_limit():
    """Eight checkouts of CNY 5,000 race for a CNY 26,000 quota: exactly five may pass.

    Runs on whichever database the suite uses (SQLite by default; PostgreSQL with
    EHUB_TEST_DATABASE_URL), where the conditional UPDATE must hold the line."""
    with clock.frozen(JUNE):
        outcomes = _race(8, cny("5000.00"))
    assert sorted(outcomes) == ["exceeded"] * 3 + ["ok"] * 5, outcomes
    row = BuyerQuota.objects.get()
    assert row.reserved == 2_500_000 and row.used == 0
    assert QuotaReservation.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_reserve_once():
    with clock.frozen(JUNE):
        outcomes = _race(6, cny("4000.00"), keys=["same"] * 6)
    assert outcomes == ["ok"] * 6
    assert BuyerQuota.objects.get().reserved == 400_000
    assert QuotaReservation.objects.count() == 1
