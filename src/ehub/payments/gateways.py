"""Edges to wallet providers: the ``PaymentProvider`` interface and the sandbox wallet.

A provider hosts the payment page (eHub sends the buyer to ``checkout_url``), calls eHub back
with signed webhooks, and refunds on request. eHub never trusts a callback it cannot verify:
``verify`` checks the signature and the replay window before anything is read.

``SandboxWallet`` behaves like an Alipay-style wallet on the same machine. Its hosted page is
``/pay/<intent>/`` (``views_provider``); Pay records a charge in the wallet's own books
(``SandboxCharge``) and queues two callbacks, ``payment.authorized`` then ``payment.captured``;
Cancel queues ``payment.cancelled``; a refund queues ``refund.succeeded``. Each callback is a
``SandboxWebhook`` row (the wallet's outbox, written in the same transaction as the charge) sent
by the ``deliver_sandbox_webhook`` task:

* the body is JSON ``{"id", "type", "created", "data": {...}}`` and the header
  ``Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``;
* with ``EHUB_PAYMENTS_WEBHOOK_BASE_URL`` set it is POSTed to
  ``<base>/payments/webhooks/sandbox/``; otherwise the same signed bytes are handed to eHub's
  webhook handler in-process, so verification runs either way;
* an answer other than 2xx is retried with backoff (a fresh timestamp each try).

The shared secret is ``EHUB_PAYMENTS_SANDBOX_SECRET`` (a demo default exists only with
EHUB_DEBUG on).
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django_tasks import task, task_backends

from ehub.core import clock
from ehub.core.money import Money

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Sandbox-Signature"
MAX_ATTEMPTS = 8
TIMEOUT_SECONDS = 5


class WebhookRejected(Exception):
    """A callback failed verification (signature, timestamp, or shape)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class ProviderEvent:
    """A verified callback, in eHub's words."""

    id: str
    type: str  # payment.authorized | payment.captured | payment.cancelled | payment.failed |
    # refund.succeeded
    intent: str
    occurred_at: dt.datetime
    txn_id: str = ""
    amount: int = 0
    currency: str = ""
    payer_name: str = ""
    refund_ref: str = ""
    reason: str = ""
    raw: dict | None = None


@dataclass(frozen=True)
class ProviderRefund:
    refund_id: str
    amount: Money


EVENT_TYPES = frozenset(
    {
        "payment.authorized",
        "payment.captured",
        "payment.cancelled",
        "payment.failed",
        "refund.succeeded",
    }
)


class PaymentProvider(abc.ABC):
    """What eHub needs from a wallet provider."""

    name = "abstract"

    @abc.abstractmethod
    def checkout_url(self, intent_public_id: str) -> str:
        """Where to send the buyer to pay."""

    @abc.abstractmethod
    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise WebhookRejected unless ``body`` is signed by the provider and fresh."""

    @abc.abstractmethod
    def parse(self, body: bytes) -> ProviderEvent:
        """Read a verified body; WebhookRejected when it is not a known event."""

    @abc.abstractmethod
    def refund(self, *, txn_id: str, amount: Money, merchant_refund_ref: str) -> ProviderRefund:
        """Give ``amount`` back to the payer; idempotent by ``merchant_refund_ref``."""


# -- signing ------------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def check_signature(
    secret: str, header: str, body: bytes, *, tolerance: int, now: dt.datetime | None = None
) -> None:
    """Raise WebhookRejected unless ``header`` signs ``body`` within ``tolerance`` seconds."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in (header or "").split(","):
        key, _sep, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise WebhookRejected("malformed signature timestamp") from None
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookRejected("missing signature")
    current = (now or clock.now()).timestamp()
    if abs(current - timestamp) > tolerance:
        raise WebhookRejected("timestamp outside the replay window")
    expected = sign(secret, timestamp, body).rpartition("v1=")[2]
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise WebhookRejected("signature does not match")


def sandbox_secret() -> str:
    secret = getattr(settings, "EHUB_PAYMENTS_SANDBOX_SECRET", "")
    if not secret:
        raise ImproperlyConfigured(
            "EHUB_PAYMENTS_SANDBOX_SECRET must be set to use the sandbox wallet outside debug."
        )
    return secret


