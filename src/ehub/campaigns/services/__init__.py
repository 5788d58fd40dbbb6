"""Use cases of campaigns, one module per concern; import the functions from here.

* ``campaigns``: staff create and edit campaigns; merchants apply offers; staff approve them
  (taking the allocated units from stock) and offers end (giving unclaimed units back);
* ``gate``: the flash-sale gate that checkout calls (``claim_offer_units`` /
  ``release_offer_units``), and the remaining units for display;
* ``storefront``: what buyers read (live campaigns, a campaign's offers, prices).
"""

from .campaigns import (
    CampaignInput,
    OfferInput,
    apply_offer,
    approve_offer,
    campaign_for_staff,
    campaigns_for_staff,
    close_ended_offers,
    create_campaign,
    end_offer,
    end_offer_by_staff,
    hubs,
    merchant_offer,
    merchant_offers,
    merchant_skus,
    offers_for_staff,
    open_campaigns,
    readiness_shortfalls,
    reject_offer,
    update_campaign,
    visible_campaign,
    visible_campaigns,
    visible_offer,
    withdraw_offer,
)
from .gate import (
    ClaimRefused,
    LimitReached,
    NotOnSale,
    SoldOut,
    claim_for_buyer,
    claim_offer_units,
    release_offer_units,
    release_own_claim,
    remaining_units,
)
from .storefront import (
    campaign_page,
    live_banners,
    live_campaigns,
    offer_states,
)

__all__ = [
    "CampaignInput",
    "ClaimRefused",
    "LimitReached",
    "NotOnSale",
    "OfferInput",
    "SoldOut",
    "apply_offer",
    "approve_offer",
    "campaign_for_staff",
    "campaign_page",
    "campaigns_for_staff",
    "claim_for_buyer",
    "claim_offer_units",
    "close_ended_offers",
    "create_campaign",
    "end_offer",
    "end_offer_by_staff",
    "hubs",
    "live_banners",
    "live_campaigns",
    "merchant_offer",
    "merchant_offers",
    "merchant_skus",
    "offer_states",
    "offers_for_staff",
    "open_campaigns",
    "readiness_shortfalls",
    "reject_offer",
    "release_offer_units",
    "release_own_claim",
    "remaining_units",
    "update_campaign",
    "visible_campaign",
    "visible_campaigns",
    "visible_offer",
    "withdraw_offer",
]
