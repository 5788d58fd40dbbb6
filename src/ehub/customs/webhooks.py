"""Signed webhooks: customs receipts pushed to the organization that filed the declaration.

An organization registers endpoints (``add_endpoint``); every new receipt of one of its
declarations becomes one ``WebhookDelivery`` per active endpoint, written in the receipt's own
transaction, and a ``deliver_webhook`` task POSTs it. A failed attempt (non-2xx, timeout,
connection error) is retried with exponential backoff up to ``MAX_ATTEMPTS``.

Each request carries ``eHub-Event-Id`` (stable across retries: receivers deduplicate on it) and
``eHub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` keyed with the
endpoint's secret. Signing the timestamp with the body lets receivers refuse replays;
``verify_signature`` is the reference check.

Server-side request forgery: unless ``EHUB_CUSTOMS_WEBHOOKS_ALLOW_PRIVATE`` is on (development,
tests), an endpoint whose host resolves to a private, loopback, link-local, reserved, multicast
or otherwise non-global address is refused when registered, and checked again at every delivery
(a name may be re-pointed after registration: DNS rebinding). The delivery then connects to the
very address it checked, sending the registered host name in ``Host`` and TLS SNI, so a second
lookup cannot swap in another address between the check and the connection.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from django_tasks import task, task_backends

from ehub.accounts.services import require_org_admin
from ehub.core import audit, clock
from ehub.core.context import Context
from ehub.core.errors import NotFound, ValidationFailed
from ehub.customs.domain.codes import RETURN_STATUSES, TAX_BILL_STATUSES
from ehub.customs.models import DeliveryStatus, Receipt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

EVENT_TYPE = "customs.receipt"
SECRET_PREFIX = "whsec_"  # noqa: S105 — a marker, not a secret
MAX_ATTEMPTS = 8
TIMEOUT_SECONDS = 5
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600
MAX_URL_LENGTH = 500


# -- endpoints ---------------------------------------------------------------------------------


def _check_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationFailed.single("url", _("Give the URL to deliver to."), "required")
    if len(url) > MAX_URL_LENGTH:
        raise ValidationFailed.single("url", _("Use at most 500 characters."), "too_long")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 — raises ValueError on a malformed port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed.single(
            "url", _("Give an http:// or https:// URL with a host name."), "invalid"
        )
    return url


def allow_private() -> bool:
    return bool(getattr(settings, "EHUB_CUSTOMS_WEBHOOKS_ALLOW_PRIVATE", False))


def _resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (a module function so tests can re-point names)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


class UnsafeDestination(ValueError):
    """The endpoint's host does not resolve to public addresses only."""


