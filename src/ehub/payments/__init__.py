"""Payments: payment intents, provider adapters, refunds, settlement, payouts (to come)."""
