"""REST API router of this context (mounted in ehub/api.py ROUTERS)."""

from ninja import Router

router = Router(tags=["inventory"])