def public_address(url: str) -> str:
    """The address to connect to for ``url``: every address its host resolves to must be
    public (one private answer among public ones is refused too: which one is used is not
    ours to choose). Raises ``UnsafeDestination`` with the reason."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = _resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeDestination(_("The host %(host)s does not resolve.") % {"host": host}) from exc
    if not addresses:
        raise UnsafeDestination(_("The host %(host)s does not resolve.") % {"host": host})
    bad = [a for a in addresses if _not_public(a)]
    if bad:
        raise UnsafeDestination(
            _(
                "The host %(host)s resolves to %(address)s, a private, loopback, link-local or "
                "reserved address; webhooks go to public addresses only."
            )
            % {"host": host, "address": bad[0]}
        )
    return addresses[0]


def add_endpoint(ctx: Context, url: str) -> tuple[WebhookEndpoint, str]:
    """Register ``url`` for the caller's organization; returns it with its signing secret,
    which is shown only now (it is stored encrypted and never returned again)."""
    require_org_admin(ctx)
    url = _check_url(url)
    if not allow_private():
        try:
            public_address(url)
        except UnsafeDestination as exc:
            raise ValidationFailed.single("url", str(exc), "not_public") from None
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            org=ctx.org, url=url, secret=secret, created_at=clock.now()
        )
        audit.record(ctx, "customs.webhook_added", endpoint, after={"url": url})
    return endpoint, secret


def list_endpoints(ctx: Context) -> QuerySet:
    require_org_admin(ctx)
    return WebhookEndpoint.objects.filter(org_id=ctx.org_id, is_active=True)


def remove_endpoint(ctx: Context, endpoint_id: int) -> WebhookEndpoint:
    """Deactivate an endpoint: pending deliveries to it stop; its history is kept."""
    require_org_admin(ctx)
    with transaction.atomic():
        endpoint = (
            WebhookEndpoint.objects.select_for_update()
            .filter(org_id=ctx.org_id, pk=endpoint_id, is_active=True)
            .first()
        )
        if endpoint is None:
            raise NotFound(_("No such webhook endpoint."))
        endpoint.is_active = False
        endpoint.save(update_fields=["is_active"])
        audit.record(ctx, "customs.webhook_removed", endpoint, before={"url": endpoint.url})
    return endpoint


# -- enqueueing --------------------------------------------------------------------------------


def _is_database_backend(alias: str) -> bool:
    from django_tasks_db import DatabaseBackend

    return isinstance(task_backends[alias], DatabaseBackend)


def _schedule(delivery_id: int, run_after: datetime | None = None) -> None:
    queued = deliver_webhook.using(run_after=run_after) if run_after else deliver_webhook
    if _is_database_backend(deliver_webhook.backend):
        queued.enqueue(delivery_id)  # the task row joins the caller's transaction
    else:
        transaction.on_commit(lambda: queued.enqueue(delivery_id))


def has_endpoints(org_id: int | None) -> bool:
    """Whether the organization listens at all (lets a batch skip loading its receipts)."""
    return (
        org_id is not None
        and WebhookEndpoint.objects.filter(org_id=org_id, is_active=True).exists()
    )


def enqueue_receipt_deliveries(receipt: Receipt | Iterable[Receipt]) -> list[WebhookDelivery]:
    """One delivery per active endpoint of the filing organization for each new receipt.

    Call inside the transaction that stores the receipts, so deliveries exist exactly when the
    receipts do. One query when nobody listens, so the batch path can call it too.
    """
    receipts = [receipt] if isinstance(receipt, Receipt) else list(receipt)
    if not receipts:
        return []
    org_of = {r.pk: r.declaration.filing_org_id for r in receipts}
    endpoints: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in WebhookEndpoint.objects.filter(
        org_id__in=set(org_of.values()), is_active=True
    ).only("pk", "org_id"):
        endpoints.setdefault(endpoint.org_id, []).append(endpoint)
    if not endpoints:
        return []
    now = clock.now()
    rows = [
        WebhookDelivery(endpoint=endpoint, receipt=r, event_id=str(uuid.uuid4()), created_at=now)
        for r in receipts
        for endpoint in endpoints.get(org_of[r.pk], [])
    ]
    with transaction.atomic():
        # A receipt is stored once (unique guid), but a re-run must still not send it twice.
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        created = list(WebhookDelivery.objects.filter(event_id__in=[row.event_id for row in rows]))
        for delivery in created:
            _schedule(delivery.pk)
    return created


# -- delivery ----------------------------------------------------------------------------------


def payload_of(delivery: WebhookDelivery) -> dict:
    receipt = delivery.receipt
    decl = receipt.declaration
    with translation.override("en"):  # a machine-readable label, not the viewer's language
        labels = TAX_BILL_STATUSES if receipt.kind == "CEB816" else RETURN_STATUSES
        status_text = str(labels.get(receipt.return_status, ""))
    data = {
        "declaration": decl.public_id,
        "order_no": decl.order_no,
        "kind": receipt.kind,
        "status": receipt.return_status,
        "status_text": status_text,
        "info": receipt.return_info,
        "receipt": receipt.guid,
        "return_time": receipt.return_time,
    }
    if receipt.kind == "CEB816":
        data["tax_bill"] = tax_bill_of(receipt)
    return {
        "id": delivery.event_id,
        "type": EVENT_TYPE,
        "created": delivery.created_at.isoformat(),
        "data": data,
    }


def tax_bill_of(receipt: Receipt) -> dict:
    """The figures of a CEB816 receipt (amounts as decimal text in CNY)."""
    from ehub.customs.domain.xmlcodec import from_xml

    message = from_xml(receipt.xml.encode("utf-8"))
    for tax in message.Tax:
        head = tax.TaxHeadRd
        if head is not None and head.guid == receipt.guid:
            return {
                "tax_no": head.taxNo,
                "invt_no": head.invtNo,
                "currency": "CNY",
                "customs_tax": format(head.customsTax, "f"),
                "value_added_tax": format(head.valueAddedTax, "f"),
                "consumption_tax": format(head.consumptionTax, "f"),
            }
    return {}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes | str,
    tolerance: int = 300,
    now: datetime | None = None,
) -> bool:
    """Whether ``header`` (an ``eHub-Signature`` value) signs ``body`` with ``secret`` and its
    timestamp is within ``tolerance`` seconds of ``now``. Any ``v1`` entry may match, so a
    sender can sign with an old and a new secret while rotating."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in (header or "").split(","):
        key, _sep, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = (now or clock.now()).timestamp()
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would resend (or drop) the signed body somewhere not registered: fail instead.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


