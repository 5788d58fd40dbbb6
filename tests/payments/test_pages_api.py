"""Merchant and ops finance pages, payouts, the statement PDF, the hosted page and the API."""

from __future__ import annotations

import csv
import io

import pytest

from ehub.core.context import Context
from ehub.payments import domain, payouts, services
from ehub.payments.models import BankAccount, Payout, PayoutBatch

from .conftest import cny


@pytest.fixture
def settled(make_intent, pay, merchants, system):
    """Two settled orders for merchant 0 (net 71.01 MYR each) and one in escrow."""
    refs = []
    for _i in range(2):
        intent = pay(make_intent(parts=[(0, 10000, 1500, 1050)]))
        ref = intent.parts.get().reference
        services.settle(system, ref)
        refs.append(ref)
    pay(make_intent(parts=[(0, 2000, 0, 0)]))
    return refs


@pytest.fixture
def merchant_owner(make_user, merchants):
    return make_user(org=merchants[0])


@pytest.fixture
def other_owner(make_user, merchants):
    return make_user(org=merchants[1])


def _bank(org, number="1234567890123"):
    from ehub.core import clock

    return BankAccount.objects.create(
        merchant_org=org,
        bank_name="Maybank",
        holder_name=org.legal_name,
        account_number=number,
        updated_at=clock.now(),
    )


def test_bank_account_is_encrypted_and_masked(merchants, db):
    from django.db import connection

    account = _bank(merchants[0])
    with connection.cursor() as cursor:
        cursor.execute("SELECT account_number FROM payments_bankaccount WHERE id=%s", [account.pk])
        raw = cursor.fetchone()[0]
    assert "1234567890123" not in raw
    assert account.masked_number.endswith("0123") and "1234567" not in account.masked_number


def test_payout_batch_pays_balances_above_minimum(settled, merchants, staff_user, settings):
    from ehub.ledger import services as ledger

    _bank(merchants[0])
    _bank(merchants[1])  # no balance: not paid
    ctx = Context(user=staff_user)
    batch = payouts.run_payout_batch(ctx)
    assert batch.count == 1 and batch.total == 2 * 7101
    assert ledger.balance(domain.merchant_account(merchants[0].public_id)).credit_balance == 0
    assert ledger.balance(domain.PAYOUTS_BANK).credit_balance == 2 * 7101
    # one batch per day
    assert payouts.run_payout_batch(ctx).pk == batch.pk
    assert Payout.objects.count() == 1
    rows = list(csv.reader(io.StringIO(payouts.payout_csv(ctx, batch))))
    assert rows[0] == payouts.CSV_HEADER
    assert rows[1][2] == merchants[0].registration_number
    assert rows[1][5] == "1234567890123" and rows[1][6] == "142.02"
    assert ledger.verify() == []


def test_payout_minimum_holds_small_balances(settled, merchants, staff_user, settings):
    settings.EHUB_PAYOUT_MINIMUM = "500.00"
    _bank(merchants[0])
    batch = payouts.run_payout_batch(Context(user=staff_user))
    assert batch.count == 0