def replay_window() -> int:
    return int(getattr(settings, "EHUB_PAYMENTS_WEBHOOK_TOLERANCE_SECONDS", 300))


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return ""


# -- the sandbox wallet -------------------------------------------------------------------------


class SandboxWallet(PaymentProvider):
    name = "sandbox"

    def checkout_url(self, intent_public_id: str) -> str:
        return f"/pay/{intent_public_id}/"

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        check_signature(
            sandbox_secret(),
            _header(headers, SIGNATURE_HEADER),
            body,
            tolerance=replay_window(),
        )

    def parse(self, body: bytes) -> ProviderEvent:
        try:
            data = json.loads(body.decode("utf-8"))
            inner = data["data"]
            if data["type"] not in EVENT_TYPES or not isinstance(inner, dict):
                raise ValueError(data["type"])
            return ProviderEvent(
                id=str(data["id"]),
                type=data["type"],
                intent=str(inner["merchant_ref"]),
                occurred_at=dt.datetime.fromisoformat(data["created"]),
                txn_id=str(inner.get("txn_id", "")),
                amount=int(inner.get("amount", 0)),
                currency=str(inner.get("currency", "")),
                payer_name=str(inner.get("payer_name", ""))[:200],
                refund_ref=str(inner.get("merchant_refund_ref", "")),
                reason=str(inner.get("reason", ""))[:300],
                raw=data,
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise WebhookRejected("not a sandbox wallet event") from None

    # The wallet's own operations (its hosted page calls these). -----------------------------

    def pay(self, intent_public_id: str, amount: Money, payer_name: str):
        """The payer approved: charge once, then call eHub back (authorized, captured)."""
        from .models import SandboxCharge

        with transaction.atomic():
            charge = (
                SandboxCharge.objects.select_for_update()
                .filter(merchant_ref=intent_public_id)
                .first()
            )
            if charge is not None:
                return charge  # a double click pays once
            charge = SandboxCharge.objects.create(
                txn_id="SBX" + clock.now().strftime("%Y%m%d") + secrets.token_hex(8).upper(),
                merchant_ref=intent_public_id,
                amount=amount.amount,
                currency=amount.currency,
                status="captured",
                payer_name=payer_name,
                created_at=clock.now(),
            )
            data = {
                "merchant_ref": intent_public_id,
                "txn_id": charge.txn_id,
                "amount": charge.amount,
                "currency": charge.currency,
                "payer_name": payer_name,
            }
            queue_webhook("payment.authorized", data)
            queue_webhook("payment.captured", data)
        return charge

    def cancel(self, intent_public_id: str, reason: str = "cancelled by payer") -> bool:
        """The payer gave up on the page. Refused (False) once the charge exists."""
        from .models import SandboxCharge

        with transaction.atomic():
            if SandboxCharge.objects.filter(merchant_ref=intent_public_id).exists():
                return False
            queue_webhook("payment.cancelled", {"merchant_ref": intent_public_id, "reason": reason})
        return True

    def refund(self, *, txn_id: str, amount: Money, merchant_refund_ref: str) -> ProviderRefund:
        from .models import SandboxCharge, SandboxRefund

        with transaction.atomic():
            existing = SandboxRefund.objects.filter(merchant_refund_ref=merchant_refund_ref).first()
            if existing is not None:
                return ProviderRefund(existing.refund_id, Money(existing.amount, amount.currency))
            charge = SandboxCharge.objects.select_for_update().get(txn_id=txn_id)
            already = sum(r.amount for r in charge.refunds.all())
            if already + amount.amount > charge.amount:
                raise ValueError("the wallet refuses to refund more than was charged")
            row = SandboxRefund.objects.create(
                charge=charge,
                refund_id="SBR" + secrets.token_hex(8).upper(),
                merchant_refund_ref=merchant_refund_ref,
                amount=amount.amount,
                created_at=clock.now(),
            )
            queue_webhook(
                "refund.succeeded",
                {
                    "merchant_ref": charge.merchant_ref,
                    "txn_id": txn_id,
                    "merchant_refund_ref": merchant_refund_ref,
                    "refund_id": row.refund_id,
                    "amount": amount.amount,
                    "currency": amount.currency,
                },
            )
        return ProviderRefund(row.refund_id, amount)


_PROVIDERS: dict[str, PaymentProvider] = {"sandbox": SandboxWallet()}


def get_provider(name: str) -> PaymentProvider:
    try:
        return _PROVIDERS[name]
    except KeyError:
        raise LookupError(f"no payment provider {name!r}") from None


def sandbox() -> SandboxWallet:
    return _PROVIDERS["sandbox"]  # type: ignore[return-value]


# -- the sandbox's outbox and its delivery ------------------------------------------------------


def _is_database_backend(alias: str) -> bool:
    from django_tasks_db import DatabaseBackend

    return isinstance(task_backends[alias], DatabaseBackend)


def _schedule(webhook_id: int, run_after: dt.datetime | None = None) -> None:
    queued = deliver_sandbox_webhook.using(run_after=run_after) if run_after else None
    queued = queued or deliver_sandbox_webhook
    if _is_database_backend(deliver_sandbox_webhook.backend):
        queued.enqueue(webhook_id)  # joins the caller's transaction (an outbox)
    else:
        transaction.on_commit(lambda: queued.enqueue(webhook_id))


def queue_webhook(event_type: str, data: dict[str, Any]):
    """Write one callback to the wallet's outbox and queue its delivery."""
    from .models import SandboxWebhook

    event_id = "evt_" + uuid.uuid4().hex
    body = json.dumps(
        {"id": event_id, "type": event_type, "created": clock.now().isoformat(), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    row = SandboxWebhook.objects.create(
        event_id=event_id, event_type=event_type, body=body, created_at=clock.now()
    )
    _schedule(row.pk)
    return row


def signed_request(body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers the sandbox wallet sends with ``body``."""
    stamp = int(clock.now().timestamp()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "User-Agent": "SandboxWallet/1",
        SIGNATURE_HEADER: sign(sandbox_secret(), stamp, body),
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            code = response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))[:500] or type(exc).__name__
    return code, "" if 200 <= code < 300 else f"HTTP {code}"


def _send(body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    base = getattr(settings, "EHUB_PAYMENTS_WEBHOOK_BASE_URL", "")
    if base:
        return _post(base.rstrip("/") + "/payments/webhooks/sandbox/", body, headers)
    from .webhooks import receive

    try:
        status, _answer = receive("sandbox", headers, body)
    except Exception as exc:  # eHub failed to handle it: a 500 to the wallet, which retries
        logger.exception("in-process webhook delivery failed")
        return 500, f"HTTP 500 ({type(exc).__name__})"
    return status, "" if 200 <= status < 300 else f"HTTP {status}"


@task()
def deliver_sandbox_webhook(webhook_id: int) -> str:
    """Send one callback once; on failure schedule a retry (backoff) up to MAX_ATTEMPTS."""
    from .models import SandboxWebhook

    row = SandboxWebhook.objects.filter(pk=webhook_id).first()
    if row is None or row.status != "pending":
        return "skipped"
    body = row.body.encode("utf-8")
    code, error = _send(body, signed_request(body))
    attempts = row.attempts + 1
    changes: dict[str, Any] = {"attempts": attempts, "last_status_code": code, "last_error": error}
    with transaction.atomic():
        if not error:
            changes.update(status="delivered", delivered_at=clock.now())
        elif attempts >= MAX_ATTEMPTS:
            changes.update(status="failed")
        updated = SandboxWebhook.objects.filter(
            pk=row.pk, attempts=row.attempts, status="pending"
        ).update(**changes)
        if updated and error and attempts < MAX_ATTEMPTS:
            delay = dt.timedelta(seconds=min(10 * 2 ** (attempts - 1), 3600))
            _schedule(row.pk, dt.datetime.now(dt.UTC) + delay)
    if error:
        logger.warning("sandbox webhook %s failed (attempt %d): %s", row.event_id, attempts, error)
    return changes.get("status", "pending")
