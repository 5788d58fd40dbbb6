"""Ledger: double-entry accounts and transfers, two-phase escrow, invariants (to come)."""
