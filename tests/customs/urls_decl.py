"""Test-only URLs: eHub's own plus the officer console and a customs API, until the lead mounts
them in ehub.urls and ehub.api (then these tests keep working against the same paths)."""

from django.urls import include, path

from ehub import urls as ehub_urls
from ehub.accounts.api import api_auth
from ehub.api import ROUTERS, EhubAPI

_mounted = any(prefix == "customs" for prefix, _router in ROUTERS)
extra = []
if not _mounted:
    api = EhubAPI(auth=api_auth(), urls_namespace="api-v1-customs-test")
    api.add_router("customs", "ehub.customs.api.router")
    extra.append(path("api/v1/", api.urls))
if not any("customs/declarations" in str(p.pattern) for p in ehub_urls.urlpatterns):
    extra.insert(0, path("customs/declarations/", include("ehub.customs.urls")))

urlpatterns = [*extra, *ehub_urls.urlpatterns]
