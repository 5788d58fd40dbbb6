"""Export readiness: parts measured from accounts, catalog and the academy; probes; the page,
the card and the campaign gate."""

from __future__ import annotations

import datetime as dt

import pytest

from ehub.academy import readiness as readiness_module
from ehub.academy import services
from ehub.core import clock
from ehub.core.errors import PermissionDenied, ValidationFailed

from .conftest import ctx_for, finish_course

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub(make_org):
    from ehub.accounts.domain import OrgKind

    return make_org(kind=OrgKind.HUB_OPERATOR, name="KLIA Aeropolis eFulfilment Hub")


def _product(org, *, hs="081190", zh="猫山王榴莲", status="active", price=10_000, code=None):
    from ehub.catalog.models import Product, ProductTranslation, Sku

    product = Product.objects.create(org=org, status=status, hs_code=hs)
    ProductTranslation.objects.create(product=product, language="en", title="Durian")
    if zh:
        ProductTranslation.objects.create(product=product, language="zh-hans", title=zh)
    return Sku.objects.create(
        product=product, org=org, code=code or f"SKU-{product.pk}", price_myr=price
    )


def _parts(result):
    return {p.code: p for p in result.parts}


def test_a_new_merchant_starts_low_with_parts_shown(merchant_org):
    result = services.readiness(merchant_org)
    parts = _parts(result)
    assert [p.code for p in result.parts] == [
        "company_verified",
        "products_ready",
        "stock_in_hub",
        "courses_passed",
        "first_order_shipped",
    ]
    assert sum(p.weight for p in result.parts) == 100
    assert parts["company_verified"].done
    assert parts["products_ready"].fraction == 0
    assert not parts["courses_passed"].measurable  # no course is required yet
    # orders registers this probe (orders/apps.py): measurable, and nothing shipped yet
    assert parts["first_order_shipped"].measurable
    assert parts["first_order_shipped"].fraction == 0
    assert result.score == 27  # 20 of 75 measurable
    assert result.next_step.code == "products_ready"


def test_products_count_when_they_have_hs_codes_and_chinese_titles(merchant_org, make_org):
    _product(merchant_org)
    _product(merchant_org, zh=None)
    _product(merchant_org, hs="")
    _product(merchant_org, status="archived", zh=None)  # archived products do not count
    _product(make_org(), zh=None)  # another merchant's
    assert _parts(services.readiness(merchant_org))["products_ready"].fraction == pytest.approx(
        1 / 3
    )


def test_stock_in_a_hub_counts(merchant_org, hub):
    from ehub.catalog.models import Stock

    sku = _product(merchant_org)
    Stock.objects.create(sku=sku, hub=hub, org=merchant_org, on_hand=0)
    assert not _parts(services.readiness(merchant_org))["stock_in_hub"].done
    Stock.objects.filter(sku=sku).update(on_hand=5)
    assert _parts(services.readiness(merchant_org))["stock_in_hub"].done


def test_passing_required_courses_raises_the_score(merchant_org, merchant_user, course):
    before = services.readiness(merchant_org)
    assert _parts(before)["courses_passed"].fraction == 0
    finish_course(ctx_for(merchant_user), course)
    after = services.readiness(merchant_org)
    assert _parts(after)["courses_passed"].done
    assert after.score > before.score


def test_without_a_probe_the_part_is_not_measurable(merchant_org, monkeypatch):
    monkeypatch.delitem(readiness_module._PROBES, "first_order_shipped", raising=False)
    result = services.readiness(merchant_org)
    assert not _parts(result)["first_order_shipped"].measurable
    assert result.score == 33  # 20 of 60 measurable


def test_a_registered_probe_makes_a_part_measurable(merchant_org, monkeypatch):
    calls = []

    def shipped(org):
        calls.append(org.pk)
        return True

    monkeypatch.setitem(readiness_module._PROBES, "first_order_shipped", shipped)
    part = _parts(services.readiness(merchant_org))["first_order_shipped"]
    assert part.measurable and part.done
    assert calls == [merchant_org.pk]


def test_a_failing_probe_is_not_measurable_and_breaks_nothing(merchant_org, monkeypatch):
    def broken(org):
        raise RuntimeError("orders is down")

    monkeypatch.setitem(readiness_module._PROBES, "first_order_shipped", broken)
    assert not _parts(services.readiness(merchant_org))["first_order_shipped"].measurable


def test_readiness_is_for_merchants(learner_ctx, merchant_user):
    with pytest.raises(PermissionDenied):
        services.readiness_for(learner_ctx)
    org, result = services.readiness_for(ctx_for(merchant_user))
    assert org.pk == merchant_user.memberships.get().org_id
    assert result.score == 27  # verified only: 20 of 75 measurable (no course required yet)


