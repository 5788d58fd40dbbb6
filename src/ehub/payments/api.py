"""Payments API: payment intents, refunds, balances, payouts."""

from ninja import Router

router = Router()
