"""Fulfilment: hubs, inbound, pick/pack, parcels, carriers, manifests, tracking (to come)."""
