"""Demo data of the ledger: the platform's FX position accounts, and a check that it balances.

Money itself is moved by the demo of payments (escrow, settlement), through ledger.services;
the ledger seeds only what belongs to it. Safe to run again.
"""

from __future__ import annotations

from . import services

FX_CURRENCIES = ("CNY", "MYR")


def seed(orgs: dict | None = None, out=print) -> int:
    """Open ``fx:CNY`` and ``fx:MYR`` if missing; report problems ``verify()`` finds."""
    for ccy in FX_CURRENCIES:
        services.open_account(services.fx_account(ccy), ccy, name=f"FX position {ccy}")
    problems = services.verify()
    for problem in problems:
        out(f"ledger: {problem}")
    if not problems:
        out("ledger demo: FX accounts open; `ehub ledger verify` is clean.")
    return len(problems)
