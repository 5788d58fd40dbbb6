"""A service's NotFound / PermissionDenied escaping a page view becomes a 404 / 403 page."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.urls import path

from ehub.core.errors import NotFound, PermissionDenied
from ehub.urls import urlpatterns as site_urlpatterns


def _missing(request):
    raise NotFound("No such parcel.")


def _forbidden(request):
    raise PermissionDenied("Only hub operators may do this.")


def _fine(request):
    return HttpResponse("ok")


urlpatterns = [
    path("missing/", _missing),
    path("forbidden/", _forbidden),
    path("fine/", _fine),
    *site_urlpatterns,  # the error pages link to the site's navigation
]


@pytest.fixture
def pages(settings):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False


@pytest.mark.django_db
def test_not_found_from_a_service_is_a_404_page(client, pages):
    assert client.get("/missing/").status_code == 404


@pytest.mark.django_db
def test_permission_denied_from_a_service_is_a_403_page(client, pages):
    assert client.get("/forbidden/").status_code == 403


@pytest.mark.django_db
def test_other_views_are_untouched(client, pages):
    response = client.get("/fine/")
    assert response.status_code == 200
    assert response.content == b"ok"
