"""Waybill numbers, UPU S10-like: ``EX123456785MY``.

Shape: two letters naming the service, an 8-digit serial, one check digit, and the ISO
country code of the origin (``MY``). The check digit uses S10's weights (8 6 4 2 3 5 9 7)
modulo 11, but not S10's folding of the two impossible values (10 → 0, 11 → 5): folding two
residues onto "5" lets some single-digit errors through (a digit change that moves the sum
from residue 0 to 6). Instead, like NHS numbers, a serial whose check would be 10 is never
issued. So every single wrong digit and every swap of two adjacent different digits is
refused at the scanner instead of misrouting a parcel.

Allocation is a bijection from the caller's sequence number: seven digits of the sequence and
an eighth chosen (0 or 1 always suffices) so the serial is issuable.
"""

from __future__ import annotations

import re

WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_SHAPE = re.compile(r"^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$")
SEQUENCES = 10**7  # distinct waybill numbers per service prefix before the range wraps


def _check(serial: str) -> int:
    return (11 - sum(int(d) * w for d, w in zip(serial, WEIGHTS, strict=True)) % 11) % 11


def check_digit(serial: str) -> str:
    """The check digit of an 8-digit serial; ValueError for a serial that is never issued."""
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError("a waybill serial is 8 digits")
    c = _check(serial)
    if c == 10:
        raise ValueError(f"serial {serial} is not issued (its check would be 10)")
    return str(c)


def serial_for(sequence: int) -> str:
    """The issuable 8-digit serial of ``sequence`` (distinct for distinct sequences mod 10^7)."""
    head = f"{sequence % SEQUENCES:07d}"
    for last in "0123456789":
        if _check(head + last) != 10:
            return head + last
    raise AssertionError("unreachable: two consecutive last digits cannot both check to 10")


def make_waybill_no(prefix: str, sequence: int, suffix: str = "MY") -> str:
    serial = serial_for(sequence)
    return f"{prefix}{serial}{check_digit(serial)}{suffix}"


def valid_waybill_no(text: str, prefix: str | None = None) -> bool:
    """Well-formed with a correct check digit (and the given service prefix, if any)."""
    m = _SHAPE.match(text or "")
    if not m:
        return False
    if prefix is not None and m.group(1) != prefix:
        return False
    c = _check(m.group(2))
    return c != 10 and str(c) == m.group(3)
