"""Ledger API: accounts and balances, for platform staff."""

from ninja import Router

router = Router()
