"""The Redis gate in front of the flash-sale claim: refuse hopeless claims without the database.

Used by ``gate.claim_offer_units`` only when ``settings.REDIS_URL`` (``EHUB_REDIS_URL``) is set.
The database stays the record and the authority; Redis holds a *copy* of three things per offer
so that the refusals of a sell-out (most attempts) cost one Redis round trip instead of a
database transaction:

* ``<prefix>:offer:<id>:state``: generation, approval stamp, open flag, sale window, per-buyer
  limit and the units left;
* ``<prefix>:offer:<id>:buyers``: units held per buyer;
* ``<prefix>:offer:<id>:keys``: the idempotency keys of claims made (so a retry goes to the
  database, which answers with the original claim, instead of being refused).

A Lua script checks and decrements these atomically (``admit``). An admitted claim still runs
the full database claim; when that refuses or fails, the units go back to Redis (``Ticket``).
The copy is filled lazily from the database under a short lock and rebuilt (a new generation)
when it is known to be off; a give-back only applies to the generation it was taken from, so a
rebuilt copy is never corrected twice. If Redis cannot be reached the caller falls back to the
database path, so Redis can make claims faster but never less correct.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum

from ..models import BuyerAllowance, Claim, Offer, OfferBucket, OfferStatus

log = logging.getLogger(__name__)

KEY_PREFIX = os.environ.get("EHUB_REDIS_GATE_PREFIX", "ehub")
# A hung Redis must not hold buyers up: past this the claim takes the database path.
SOCKET_TIMEOUT = float(os.environ.get("EHUB_REDIS_GATE_TIMEOUT", "0.25"))
# After a failure, skip Redis for this long instead of paying a failed connect per claim.
RETRY_AFTER = 1.0
INIT_LOCK_MS = 3000
# At most one rebuild per offer in this window, across processes.
RESYNC_COOLDOWN_MS = 500
# How long a claim waits for another process to fill the copy before using the database.
INIT_WAIT_S = 1.0
KEEP_AFTER_SALE_S = 86_400
# How often (per offer and process) a "sold out" from Redis is compared with the display
# figure: that peek is a cache round trip, too dear to pay on every refusal of a sell-out.
DRIFT_CHECK_EVERY_S = 0.1

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

ADMIT = """
if redis.call('HEXISTS', KEYS[3], ARGV[4]) == 1 then return {'REPLAY', '0'} end
local s = redis.call('HMGET', KEYS[1], 'gen', 'stamp', 'open', 'starts', 'ends', 'limit', 'units')
if not s[1] or s[2] ~= ARGV[5] then return {'INIT', '0'} end
local gen = s[1]
local now = tonumber(ARGV[1])
if s[3] ~= '1' or now < tonumber(s[4]) or now >= tonumber(s[5]) then return {'CLOSED', gen} end
local qty = tonumber(ARGV[3])
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
if held + qty > tonumber(s[6]) then return {'LIMIT', gen} end
if tonumber(s[7]) < qty then return {'SOLD_OUT', gen} end
redis.call('HSET', KEYS[3], ARGV[4], gen)
-- A check only: the key is recorded (a retry goes to the database, which knows), not the units.
if ARGV[6] ~= '1' then return {'OK', gen} end
redis.call('HINCRBY', KEYS[1], 'units', -qty)
redis.call('HINCRBY', KEYS[2], ARGV[2], qty)
return {'OK', gen}
"""

# ARGV: gen, buyer, qty, -qty, drop_key ('1'/'0'), key
GIVE_BACK = """
if ARGV[5] == '1' then redis.call('HDEL', KEYS[3], ARGV[6]) end
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return 0 end
redis.call('HINCRBY', KEYS[1], 'units', ARGV[3])
if redis.call('HINCRBY', KEYS[2], ARGV[2], ARGV[4]) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return 1
"""

# A release (or, negated, a claim committed after a peek): into whatever generation is
# current (see decisions.md for why that is safe). ARGV: buyer, units delta, buyer delta[, key]
RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[4] then redis.call('HSET', KEYS[3], ARGV[4], '0') end
redis.call('HINCRBY', KEYS[1], 'units', ARGV[2])
if redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[3]) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1
"""

# ARGV: gen, buyer, claimed (the database's figure)
SET_BUYER = """
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
"""

# KEYS: state, buyers, keys, gen counter. ARGV: stamp, open, starts, ends, limit, units, ttl,
# number of buyers, force ('1': rebuild even if a copy of this approval exists), then
# buyer/claimed pairs, then claim keys.
FILL = """
local current = redis.call('HMGET', KEYS[1], 'gen', 'stamp')
if ARGV[9] ~= '1' and current[1] and current[2] == ARGV[1] then
  -- Filled by another meanwhile: rebuilding now would count its claims in flight twice.
  return tonumber(current[1])
end
local gen = redis.call('INCR', KEYS[4])
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'gen', gen, 'stamp', ARGV[1], 'open', ARGV[2], 'starts', ARGV[3],
           'ends', ARGV[4], 'limit', ARGV[5], 'units', ARGV[6])
local i = 10
for _ = 1, tonumber(ARGV[8]) do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
-- Keys are only ever added by a rebuild: a claim in flight keeps its entry.
while i <= #ARGV do
  redis.call('HSET', KEYS[3], ARGV[i], gen)
  i = i + 1
end
for k = 1, 4 do redis.call('EXPIRE', KEYS[k], ARGV[7]) end
return gen
"""

