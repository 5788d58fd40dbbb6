"""Campaign pages and API: buyers' page and live fragment, merchants' offers, staff review,
the home banner tag, scoping between merchants, query counts."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.template import Context as TemplateContext
from django.template import Template
from django.urls import reverse

from ehub.campaigns.models import Offer, OfferStatus
from ehub.catalog.models import Stock
from ehub.core import clock
from ehub.core.models import FxRate


@pytest.fixture
def cny_rate(db):
    return FxRate.objects.create(
        base="MYR",
        quote="CNY",
        rate=Decimal("1.5"),
        source="ecb",
        as_of=clock.now() - dt.timedelta(days=1),
    )


def test_campaign_page_in_chinese_with_cny_prices(
    client, make_offer, campaign, cny_rate, django_assert_max_num_queries
):
    make_offer(units=20, limit=2)
    with django_assert_max_num_queries(8):
        response = client.get(f"/campaigns/{campaign.slug}/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    html = response.content.decode()
    assert response.status_code == 200
    assert "马来西亚周" in html and "猫山王榴莲" in html
    assert "¥118.50" in html  # 79.00 MYR x 1.5
    assert "MYR79.00" in html  # the MYR price beside it
    assert "Asia/Shanghai" in html
    assert 'class="remaining-units">20<' in html


def test_flash_sale_shows_a_countdown_then_units(client, make_offer, campaign):
    start = clock.now() + dt.timedelta(minutes=10)
    offer = make_offer(units=5, flash_starts_at=start, flash_ends_at=start + dt.timedelta(hours=1))
    html = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert "data-countdown-to" in html and 'data-phase="upcoming"' in html
    with clock.frozen(start + dt.timedelta(seconds=1)):
        fragment = client.get(f"/campaigns/{campaign.slug}/live/").content.decode()
    assert f'id="state-{offer.public_id}"' in fragment and 'hx-swap-oob="true"' in fragment
    assert 'class="remaining-units">5<' in fragment


def test_live_fragment_costs_at_most_one_query(
    client, make_offer, campaign, django_assert_max_num_queries
):
    make_offer(units=5)
    from django.core.cache import cache

    cache.clear()
    with django_assert_max_num_queries(2):
        assert client.get(f"/campaigns/{campaign.slug}/live/").status_code == 200


def test_draft_campaigns_are_not_public(client, make_campaign):
    draft = make_campaign(status="draft")
    assert client.get(f"/campaigns/{draft.slug}/").status_code == 404


def test_timezone_choice_is_kept_in_the_session(client, campaign):
    client.post("/campaigns/timezone/", {"timezone": "UTC", "next": f"/campaigns/{campaign.slug}/"})
    html = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert '<option value="UTC" selected>' in html


def test_home_banner_tag_lists_live_campaigns(db, make_campaign, django_assert_max_num_queries):
    from django.utils import translation

    make_campaign(slug="malaysia-week-live")
    make_campaign(slug="later", starts=clock.now() + dt.timedelta(days=3))
    with translation.override("zh-hans"), django_assert_max_num_queries(1):
        html = Template("{% load campaigns %}{% live_campaign_banners %}").render(
            TemplateContext({})
        )
    assert "马来西亚周" in html and "/campaigns/malaysia-week-live/" in html
    assert "/campaigns/later/" not in html


def test_merchant_applies_through_the_page(client, merchant_user, campaign, sku, hub):
    client.force_login(merchant_user)
    url = reverse("campaigns_merchant:apply", args=[campaign.public_id])
    assert client.get(url).status_code == 200
    bad = client.post(
        url,
        {
            "sku": sku.code,
            "promo_price": "150.00",
            "allocated_units": "500",
            "per_buyer_limit": "1",
            "timezone": "Asia/Shanghai",
        },
    )
    assert bad.status_code == 422
    assert "below the regular price" in bad.content.decode()
    assert not Offer.objects.exists()
    ok = client.post(
        url,
        {
            "sku": sku.code,
            "percent_off": "20",
            "allocated_units": "10",
            "per_buyer_limit": "2",
            "timezone": "Asia/Shanghai",
        },
    )
    assert ok.status_code == 302
    offer = Offer.objects.get()
    assert offer.promo_price_myr == 8000
    listing = client.get(reverse("campaigns_merchant:index")).content.decode()
    assert offer.public_id in listing
    assert "limit 2 per buyer" in listing and "RM80.00" in listing


def test_staff_approve_on_the_ops_page_and_over_allocation_is_explained(
    client, staff_user, make_offer, sku, hub
):
    offer = make_offer(units=30, approve=False)
    Stock.objects.filter(sku=sku).update(reserved=90)  # only 10 available now
    client.force_login(staff_user)
    detail = reverse("campaigns_ops:detail", args=[offer.campaign.public_id])
    page = client.get(detail).content.decode()
    assert offer.public_id in page and f"limit {offer.per_buyer_limit} per buyer" in page
    response = client.post(reverse("campaigns_ops:approve", args=[offer.public_id]), follow=True)
    assert "Allocated units" in response.content.decode()
    offer.refresh_from_db()
    assert offer.status == OfferStatus.PENDING
    Stock.objects.filter(sku=sku).update(reserved=0)
    client.post(reverse("campaigns_ops:approve", args=[offer.public_id]))
    offer.refresh_from_db()
    assert offer.status == OfferStatus.APPROVED


def test_staff_create_a_campaign_on_the_ops_page(client, staff_user):
    client.force_login(staff_user)
    response = client.post(
        reverse("campaigns_ops:create"),
        {
            "name_en": "Malaysia Week",
            "name_zh_hans": "马来西亚周",
            "target_market": "CN",
            "timezone": "Asia/Shanghai",
            "starts_at": "2026-09-09T10:00",
            "ends_at": "2026-09-18T22:00",
            "status": "published",
        },
    )
    assert response.status_code == 302
    from ehub.campaigns.models import Campaign

    campaign = Campaign.objects.get()
    assert campaign.starts_at == dt.datetime(2026, 9, 9, 2, 0, tzinfo=dt.UTC)  # 10:00 Shanghai


def test_merchants_cannot_open_ops_pages(client, merchant_user):
    client.force_login(merchant_user)
    assert client.get(reverse("campaigns_ops:index")).status_code == 403


def test_merchant_b_cannot_withdraw_merchant_a_offer_by_page(
    client, make_offer, make_org, make_user
):
    offer = make_offer(approve=False)
    other = make_user(org=make_org(name="Kopi Kampung Sdn. Bhd."))
    client.force_login(other)
    response = client.post(reverse("campaigns_merchant:withdraw", args=[offer.public_id]))
    assert response.status_code == 404
    assert offer.public_id not in client.get(reverse("campaigns_merchant:index")).content.decode()
    offer.refresh_from_db()
    assert offer.status == OfferStatus.PENDING


# -- API ----------------------------------------------------------------------------------


def test_api_apply_and_scoping(client, merchant_user, make_org, make_user, campaign, sku, hub):
    client.force_login(merchant_user)
    payload = {
        "sku": sku.code,
        "promo_price": "200.00",
        "allocated_units": 1000,
        "per_buyer_limit": 1,
    }
    bad = client.post(
        f"/api/v1/campaigns/{campaign.public_id}/offers",
        json.dumps(payload),
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {
        "body.promo_price",
        "body.allocated_units",
    }
    payload |= {"promo_price": "80.00", "allocated_units": 10}
    created = client.post(
        f"/api/v1/campaigns/{campaign.public_id}/offers",
        json.dumps(payload),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    public_id = created.json()["public_id"]
    assert client.get(f"/api/v1/campaigns/offers/{public_id}").status_code == 200
    assert client.get("/api/v1/campaigns/offers/mine").json()["count"] == 1

    client.force_login(make_user(org=make_org(name="Kopi Kampung Sdn. Bhd.")))
    assert client.get(f"/api/v1/campaigns/offers/{public_id}").status_code == 404
    assert client.post(f"/api/v1/campaigns/offers/{public_id}/withdraw").status_code == 404
    assert client.get("/api/v1/campaigns/offers/mine").json()["count"] == 0
    assert client.post(f"/api/v1/campaigns/offers/{public_id}/approve").status_code == 403


def test_api_buyer_claims_and_releases(client, buyer_user, make_offer, make_buyer):
    offer = make_offer(units=3, limit=2)
    client.force_login(buyer_user)
    url = f"/api/v1/campaigns/offers/{offer.public_id}/claims"
    response = client.post(
        url, json.dumps({"qty": 2, "key": "cart-1"}), content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["qty"] == 2
    over = client.post(
        url, json.dumps({"qty": 1, "key": "cart-2"}), content_type="application/json"
    )
    assert over.status_code == 409 and over.json()["code"] == "buyer_limit_reached"
    client.force_login(make_buyer())
    assert client.post("/api/v1/campaigns/claims/cart-1/release").status_code == 404
    client.force_login(buyer_user)
    assert client.post("/api/v1/campaigns/claims/cart-1/release").json()["status"] == "released"
