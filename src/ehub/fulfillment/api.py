"""Fulfilment API: ASNs, shipments, parcels, tracking."""

from ninja import Router

router = Router()
