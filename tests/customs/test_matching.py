"""Three-document matching: each rule catches its mismatch with a reason code and a sentence."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from ehub.customs.domain.matching import GoodsFacts, match_documents

from .factories import BUYER_ID, CARRIER, REGISTERED, inventory, order, payment, waybill

TARIFF = {
    "0811909000": GoodsFacts(positive_list=True),
    "2101120000": GoodsFacts(positive_list=True),
    "1701991000": GoodsFacts(positive_list=True, qty_limit=D("2"), qty_limit_unit="kg"),
    "1511100000": GoodsFacts(positive_list=False),
}


def run(order_=None, payment_=None, waybill_=None, inventory_=None, **options):
    options.setdefault("registered", REGISTERED)
    options.setdefault("tariff", TARIFF)
    return match_documents(
        order_ or order(),
        payment_ or payment(),
        waybill_ or waybill(),
        inventory_ or inventory(),
        **options,
    )


def codes(found):
    return sorted(mismatch.code for mismatch in found)


def with_line(inv, index, **changes):
    lines = list(inv.InventoryList)
    lines[index] = dataclasses.replace(lines[index], **changes)
    return dataclasses.replace(inv, InventoryList=lines)


def test_matching_documents_agree():
    assert run() == []


@pytest.mark.parametrize(
    ("documents", "expected"),
    [
        ({"payment_": payment(orderNo="ORD-OTHER")}, ["payment_order_no"]),
        ({"waybill_": waybill(orderNo="ORD-OTHER")}, ["waybill_order_no"]),
        ({"inventory_": inventory(orderNo="ORD-OTHER")}, ["inventory_order_no"]),
        ({"payment_": payment(payTransactionId="999")}, ["pay_transaction_id"]),
        ({"inventory_": inventory(logisticsNo="MY000000000CN")}, ["logistics_no"]),
        ({"payment_": payment(amountPaid=D("333.14"))}, ["amount_paid"]),
        ({"waybill_": waybill(consignee="王芳")}, ["consignee_name"]),
        ({"waybill_": waybill(consigneeTelephone="13900000000")}, ["consignee_telephone"]),
        ({"waybill_": waybill(consigneeAddress="上海市黄浦区 1 号")}, ["consignee_address"]),
        (
            {"payment_": payment(payerIdNumber="110105194912310037", payerName="王芳")},
            ["payer_not_buyer"],
        ),
        ({"inventory_": inventory(buyerName="王芳")}, ["inventory_buyer"]),
        ({"inventory_": inventory(ebcCode="3301960002")}, ["inventory_ebccode"]),
    ],
)
def test_each_rule(documents, expected):
    found = run(**documents)
    assert codes(found) == expected
    assert all(str(mismatch.message) and mismatch.paths for mismatch in found)


def test_white_space_in_addresses_does_not_matter():
    assert run(waybill_=waybill(consigneeAddress="浙江省杭州市西湖区文三路  1 号 ")) == []


def test_verified_buyer_may_let_another_person_pay():
    other = payment(payerIdNumber="110105194912310037", payerName="王芳")
    assert run(payment_=other, buyer_verified=True) == []


def test_lines_must_agree_with_the_order():
    assert codes(run(inventory_=with_line(inventory(), 0, qty=D("3"), totalPrice=D("300.00")))) == [
        "goods_value",
        "line_qty",
    ]
    assert codes(run(inventory_=with_line(inventory(), 1, price=D("20.00")))) == ["line_price"]
    short = dataclasses.replace(inventory(), InventoryList=inventory().InventoryList[:1])
    assert "line_count" in codes(run(inventory_=short))


def test_goods_positive_list_and_quantity_limit():
    found = run(inventory_=with_line(inventory(), 0, gcode="1511100000"))
    assert codes(found) == ["not_on_positive_list"]
    assert found[0].paths == ("CEB621/Inventory/InventoryList[1]/gcode",)
    assert codes(run(inventory_=with_line(inventory(), 0, gcode="0000000000"))) == ["unknown_gcode"]
    sugar = with_line(inventory(), 1, gcode="1701991000", qty1=D("1.5"))
    assert run(inventory_=sugar) == []
    assert codes(run(inventory_=sugar, used_qty={"1701991000": D("0.6")})) == [
        "over_quantity_limit"
    ]


def test_every_enterprise_must_be_registered():
    found = run(registered=REGISTERED - {CARRIER})
    assert codes(found) == ["unregistered_enterprise"]
    assert CARRIER in str(found[0].message)


def test_missing_documents():
    found = match_documents(order(), None, waybill(), None, registered=REGISTERED, tariff=TARIFF)
    assert [m.paths for m in found] == [("CEB411",), ("CEB621",)]
    assert codes(found) == ["missing_document", "missing_document"]


def test_several_problems_are_all_reported():
    found = run(
        order_=order(buyerIdNumber=BUYER_ID),
        payment_=payment(amountPaid=D("1.00"), orderNo="X"),
        waybill_=waybill(consignee="王芳"),
    )
    assert codes(found) == ["amount_paid", "consignee_name", "payment_order_no"]