def test_merchant_finance_page(
    client, settled, merchants, merchant_owner, django_assert_max_num_queries
):
    _bank(merchants[0])
    client.force_login(merchant_owner)
    with django_assert_max_num_queries(14):
        response = client.get("/merchant/finance/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "142.02" in body  # available
    assert "20.00" in body  # in escrow (CNY)
    assert "0123" in body and "1234567890123" not in body


def test_merchant_sees_only_own_balance(client, settled, other_owner):
    client.force_login(other_owner)
    response = client.get("/merchant/finance/")
    assert response.status_code == 200
    assert response.context["balance"].available.is_zero
    assert "142.02" not in response.content.decode()


def test_statement_pdf(client, settled, merchant_owner):
    from ehub.core import clock
    from ehub.payments.statements import KL

    client.force_login(merchant_owner)
    month = clock.now().astimezone(KL).strftime("%Y-%m")
    response = client.get(f"/merchant/finance/statements/{month}.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    text = doc[0].get_textpage().get_text_range()
    assert "142.02" in text and "Closing balance" in text


def test_statement_pdf_draws_a_chinese_merchant_name(client, settled, merchants, merchant_owner):
    import pypdfium2 as pdfium

    from ehub.core import clock, pdf
    from ehub.payments.statements import KL

    merchants[0].legal_name = "榴莲王国际贸易有限公司"
    merchants[0].save(update_fields=["legal_name"])
    client.force_login(merchant_owner)
    month = clock.now().astimezone(KL).strftime("%Y-%m")
    body = client.get(f"/merchant/finance/statements/{month}.pdf").content
    text = pdfium.PdfDocument(body)[0].get_textpage().get_text_range()
    assert "榴莲王国际贸易有限公司" in text and "142.02" in text
    # the CJK font core.pdf chose: WenQuanYi embedded, STSong-Light only without a font file
    assert (b"STSong-Light" in body) == pdf.cjk_font_source().startswith("cid:")


def test_ops_pages_and_csv(client, settled, merchants, staff_user, django_assert_max_num_queries):
    _bank(merchants[0])
    client.force_login(staff_user)
    response = client.post("/ops/finance/run/")
    assert response.status_code == 302
    batch_url = response["Location"]
    assert client.get(batch_url).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/ops/finance/").status_code == 200
    csv_body = client.get(batch_url + "payouts.csv").content.decode()
    assert "1234567890123" in csv_body


def test_ops_unknown_batch_is_404(client, staff_user, db):
    client.force_login(staff_user)
    assert client.get("/ops/finance/batches/PYB-NOPE/").status_code == 404
    assert client.get("/ops/finance/batches/PYB-NOPE/payouts.csv").status_code == 404


def test_bank_account_page_names_the_bad_field_and_saves(client, merchants, make_user):
    from ehub.accounts.domain import Role

    owner = make_user(org=merchants[0])
    client.force_login(owner)
    data = {"bank_name": "Maybank", "holder_name": "Durian Raja", "account_number": "12ab"}
    response = client.post("/merchant/finance/bank-account/", data)
    assert response.status_code == 200
    assert "6 to 20 digits" in response.context["form"].errors["account_number"][0]
    assert not BankAccount.objects.exists()
    response = client.post(
        "/merchant/finance/bank-account/", dict(data, account_number="1234-5678-9012")
    )
    assert response.status_code == 302
    assert BankAccount.objects.get(merchant_org=merchants[0]).account_number == "123456789012"
    member = make_user(org=merchants[0], role=Role.STAFF)
    client.force_login(member)
    response = client.post("/merchant/finance/bank-account/", dict(data, account_number="99999999"))
    assert response.status_code == 200
    assert "owner or administrator" in response.context["form"].non_field_errors()[0]
    assert BankAccount.objects.get(merchant_org=merchants[0]).account_number == "123456789012"


def test_return_page_waits_then_sends_the_buyer_back(client, make_intent, pay, buyer, other_owner):
    intent = make_intent()
    client.force_login(buyer)
    waiting = client.get(f"/payments/return/{intent.public_id}/")
    assert waiting.status_code == 200 and b'http-equiv="refresh"' in waiting.content
    pay(intent)
    paid = client.get(f"/payments/return/{intent.public_id}/")
    assert paid.status_code == 302 and paid["Location"] == "/orders/"
    client.force_login(other_owner)
    assert client.get(f"/payments/return/{intent.public_id}/").status_code == 404
    assert client.get("/payments/return/PAY-NOPE/").status_code == 404


def test_ops_pages_refuse_merchants(client, settled, merchants, merchant_owner):
    _bank(merchants[0])
    client.force_login(merchant_owner)
    assert client.get("/ops/finance/").status_code == 403
    assert client.post("/ops/finance/run/").status_code == 403
    assert not PayoutBatch.objects.exists()


def test_hosted_page_shows_amount_merchants_and_qr(client, make_intent, merchants):
    intent = make_intent(parts=[(0, 10000, 1500, 1050), (1, 100, 0, 0)])
    body = client.get(f"/pay/{intent.public_id}/").content.decode()
    assert "<svg" in body and merchants[0].legal_name in body and merchants[1].legal_name in body
    assert "126.50" in body
    assert "csrfmiddlewaretoken" in body


def test_hosted_page_pay_needs_csrf(make_intent):
    from django.test import Client

    intent = make_intent()
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"/pay/{intent.public_id}/pay/").status_code == 403


def test_hosted_page_unknown_intent_404(client, db):
    assert client.get("/pay/PAY-NOPE/").status_code == 404


# -- API ------------------------------------------------------------------------------------------


def test_api_intent_scoped(client, make_intent, buyer, merchant_owner, other_owner):
    intent = make_intent()
    client.force_login(buyer)
    assert (
        client.get(f"/api/v1/payments/intents/{intent.public_id}").json()["amount_minor"] == 12550
    )
    client.force_login(merchant_owner)
    assert client.get(f"/api/v1/payments/intents/{intent.public_id}").status_code == 200
    client.force_login(other_owner)
    assert client.get(f"/api/v1/payments/intents/{intent.public_id}").status_code == 404


def test_api_refund_idempotency_key(
    client, make_intent, pay, merchant_owner, other_owner, django_assert_max_num_queries
):
    intent = pay(make_intent())
    ref = intent.parts.get().reference
    client.force_login(merchant_owner)
    url = "/api/v1/payments/refunds"
    body = {"reference": ref, "amount_minor": 500, "reason": "damaged"}
    first = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.content
    again = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again.json() == first.json()
    other = dict(body, amount_minor=600)
    clash = client.post(url, other, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert clash.status_code == 409
    assert clash.json()["code"] == "idempotency_key_reused"
    over = client.post(
        url,
        dict(body, amount_minor=10**6),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    assert over.status_code == 422
    assert over.json()["errors"][0]["field"].endswith("amount")
    missing = client.post(url, body, content_type="application/json")
    assert missing.status_code == 422
    with django_assert_max_num_queries(10):
        listed = client.get(url).json()
    assert listed["count"] == 1 and listed["items"][0]["amount_minor"] == 500
    client.force_login(other_owner)
    assert client.get(url).json()["count"] == 0
    stolen = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-9")
    assert stolen.status_code == 404


def test_api_balance_and_payouts(client, settled, merchants, merchant_owner, staff_user):
    _bank(merchants[0])
    payouts.run_payout_batch(Context(user=staff_user))
    client.force_login(merchant_owner)
    balance = client.get("/api/v1/payments/balance").json()
    assert balance["available_minor"] == 0 and balance["paid_out_minor"] == 14202
    assert balance["in_escrow_minor"] == 2000 and balance["escrow_currency"] == "CNY"
    listed = client.get("/api/v1/payments/payouts").json()
    assert listed["count"] == 1 and listed["items"][0]["account"].endswith("0123")


def test_api_balance_needs_merchant(client, buyer):
    client.force_login(buyer)
    assert client.get("/api/v1/payments/balance").status_code == 403


def test_refund_cny_only(make_intent, pay, system):
    from ehub.core.errors import ValidationFailed
    from ehub.core.money import Money

    intent = pay(make_intent())
    with pytest.raises(ValidationFailed):
        services.refund(
            system, intent.parts.get().reference, Money(1, "MYR"), request_id="m", reason=""
        )
    assert (
        services.refund(
            system, intent.parts.get().reference, cny(1), request_id="c", reason=""
        ).amount
        == 1
    )
