"""The sandbox wallet's hosted payment page (``/pay/<intent>/``).

It stands in for the provider's own site: the buyer lands here from checkout, sees the amount,
the merchants and a QR code to finish on a phone, and presses Pay or Cancel. The wallet then
records the charge in its own books and calls eHub back with signed webhooks
(``gateways.SandboxWallet``); this page changes nothing in eHub directly.

The intent's public id (75 random bits) is the capability, as a provider's checkout session id
is: anyone holding the link may pay, which is how paying for someone else works in a wallet.
"""

from __future__ import annotations

import segno
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import domain
from .gateways import sandbox
from .models import PaymentIntent, SandboxCharge

MAX_PAYER_NAME = 100


def _intent(public_id: str) -> PaymentIntent:
    intent = (
        PaymentIntent.objects.filter(public_id=public_id, provider="sandbox")
        .select_related("buyer")
        .prefetch_related("parts__merchant_org")
        .first()
    )
    if intent is None:
        raise Http404(_("No such payment."))
    return intent


def _qr_svg(url: str) -> str:
    # Inline SVG: no image request, works offline; the title names it for screen readers.
    return segno.make(url, error="m").svg_inline(
        scale=4, dark="#1b1b1b", title=_("QR code: open this payment on your phone")
    )


@require_GET
def hosted_page(request, public_id: str):
    intent = _intent(public_id)
    charge = SandboxCharge.objects.filter(merchant_ref=intent.public_id).first()
    merchants = sorted({p.merchant_org.name for p in intent.parts.all()})
    return render(
        request,
        "payments/wallet.html",
        {
            "intent": intent,
            "merchants": merchants,
            "charge": charge,
            "payable": charge is None and intent.status in domain.AWAITING_PAYMENT,
            "qr_svg": _qr_svg(request.build_absolute_uri()),
            "payer_name": intent.buyer.full_name or intent.buyer.get_username(),
        },
    )


@require_POST
def pay(request, public_id: str):
    intent = _intent(public_id)
    if intent.status not in domain.AWAITING_PAYMENT:
        return redirect("payments_provider:page", public_id=intent.public_id)
    payer = (request.POST.get("payer_name") or "").strip()[:MAX_PAYER_NAME]
    payer = payer or intent.buyer.full_name or intent.buyer.get_username()
    sandbox().pay(intent.public_id, intent.money, payer)
    return redirect("payments_provider:done", public_id=intent.public_id)


@require_POST
def cancel(request, public_id: str):
    intent = _intent(public_id)
    sandbox().cancel(intent.public_id)
    return redirect("payments_provider:done", public_id=intent.public_id)


@require_GET
def done(request, public_id: str):
    intent = _intent(public_id)
    charge = SandboxCharge.objects.filter(merchant_ref=intent.public_id).first()
    return render(request, "payments/wallet_done.html", {"intent": intent, "charge": charge})