# No proxies from the environment: the endpoint is called directly, as registered.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address checked by ``public_address``, not to a fresh lookup."""

    def __init__(self, *args, pinned: str, **kwargs):
        super().__init__(*args, **kwargs)
        self._pinned = pinned

    def connect(self):
        self.sock = socket.create_connection(
            (self._pinned, self.port), self.timeout, self.source_address
        )
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, pinned: str, **kwargs):
        super().__init__(*args, **kwargs)
        self._pinned = pinned

    def connect(self):
        sock = socket.create_connection(
            (self._pinned, self.port), self.timeout, self.source_address
        )
        # Certificate and SNI are checked against the registered host name.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, pinned: str):
        super().__init__()
        self._pinned = pinned

    def http_open(self, req):
        return self.do_open(functools.partial(_PinnedHTTPConnection, pinned=self._pinned), req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, pinned: str):
        super().__init__()
        self._pinned = pinned

    def https_open(self, req):
        return self.do_open(
            functools.partial(_PinnedHTTPSConnection, pinned=self._pinned),
            req,
            context=self._context,
        )


def _opener_for(url: str):
    """The opener of one delivery: as is when private addresses are allowed, else pinned to
    the public address the host resolves to now (``UnsafeDestination`` otherwise)."""
    if allow_private():
        return _opener
    pinned = public_address(url)
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        _NoRedirect(),
        _PinnedHTTPHandler(pinned),
        _PinnedHTTPSHandler(pinned),
    )


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST and return (status code, error text); error text is empty on a 2xx answer."""
    try:
        opener = _opener_for(url)
    except UnsafeDestination as exc:
        return None, str(exc)[:500]
    # S310: the scheme was checked to be http(s) when the endpoint was added.
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            code = response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, str(reason)[:500] or type(exc).__name__
    return code, "" if 200 <= code < 300 else f"HTTP {code}"


def backoff(attempt: int) -> timedelta:
    """Wait before the next try after failed attempt number ``attempt`` (1-based)."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** (attempt - 1), MAX_RETRY_SECONDS))


@task()
def deliver_webhook(delivery_id: int) -> str:
    """Try one delivery once; on failure schedule the next try or give up after MAX_ATTEMPTS."""
    delivery = (
        WebhookDelivery.objects.select_related("endpoint", "receipt__declaration")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return "skipped"  # already settled: a duplicate task is harmless
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, last_error="endpoint removed", next_attempt_at=None
        )
        return DeliveryStatus.FAILED
    body = json.dumps(payload_of(delivery), ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(clock.now().timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "eHub-Webhooks/1",
        "eHub-Event-Id": delivery.event_id,
        "eHub-Signature": sign(endpoint.secret, timestamp, body),
    }
    # The HTTP call runs outside any transaction so a slow receiver holds no locks.
    code, error = _post(endpoint.url, body, headers)
    now = clock.now()
    attempts = delivery.attempts + 1
    with transaction.atomic():
        changes = {"attempts": attempts, "last_status_code": code, "last_error": error}
        if not error:
            changes.update(status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None)
        elif attempts >= MAX_ATTEMPTS:
            changes.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        else:
            changes.update(next_attempt_at=now + backoff(attempts))
        # Conditional on the attempt count: two workers racing on one delivery record once.
        updated = WebhookDelivery.objects.filter(
            pk=delivery.pk, attempts=delivery.attempts, status=DeliveryStatus.PENDING
        ).update(**changes)
        if updated and error and attempts < MAX_ATTEMPTS:
            _schedule(delivery.pk, changes["next_attempt_at"])
    if error:
        logger.warning(
            "webhook %s to %s failed (attempt %d): %s",
            delivery.event_id,
            endpoint.url,
            attempts,
            error,
        )
    return changes.get("status", DeliveryStatus.PENDING)