def test_readiness_page_and_card(client, merchant_user, django_assert_max_num_queries):
    client.force_login(merchant_user)
    with django_assert_max_num_queries(12):
        response = client.get("/academy/readiness/")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-score="27"' in text
    assert "Not yet measurable" in text
    assert "Next best step" in text
    assert 'data-part="products_ready"' in text
    # An unfinished yes/no part reads "Not yet", not "0 %".
    stock_row = text.split('data-part="stock_in_hub"', 1)[1].split("</tr>", 1)[0]
    assert "Not yet" in stock_row and "0 %" not in stock_row

    from django.template import Context, Template

    html = Template("{% load academy %}{% readiness_card org %}").render(
        Context({"org": merchant_user.memberships.get().org})
    )
    assert 'data-score="27"' in html and "Export readiness" in html


def test_readiness_page_is_for_merchants(client, learner):
    client.force_login(learner)
    assert client.get("/academy/readiness/").status_code == 403
    client.logout()
    assert client.get("/academy/readiness/").status_code == 302


# -- the campaign gate ---------------------------------------------------------------------


@pytest.fixture
def campaign_with_minimum(staff_user):
    from ehub.campaigns.services import CampaignInput, create_campaign

    now = clock.now()
    return create_campaign(
        ctx_for(staff_user),
        CampaignInput(
            name_en="Malaysia Week",
            slug="malaysia-week-gate",
            starts_at=now - dt.timedelta(hours=1),
            ends_at=now + dt.timedelta(days=7),
            status="published",
            min_readiness=80,
        ),
    )


def _offer(ctx, campaign, sku):
    from ehub.campaigns.services import OfferInput, apply_offer

    return apply_offer(
        ctx,
        campaign.public_id,
        OfferInput(sku_code=sku.code, allocated_units=10, per_buyer_limit=2, percent_off="20"),
    )


def test_campaign_gate_refuses_merchants_below_the_minimum(
    campaign_with_minimum, merchant_org, merchant_user, hub
):
    from ehub.campaigns.models import Offer
    from ehub.catalog.models import Stock

    sku = _product(merchant_org)
    Stock.objects.create(sku=sku, hub=hub, org=merchant_org, on_hand=0)
    ctx = ctx_for(merchant_user)
    with pytest.raises(ValidationFailed) as exc:
        _offer(ctx, campaign_with_minimum, sku)
    error = next(e for e in exc.value.errors if e.field == "readiness")
    assert error.code == "readiness_below_minimum"
    assert "at least 80" in str(error.message) and "yours is 53" in str(error.message)
    assert not Offer.objects.exists()

    Stock.objects.filter(sku=sku).update(on_hand=50)  # stock in the hub: 60 of 60 measurable → 100
    offer = _offer(ctx, campaign_with_minimum, sku)
    assert offer.status == "pending"


def test_campaigns_without_a_minimum_do_not_ask(staff_user, merchant_org, merchant_user, hub):
    from ehub.campaigns.services import CampaignInput, create_campaign, update_campaign
    from ehub.catalog.models import Stock

    now = clock.now()
    data = CampaignInput(
        name_en="Open week",
        slug="open-week",
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(days=2),
        status="published",
    )
    campaign = create_campaign(ctx_for(staff_user), data)
    assert campaign.min_readiness == 0
    sku = _product(merchant_org, zh=None)  # a poor listing: readiness is low
    Stock.objects.create(sku=sku, hub=hub, org=merchant_org, on_hand=50)
    assert _offer(ctx_for(merchant_user), campaign, sku).status == "pending"
    # an edit that does not mention the minimum keeps it
    campaign.min_readiness = 40
    campaign.save()
    data.name_en = "Open week 2"
    assert update_campaign(ctx_for(staff_user), campaign.public_id, data).min_readiness == 40


def test_minimum_out_of_range_is_refused_on_its_field(staff_user):
    from ehub.campaigns.services import CampaignInput, create_campaign

    now = clock.now()
    with pytest.raises(ValidationFailed) as exc:
        create_campaign(
            ctx_for(staff_user),
            CampaignInput(
                name_en="Bad",
                starts_at=now,
                ends_at=now + dt.timedelta(days=1),
                min_readiness=101,
            ),
        )
    assert exc.value.errors[0].field == "min_readiness"


def test_ops_campaign_form_shows_the_minimum(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/ops/campaigns/new/")
    assert response.status_code == 200
    assert 'name="min_readiness"' in response.content.decode()


def test_merchant_campaign_pages_say_when_readiness_is_short(
    client, campaign_with_minimum, merchant_org, merchant_user, hub, django_assert_max_num_queries
):
    from ehub.catalog.models import Stock

    sku = _product(merchant_org)
    Stock.objects.create(sku=sku, hub=hub, org=merchant_org, on_hand=0)
    client.force_login(merchant_user)
    with django_assert_max_num_queries(25):
        index = client.get("/merchant/campaigns/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-min-readiness="80"' in index
    assert "yours is 53" in index and "Send stock to the eFulfilment hub." in index
    apply = client.get(f"/merchant/campaigns/{campaign_with_minimum.public_id}/apply/")
    assert "readiness-shortfall" in apply.content.decode()

    Stock.objects.filter(sku=sku).update(on_hand=50)  # now 100: the requirement is met
    index = client.get("/merchant/campaigns/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-min-readiness="80"' in index  # still told what the campaign asks
    assert "readiness-shortfall" not in index and "yours is" not in index
