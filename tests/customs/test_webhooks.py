"""Signed webhook delivery of customs receipts, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.test import Client

from ehub.accounts.domain import Role
from ehub.accounts.services import build_context, create_token
from ehub.core import clock
from ehub.core.errors import PermissionDenied, ValidationFailed
from ehub.core.tasks import run_pending_tasks
from ehub.customs import declarations, webhooks
from ehub.customs.domain.xmlcodec import to_xml
from ehub.customs.models import WebhookDelivery, WebhookEndpoint

from . import factories as f
from .decl_support import ceb411, ceb511, file_all

pytestmark = pytest.mark.urls("tests.customs.urls_decl")


class Receiver:
    """A tiny webhook receiver: records each request and answers the queued status codes."""

    def __init__(self):
        self.requests: list[tuple[Message, bytes]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((self.headers, body))  # case-insensitive
                code = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/customs"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    # The receiver listens on 127.0.0.1: allow private addresses explicitly.
    settings.EHUB_CUSTOMS_WEBHOOKS_ALLOW_PRIVATE = True
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def past_clock():
    # Retries are queued with run_after = clock.now() + backoff; with the clock a day behind
    # real time every retry is already due, so one run_pending_tasks settles the chain.
    with clock.frozen(datetime.now(UTC) - timedelta(days=1)) as moment:
        yield moment


def three(order_no="ORD-WH00-0001"):
    return (
        f.ceb311(orderNo=order_no),
        ceb411(orderNo=order_no),
        ceb511(orderNo=order_no, logisticsNo="MY" + order_no[-9:]),
    )


def receipt_xml(decl, status="120", info="waiting for inspection"):
    return to_xml(declarations.receipt_message(decl, status, info))


def test_receipt_is_posted_signed_with_its_content(customs_world, receiver, past_clock):
    w = customs_world
    endpoint, secret = webhooks.add_endpoint(w.ctx, receiver.url)
    decl, _gateway = file_all(w.ctx, three())
    run_pending_tasks()
    receiver.requests.clear()  # only the receipt applied below matters here
    (receipt,) = declarations.apply_receipt(w.ctx, receipt_xml(decl))
    run_pending_tasks(raise_errors=True)

    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    signature = headers["eHub-Signature"]
    assert webhooks.verify_signature(secret, signature, body)
    assert not webhooks.verify_signature(secret + "x", signature, body)
    assert not webhooks.verify_signature(secret, signature, body + b" ")
    event = json.loads(body)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint, receipt=receipt)
    assert event["id"] == headers["eHub-Event-Id"] == delivery.event_id
    assert event["type"] == "customs.receipt"
    assert event["data"] == {
        "declaration": decl.public_id,
        "order_no": "ORD-WH00-0001",
        "kind": "CEB622",
        "status": "120",
        "status_text": event["data"]["status_text"],
        "info": "waiting for inspection",
        "receipt": receipt.guid,
        "return_time": receipt.return_time,
    }
    assert event["data"]["status_text"]
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert delivery.last_status_code == 200 and delivery.delivered_at == past_clock


def test_a_500_is_retried_with_backoff_and_the_same_event_id(customs_world, receiver, past_clock):
    w = customs_world
    webhooks.add_endpoint(w.ctx, receiver.url)
    decl, _gateway = file_all(w.ctx, three())
    run_pending_tasks()
    receiver.requests.clear()
    receiver.answers = [500]
    declarations.apply_receipt(w.ctx, receipt_xml(decl))
    (delivery,) = WebhookDelivery.objects.all()

    webhooks.deliver_webhook.call(delivery.pk)  # the first try, by hand, to see the backoff
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_status_code == 500 and delivery.last_error == "HTTP 500"
    assert delivery.next_attempt_at == past_clock + webhooks.backoff(1)

    run_pending_tasks(raise_errors=True)
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert len(receiver.requests) == 2
    assert len({headers["eHub-Event-Id"] for headers, _body in receiver.requests}) == 1


def test_gives_up_after_the_last_attempt(customs_world, receiver, past_clock):
    w = customs_world
    webhooks.add_endpoint(w.ctx, receiver.url)
    decl, _gateway = file_all(w.ctx, three())
    run_pending_tasks()
    receiver.requests.clear()
    receiver.answers = [503] * 20
    declarations.apply_receipt(w.ctx, receipt_xml(decl))
    run_pending_tasks(raise_errors=True)
    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.status == "failed" and delivery.attempts == webhooks.MAX_ATTEMPTS
    assert len(receiver.requests) == webhooks.MAX_ATTEMPTS
    assert webhooks.backoff(2) == 2 * webhooks.backoff(1)


def test_unreachable_endpoint_records_the_error(customs_world, receiver, past_clock):
    w = customs_world
    url = receiver.url
    receiver.close()  # nothing listens on that port any more
    webhooks.add_endpoint(w.ctx, url)
    decl, _gateway = file_all(w.ctx, three())
    declarations.apply_receipt(w.ctx, receipt_xml(decl))
    (delivery,) = WebhookDelivery.objects.all()
    webhooks.deliver_webhook.call(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_status_code is None and delivery.last_error


def test_no_delivery_to_another_organization(customs_world, receiver, past_clock):
    w = customs_world
    webhooks.add_endpoint(w.other_ctx, receiver.url)
    decl, _gateway = file_all(w.ctx, three())
    declarations.apply_receipt(w.ctx, receipt_xml(decl))
    run_pending_tasks(raise_errors=True)
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_the_same_receipt_twice_is_delivered_once(customs_world, receiver, past_clock):
    w = customs_world
    webhooks.add_endpoint(w.ctx, receiver.url)
    decl, _gateway = file_all(w.ctx, three())
    run_pending_tasks()
    receiver.requests.clear()
    xml = receipt_xml(decl)
    declarations.apply_receipt(w.ctx, xml)
    declarations.apply_receipt(w.ctx, xml)
    (receipt,) = decl.receipts.filter(return_info="waiting for inspection")
    assert webhooks.enqueue_receipt_deliveries(receipt) == []  # a re-run adds nothing either
    run_pending_tasks(raise_errors=True)
    assert WebhookDelivery.objects.count() == 1
    assert len(receiver.requests) == 1


def test_removed_endpoint_gets_nothing(customs_world, receiver, past_clock):
    w = customs_world
    endpoint, _secret = webhooks.add_endpoint(w.ctx, receiver.url)
    decl, _gateway = file_all(w.ctx, three())
    declarations.apply_receipt(w.ctx, receipt_xml(decl))
    webhooks.remove_endpoint(w.ctx, endpoint.pk)
    run_pending_tasks(raise_errors=True)
    assert receiver.requests == []
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"failed"}


def test_secret_is_stored_encrypted(customs_world, receiver):
    endpoint, secret = webhooks.add_endpoint(customs_world.ctx, receiver.url)
    assert secret.startswith("whsec_") and len(secret) > 40
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(WebhookEndpoint._meta.db_table)
        cursor.execute(f"SELECT secret FROM {table} WHERE id = %s", [endpoint.pk])  # noqa: S608
        (raw,) = cursor.fetchone()
    assert secret not in raw and raw.startswith("enc1:")
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret


def test_endpoints_need_an_admin_and_an_http_url(customs_world, make_user, receiver):
    w = customs_world
    staff = make_user("staff@ehub.example", org=w.platform, role=Role.STAFF)
    with pytest.raises(PermissionDenied):
        webhooks.add_endpoint(build_context(staff, w.platform.pk), receiver.url)
    for bad in ("", "ftp://example.com/x", "http://", "javascript:alert(1)", "https://h:99999/"):
        with pytest.raises(ValidationFailed) as caught:
            webhooks.add_endpoint(w.ctx, bad)
        assert caught.value.errors[0].field == "url"
    assert not WebhookEndpoint.objects.exists()


def test_verify_signature_refuses_old_and_malformed_headers():
    body = b'{"id":"x"}'
    moment = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    t = int(moment.timestamp())
    header = webhooks.sign("s3cret", t, body)
    assert webhooks.verify_signature("s3cret", header, body, now=moment)
    assert webhooks.verify_signature("s3cret", header, body, now=moment + timedelta(seconds=300))
    assert not webhooks.verify_signature(
        "s3cret", header, body, now=moment + timedelta(seconds=301)
    )
    assert webhooks.verify_signature("s3cret", f"{header},v1=00ff", body, now=moment)
    for bad in ("", "t=abc,v1=00", f"t={t}", header.split(",")[1]):
        assert not webhooks.verify_signature("s3cret", bad, body, now=moment)


def token_client(ctx) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {create_token(ctx, 'hooks').secret}")


def test_api_registers_lists_and_removes_within_the_org(customs_world, receiver):
    w = customs_world
    mine, theirs = token_client(w.ctx), token_client(w.other_ctx)
    response = mine.post(
        "/api/v1/customs/webhooks", {"url": receiver.url}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_") and created["url"] == receiver.url

    listing = mine.get("/api/v1/customs/webhooks").json()
    assert [item["id"] for item in listing] == [created["id"]]
    assert "secret" not in listing[0]
    assert theirs.get("/api/v1/customs/webhooks").json() == []
    assert theirs.delete(f"/api/v1/customs/webhooks/{created['id']}").status_code == 404
    assert WebhookEndpoint.objects.get(pk=created["id"]).is_active

    bad = mine.post("/api/v1/customs/webhooks", {"url": "ftp://x"}, content_type="application/json")
    assert bad.status_code in (400, 422)
    assert "url" in bad.content.decode()

    assert mine.delete(f"/api/v1/customs/webhooks/{created['id']}").status_code == 204
    assert mine.get("/api/v1/customs/webhooks").json() == []
    assert mine.delete(f"/api/v1/customs/webhooks/{created['id']}").status_code == 404


def test_document_receipts_and_the_tax_bill_are_delivered_too(customs_world, receiver, past_clock):
    w = customs_world
    webhooks.add_endpoint(w.ctx, receiver.url)
    decl, _gateway = file_all(w.ctx, three())
    run_pending_tasks()
    receiver.requests.clear()
    head = f.ceb311(orderNo="ORD-WH00-0001").Order[0].OrderHead
    declarations.apply_receipt(
        w.ctx, to_xml(declarations.document_receipt_message("CEB311", head, "120", "ok"))
    )
    declarations.apply_receipt(w.ctx, receipt_xml(decl, "800", "released"))
    decl.refresh_from_db()
    declarations.apply_receipt(w.ctx, to_xml(declarations.tax_bill_message(decl)))
    run_pending_tasks(raise_errors=True)
    events = [json.loads(body)["data"] for _headers, body in receiver.requests]
    assert [(e["kind"], e["status"]) for e in events] == [
        ("CEB312", "120"),
        ("CEB622", "800"),
        ("CEB816", "1"),
    ]
    bill = events[2]
    assert bill["status_text"] == "generated"
    assert bill["tax_bill"]["value_added_tax"] == "23.15"
    assert bill["tax_bill"]["invt_no"] == decl.invt_no


# -- private addresses (SSRF) ------------------------------------------------------------------


@pytest.fixture
def public_only(settings):
    settings.EHUB_CUSTOMS_WEBHOOKS_ALLOW_PRIVATE = False


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
        "http://240.0.0.1/hook",
        "http://no-such-host.invalid/hook",
    ],
)
def test_private_and_unresolvable_hosts_are_refused_on_the_url(customs_world, public_only, url):
    with pytest.raises(ValidationFailed) as caught:
        webhooks.add_endpoint(customs_world.ctx, url)
    assert caught.value.errors[0].field == "url"
    assert caught.value.errors[0].code == "not_public"
    assert not WebhookEndpoint.objects.exists()


def test_a_name_resolving_to_a_private_address_among_public_ones_is_refused(
    customs_world, public_only, monkeypatch
):
    monkeypatch.setattr(webhooks, "_resolve", lambda host, port: ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(ValidationFailed) as caught:
        webhooks.add_endpoint(customs_world.ctx, "https://hooks.example.com/x")
    assert "10.0.0.7" in caught.value.errors[0].message


def test_a_public_address_is_accepted(customs_world, public_only, monkeypatch):
    monkeypatch.setattr(webhooks, "_resolve", lambda host, port: ["93.184.216.34"])
    endpoint, _secret = webhooks.add_endpoint(customs_world.ctx, "https://hooks.example.com/x")
    assert endpoint.url == "https://hooks.example.com/x"


def test_the_api_names_the_url_field(customs_world, public_only):
    response = token_client(customs_world.ctx).post(
        "/api/v1/customs/webhooks",
        {"url": "http://169.254.169.254/"},
        content_type="application/json",
    )
    assert response.status_code in (400, 422)
    assert "url" in response.content.decode() and "not_public" in response.content.decode()


def test_delivery_rechecks_the_address_and_connects_to_the_checked_one(
    customs_world, receiver, past_clock, settings, monkeypatch
):
    """DNS rebinding: registered while the name was public, re-pointed at 127.0.0.1 later."""
    w = customs_world
    settings.EHUB_CUSTOMS_WEBHOOKS_ALLOW_PRIVATE = False
    port = receiver.server.server_address[1]
    answers = {"hooks.example.com": ["93.184.216.34"]}
    monkeypatch.setattr(webhooks, "_resolve", lambda host, port: answers[host])
    endpoint, _secret = webhooks.add_endpoint(w.ctx, f"http://hooks.example.com:{port}/hooks")
    answers["hooks.example.com"] = ["127.0.0.1"]  # re-pointed after registration
    decl, _gateway = file_all(w.ctx, three())
    declarations.apply_receipt(w.ctx, receipt_xml(decl))
    run_pending_tasks()
    assert receiver.requests == []  # nothing reached the private address
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint).first()
    assert delivery.status == "failed" and delivery.delivered_at is None  # retried, refused
    assert "127.0.0.1" in delivery.last_error


def test_delivery_goes_to_the_pinned_address_with_the_registered_host(
    customs_world, receiver, past_clock, monkeypatch
):
    """The connection is made to the address checked, with the URL's host name in Host."""
    w = customs_world
    port = receiver.server.server_address[1]
    endpoint, _secret = webhooks.add_endpoint(w.ctx, f"http://hooks.example.com:{port}/hooks")
    monkeypatch.setattr(webhooks, "allow_private", lambda: False)
    monkeypatch.setattr(webhooks, "public_address", lambda url: "127.0.0.1")  # "checked"
    decl, _gateway = file_all(w.ctx, three())
    receiver.requests.clear()
    declarations.apply_receipt(w.ctx, receipt_xml(decl))
    run_pending_tasks(raise_errors=True)
    assert len(receiver.requests) >= 1
    headers, _body = receiver.requests[-1]
    assert headers["Host"] == f"hooks.example.com:{port}"
    assert WebhookDelivery.objects.filter(endpoint=endpoint, status="delivered").exists()
