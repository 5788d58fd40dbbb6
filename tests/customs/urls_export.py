"""Test-only URLs: eHub's own plus the export declaration API, until the lead mounts its router
in ehub.api (then these tests keep working against the same path)."""

from django.urls import path

from ehub import urls as ehub_urls
from ehub.accounts.api import api_auth
from ehub.api import ROUTERS, EhubAPI

extra = []
if not any(prefix == "customs/exports" for prefix, _router in ROUTERS):
    api = EhubAPI(auth=api_auth(), urls_namespace="api-v1-customs-exports-test")
    api.add_router("customs/exports", "ehub.customs.api_export.router")
    extra.append(path("api/v1/", api.urls))

urlpatterns = [*extra, *ehub_urls.urlpatterns]
