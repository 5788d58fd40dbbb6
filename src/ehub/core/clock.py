"""The one clock eHub reads: ``clock.now()`` instead of ``timezone.now()``.

Deadlines (quote validity, auto-completion after N days, SLAs, the 30-day return window,
the calendar-year quota) all depend on "now"; reading it through one function lets tests and
the demo freeze and advance time without patching libraries.

The frozen time is process-wide, not per thread, on purpose: a test that freezes time must
also freeze it for the live server thread it drives.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_lock = threading.Lock()
_frozen: list[datetime] = []  # a stack, so frozen() blocks nest


def now() -> datetime:
    """The current instant as an aware UTC datetime (the frozen one inside ``frozen``)."""
    if _frozen:
        return _frozen[-1]
    return datetime.now(UTC)


def _as_utc(moment: datetime) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the clock only takes aware datetimes (attach a tzinfo)")
    return moment.astimezone(UTC)


@contextmanager
def frozen(moment: datetime | None = None) -> Iterator[datetime]:
    """Stop the clock at ``moment`` (default: the current instant) for the block.

    Usable as a decorator too. Yields the frozen instant in UTC.
    """
    instant = _as_utc(moment) if moment is not None else now()
    with _lock:
        _frozen.append(instant)
        depth = len(_frozen)
    try:
        yield instant
    finally:
        with _lock:
            del _frozen[depth - 1 :]


def advance(delta: timedelta) -> datetime:
    """Move the frozen clock forward by ``delta`` (negative goes back); returns the new now."""
    if not isinstance(delta, timedelta):
        raise TypeError(f"advance takes a timedelta, not {type(delta).__name__}")
    with _lock:
        if not _frozen:
            raise RuntimeError("clock.advance() only works inside clock.frozen()")
        _frozen[-1] = _frozen[-1] + delta
        return _frozen[-1]


def is_frozen() -> bool:
    return bool(_frozen)


def today_in(tz_name: str) -> date:
    """The calendar date now in the IANA zone ``tz_name`` (e.g. "Asia/Shanghai")."""
    return now().astimezone(ZoneInfo(tz_name)).date()