_lock = threading.Lock()
_clients: dict[str, tuple] = {}
_down_until = 0.0
_warned = False
# Offers whose copy missed an update while Redis was unreachable: rebuilt once it is back.
_dirty: set[int] = set()
_drift_checked: dict[int, float] = {}


def active() -> bool:
    return bool(getattr(settings, "REDIS_URL", ""))


def _scripts():
    """(client, admit, give_back, release, set_buyer, fill) for this process and URL."""
    url = settings.REDIS_URL
    entry = _clients.get(url)
    if entry is None:
        import redis

        with _lock:
            entry = _clients.get(url)
            if entry is None:
                client = redis.Redis.from_url(
                    url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
                )
                # register_script: EVALSHA, loading the script once if the server lacks it.
                entry = (client, *(client.register_script(s) for s in _ALL_SCRIPTS))
                _clients[url] = entry
    return entry


_ALL_SCRIPTS = (ADMIT, GIVE_BACK, RELEASE, SET_BUYER, FILL)


def _keys(offer_id: int) -> list[str]:
    base = f"{KEY_PREFIX}:offer:{offer_id}"
    return [f"{base}:state", f"{base}:buyers", f"{base}:keys", f"{base}:gen"]


def _lock_key(offer_id: int, what: str) -> str:
    return f"{KEY_PREFIX}:offer:{offer_id}:{what}"


