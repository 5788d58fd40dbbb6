"""Core: the kernel every context builds on.

Money, currencies and FX rates, public ids, the clock, domain errors, events, the audit log
and the request context. Core imports no other eHub app.
"""
