"""eHub's payment endpoints outside the portals: provider webhooks and the buyer's return page."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ehub.accounts.access import context_of
from ehub.core.problem import problem_response

from . import domain, services
from .webhooks import receive


@csrf_exempt  # the provider authenticates with its HMAC signature, not a session
@require_POST
def webhook(request, provider: str):
    status, answer = receive(provider, request.headers, request.body)
    if status >= 400:
        return problem_response(
            request, status, code=answer.get("code"), detail=answer.get("detail")
        )
    return HttpResponse(json.dumps(answer), content_type="application/json", status=status)


@require_GET
def returned(request, public_id: str):
    """Where the wallet sends the buyer back: the payment's state, then the shop's page."""
    intent = services.get_intent(context_of(request), public_id)  # NotFound: 404 (middleware)
    waiting = intent.status in domain.AWAITING_PAYMENT
    if intent.return_url and not waiting:
        return redirect(intent.return_url)
    return render(request, "payments/returned.html", {"intent": intent, "waiting": waiting})
