"""The clock: aware UTC now, freezing and advancing for tests, local dates."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ehub.core import clock


def test_now_is_aware_utc_and_moves():
    first = clock.now()
    assert first.tzinfo is UTC
    assert abs(first - datetime.now(UTC)) < timedelta(seconds=5)
    assert not clock.is_frozen()


def test_frozen_and_advance():
    moment = datetime(2025, 9, 9, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    with clock.frozen(moment) as frozen_at:
        assert frozen_at == datetime(2025, 9, 9, 0, 0, tzinfo=UTC)
        assert clock.now() == frozen_at
        assert clock.now().tzinfo is UTC
        assert clock.now() == clock.now()  # does not move by itself
        assert clock.advance(timedelta(days=3)) == frozen_at + timedelta(days=3)
        assert clock.now() == frozen_at + timedelta(days=3)
        with clock.frozen(datetime(2030, 1, 1, tzinfo=UTC)):
            assert clock.now().year == 2030
        assert clock.now() == frozen_at + timedelta(days=3)
    assert clock.now().year != 2030
    assert not clock.is_frozen()


def test_frozen_as_decorator_and_without_argument():
    @clock.frozen(datetime(2024, 2, 29, 12, tzinfo=UTC))
    def leap():
        return clock.now()

    assert leap() == datetime(2024, 2, 29, 12, tzinfo=UTC)
    with clock.frozen() as now:
        assert clock.now() == now


def test_frozen_is_restored_after_an_exception():
    with pytest.raises(RuntimeError), clock.frozen(datetime(2020, 1, 1, tzinfo=UTC)):
        raise RuntimeError
    assert not clock.is_frozen()


def test_refuses_naive_datetimes_and_advance_outside_frozen():
    with pytest.raises(ValueError), clock.frozen(datetime(2025, 1, 1)):
        pass
    with pytest.raises(RuntimeError):
        clock.advance(timedelta(seconds=1))
    with clock.frozen(datetime(2025, 1, 1, tzinfo=UTC)), pytest.raises(TypeError):
        clock.advance(5)


def test_today_in_uses_the_zone():
    with clock.frozen(datetime(2025, 1, 1, 17, 0, tzinfo=UTC)):
        assert clock.today_in("UTC").isoformat() == "2025-01-01"
        assert clock.today_in("Asia/Kuala_Lumpur").isoformat() == "2025-01-02"
        assert clock.today_in("Asia/Shanghai").isoformat() == "2025-01-02"
        assert clock.today_in("America/New_York").isoformat() == "2025-01-01"
