"""Public references that people read aloud, type and print: ``ORD-7K4M-9QX2-HT3P-V6XZ``.

Database keys stay private; anything shown to a user, a carrier or customs carries one of
these instead. Shape: an upper-case prefix naming the kind of thing, then 16 symbols of
Crockford base32 in groups of four:

* 15 random symbols from ``secrets`` = 75 bits, so references cannot be guessed or
  enumerated (the floor is 60 bits);
* 1 check symbol from a Damm-style check over GF(32), which catches every single-symbol
  typo and every swap of two adjacent symbols;
* the alphabet leaves out I, L, O and U, so nothing reads as 1, 0 or a rude word; when a
  user types I, L or O anyway we read them as 1, 1 and 0 (Crockford's rule).

The check covers the random part only; the prefix is validated by its shape.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
# Crockford's decoding of look-alikes.
_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})

RANDOM_SYMBOLS = 15
BODY_SYMBOLS = RANDOM_SYMBOLS + 1
GROUP = 4
_PREFIX_RE = re.compile(r"^[A-Z][A-Z0-9]{1,7}$")
_CANONICAL_RE = re.compile(
    r"^(?P<prefix>[A-Z][A-Z0-9]{1,7})-"
    + "-".join([f"[{ALPHABET}]{{{GROUP}}}"] * (BODY_SYMBOLS // GROUP))
    + "$"
)


class InvalidPublicId(ValueError):
    pass


def _times_alpha(value: int) -> int:
    # Multiplication by x in GF(2^5) modulo the primitive polynomial x^5 + x^2 + 1.
    value <<= 1
    if value & 0b100000:
        value ^= 0b100101
    return value


def _damm(values: list[int]) -> int:
    # q(a, b) = x·a + b over GF(32) is a totally anti-symmetric quasigroup, which is what
    # makes Damm's scheme catch all single errors and adjacent transpositions.
    interim = 0
    for value in values:
        interim = _times_alpha(interim) ^ value
    return interim


def check_symbol(body: str) -> str:
    """The check symbol for a string of random symbols."""
    return ALPHABET[_times_alpha(_damm([_VALUE[s] for s in body]))]


def _group(body: str) -> str:
    return "-".join(body[i : i + GROUP] for i in range(0, len(body), GROUP))


def _check_prefix(prefix: str) -> None:
    if not isinstance(prefix, str) or not _PREFIX_RE.match(prefix):
        raise ValueError(
            f"prefix {prefix!r} must be 2-8 upper-case letters or digits, starting with a letter"
        )


def new_public_id(prefix: str) -> str:
    """A new unguessable reference such as ``ORD-7K4M-9QX2-HT3P-V6XZ``."""
    _check_prefix(prefix)
    bits = secrets.randbits(5 * RANDOM_SYMBOLS)  # one draw: 5 bits a symbol, 32 symbols
    body = "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(RANDOM_SYMBOLS))
    return f"{prefix}-{_group(body + check_symbol(body))}"


def is_valid_public_id(value: str, prefix: str | None = None) -> bool:
    """True when ``value`` is in canonical form (as printed) with a correct check symbol.

    Typed input should go through :func:`normalize_public_id` first.
    """
    if not isinstance(value, str):
        return False
    match = _CANONICAL_RE.match(value)
    if not match or (prefix is not None and match["prefix"] != prefix):
        return False
    body = value[len(match["prefix"]) + 1 :].replace("-", "")
    return _damm([_VALUE[s] for s in body]) == 0


def normalize_public_id(value: str, prefix: str | None = None) -> str:
    """The canonical form of a typed reference, or InvalidPublicId.

    Accepts lower case, surrounding blanks, missing or extra dashes and spaces, and
    Crockford's look-alikes (I/L for 1, O for 0) in the random part. The last 16 symbols
    are the body, whatever comes before is the prefix.
    """
    if not isinstance(value, str):
        raise InvalidPublicId("a public id must be a string")
    compact = re.sub(r"[\s\-]+", "", value).upper()
    if len(compact) <= BODY_SYMBOLS:
        raise InvalidPublicId(f"{value!r} is too short to be a public id")
    head, body = compact[:-BODY_SYMBOLS], compact[-BODY_SYMBOLS:].translate(_ALIASES)
    if not _PREFIX_RE.match(head):
        raise InvalidPublicId(f"{value!r} does not start with a valid prefix")
    if prefix is not None and head != prefix:
        raise InvalidPublicId(f"{value!r} is not a {prefix} reference")
    if any(symbol not in _VALUE for symbol in body):
        raise InvalidPublicId(f"{value!r} contains characters not used in public ids")
    canonical = f"{head}-{_group(body)}"
    if _damm([_VALUE[s] for s in body]) != 0:
        raise InvalidPublicId(f"{value!r} has a typo (check character does not match)")
    return canonical