def _stamp(moment) -> str:
    if moment is None:
        return "0"
    return str((moment - _EPOCH) // dt.timedelta(microseconds=1))


def _seconds(moment) -> str:
    return repr((moment - _EPOCH).total_seconds())


def _reachable() -> bool:
    return time.monotonic() >= _down_until


def _failed(exc: BaseException, offer_id: int | None = None) -> None:
    global _down_until, _warned
    _down_until = time.monotonic() + RETRY_AFTER
    if offer_id is not None:
        _dirty.add(offer_id)
    if not _warned:
        _warned = True
        log.warning("Redis gate unreachable (%s); claims use the database alone meanwhile", exc)


def _redis_errors():
    import redis

    return (redis.exceptions.RedisError, OSError)


@dataclass
class Verdict:
    """What Redis said about a claim: ``reason`` is OK, CLOSED, LIMIT or SOLD_OUT."""

    reason: str
    offer_id: int
    buyer_id: int
    qty: int
    key: str
    gen: str
    taken: bool

    @property
    def ok(self) -> bool:
        return self.reason == "OK"

    def give_back(self, *, keep_key: bool = False) -> None:
        """The database did not take the units: return them to this generation's copy."""
        if not self.taken:
            return
        try:
            _scripts()[2](
                keys=_keys(self.offer_id)[:3],
                args=[
                    self.gen,
                    self.buyer_id,
                    self.qty,
                    -self.qty,
                    "0" if keep_key else "1",
                    self.key,
                ],
            )
        except _redis_errors() as exc:
            # The copy now shows fewer units than the truth: rebuild it once Redis is back.
            _failed(exc, self.offer_id)

    def take_committed(self) -> None:
        """After a peek: the claim committed, so take its units from the copy now."""
        try:
            _scripts()[3](
                keys=_keys(self.offer_id)[:3],
                args=[self.buyer_id, -self.qty, self.qty, self.key],
            )
        except _redis_errors() as exc:
            _failed(exc, self.offer_id)

    def database_sold_out(self) -> None:
        """The database had fewer units than the copy said: the copy is off, rebuild it."""
        self.give_back()
        resync(self.offer_id, cooldown=True)

    def database_limit_reached(self) -> None:
        """The database says the buyer holds more than the copy knew: copy its figure."""
        from .gate import _writer_lock

        self.give_back()
        with _writer_lock():
            claimed = (
                BuyerAllowance.objects.filter(offer_id=self.offer_id, buyer_id=self.buyer_id)
                .values_list("claimed", flat=True)
                .first()
            )
        try:
            _scripts()[4](
                keys=_keys(self.offer_id)[:2], args=[self.gen, self.buyer_id, claimed or 0]
            )
        except _redis_errors() as exc:
            _failed(exc, self.offer_id)


def admit(
    offer: Offer, buyer_id: int, qty: int, key: str, now, *, take: bool = True
) -> Verdict | None:
    """Ask Redis whether the claim can succeed. ``None``: let the database decide alone
    (Redis unreachable, the copy being filled elsewhere, or ``key`` seen before).

    With ``take`` an OK also takes the units from the copy; without, it only checks (the
    caller takes them with ``Verdict.take_committed`` once its transaction commits)."""
    if not _reachable():
        return None
    try:
        if offer.pk in _dirty:
            resync(offer.pk)
            _dirty.discard(offer.pk)
        verdict = _admit(offer, buyer_id, qty, key, now, take)
        if (
            verdict is not None
            and verdict.reason == "SOLD_OUT"
            and _looks_drifted(offer, qty)
            and resync(offer.pk, cooldown=True)
        ):
            verdict = _admit(offer, buyer_id, qty, key, now, take)
        return verdict
    except _redis_errors() as exc:
        _failed(exc, offer.pk)
        return None


def _admit(offer: Offer, buyer_id: int, qty: int, key: str, now, take: bool) -> Verdict | None:
    script = _scripts()[1]
    keys = _keys(offer.pk)[:3]
    args = [_seconds(now), buyer_id, qty, key, _stamp(offer.reviewed_at), "1" if take else "0"]
    deadline = time.monotonic() + INIT_WAIT_S
    filled = False
    while True:
        reason, gen = (x.decode() if isinstance(x, bytes) else str(x) for x in script(keys, args))
        if reason == "REPLAY":
            return None
        if reason != "INIT":
            return Verdict(reason, offer.pk, buyer_id, qty, key, gen, take)
        if filled:
            return None  # filled, yet not for this approval (the caller's offer is stale)
        if _fill(offer.pk):
            filled = True
            continue
        if time.monotonic() > deadline:
            return None
        time.sleep(0.005)


def _looks_drifted(offer: Offer, qty: int) -> bool:
    """Redis says sold out: is the database known (cheaply) to have units left?

    Only the display cache is read (no query), at most every DRIFT_CHECK_EVERY_S: pages
    polling the remaining units keep it fresh during a sale; the copy is rebuilt at most
    every RESYNC_COOLDOWN_MS per offer.
    """
    from .gate import _remaining_key

    now = time.monotonic()
    if now - _drift_checked.get(offer.pk, -DRIFT_CHECK_EVERY_S) < DRIFT_CHECK_EVERY_S:
        return False
    _drift_checked[offer.pk] = now
    remaining = cache.get(_remaining_key(offer.pk))
    return remaining is not None and remaining >= qty


def _fill(offer_id: int, *, force: bool = False) -> bool:
    """Fill the copy from the database under a short lock; False if another holds it."""
    client = _scripts()[0]
    lock = _lock_key(offer_id, "fill-lock")
    if not client.set(lock, "1", nx=True, px=INIT_LOCK_MS):
        return False
    from .gate import _writer_lock

    try:
        # SQLite: reads too must not meet a writer of this process (shared-cache table locks).
        with _writer_lock():
            _load(offer_id, force)
    finally:
        client.delete(lock)
    return True


def _load(offer_id: int, force: bool) -> None:
    row = (
        Offer.objects.filter(pk=offer_id)
        .values_list("status", "sale_starts_at", "sale_ends_at", "per_buyer_limit", "reviewed_at")
        .first()
    )
    if row is None:
        return
    status, starts, ends, limit, reviewed_at = row
    stamp = _stamp(reviewed_at)
    units = OfferBucket.objects.filter(offer_id=offer_id).aggregate(s=Sum("remaining"))["s"] or 0
    buyers = list(
        BuyerAllowance.objects.filter(offer_id=offer_id, claimed__gt=0).values_list(
            "buyer_id", "claimed"
        )
    )
    claim_keys = list(Claim.objects.filter(offer_id=offer_id).values_list("key", flat=True))
    ttl = max(3600, int(ends.timestamp() - time.time()) + KEEP_AFTER_SALE_S)
    args = [
        stamp,
        "1" if status == OfferStatus.APPROVED else "0",
        _seconds(starts),
        _seconds(ends),
        limit,
        units,
        ttl,
        len(buyers),
        "1" if force else "0",
    ]
    for buyer_id, claimed in buyers:
        args += [buyer_id, claimed]
    args += claim_keys
    _scripts()[5](keys=_keys(offer_id), args=args)


def resync(offer_id: int, *, cooldown: bool = False) -> bool:
    """Rebuild the copy from the database (a new generation). With ``cooldown``, at most once
    per RESYNC_COOLDOWN_MS per offer; returns whether it rebuilt."""
    client = _scripts()[0]
    if cooldown and not client.set(
        _lock_key(offer_id, "resync"), "1", nx=True, px=RESYNC_COOLDOWN_MS
    ):
        return False
    return _fill(offer_id, force=True)


def released(offer_id: int, buyer_id: int, qty: int) -> None:
    """A claim was released in the database: give its units back to the copy."""
    if not active():
        return
    if not _reachable():
        _dirty.add(offer_id)
        return
    try:
        _scripts()[3](keys=_keys(offer_id)[:3], args=[buyer_id, qty, -qty])
    except _redis_errors() as exc:
        _failed(exc, offer_id)


def forget(offer_id: int) -> None:
    """The offer was approved or ended: drop the copy, the next claim fills a fresh one."""
    if not active():
        return
    if not _reachable():
        _dirty.add(offer_id)
        return
    try:
        _scripts()[0].delete(*_keys(offer_id)[:3])
    except _redis_errors() as exc:
        _failed(exc, offer_id)
