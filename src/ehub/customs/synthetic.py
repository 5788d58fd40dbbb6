"""Synthetic cross-border orders for the clearance benchmark, demos and tests.

``generate(n, seed=..., rates=...)`` returns ``n`` orders, each with its three CEB documents
(order CEB311, payment CEB411, waybill CEB511), the same for the same seed. A known share is
spoiled in one known way (``FLAWS``), and each spoiled order says which reason customs must
give (``expect``): a refused document's validation code, or a mismatch code of the declaration.

The taxTotal of a clean order is computed with ``domain.tax`` from the China tariff lines given
in ``rates`` (``catalog.tariff.line_rates``), so clean orders match to the fen. Every order has
its own buyer, except the quota groups: one buyer's orders that together pass the annual limit,
the last of which must be refused. Keep a group's orders in one worker's sequence.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from stdnum.cn import ric

from ehub.core.money import Money, Rounding
from ehub.customs.domain import documents as d
from ehub.customs.domain.limits import BEIJING, limits_on
from ehub.customs.domain.tax import OrderLine, TaxRates, compute_tax

PLATFORM = ("3301961234", "eHub Platform")
SELLER = ("3301965678", "Durian Raja Sdn. Bhd.")
PAYER = ("31222699S7", "Alipay")
CARRIER = ("3301969999", "KLIA Express")
REGISTERED = (PLATFORM, SELLER, PAYER, CARRIER)

# itemNo → (item name, gcode, customs unit, lowest and highest unit price in CNY)
ITEMS = {
    "SYN-DURIAN": ("Musang King durian, frozen, 1 kg", "0811909000", "035", 60, 260),
    "SYN-COFFEE": ("White coffee 3-in-1", "2101120000", "035", 15, 60),
    "SYN-CHOC": ("Dark chocolate bar", "1806320000", "035", 12, 90),
    "SYN-SERUM": ("Bird's nest face serum (high-end)", "3304990010", "035", 180, 900),
    "SYN-PEWTER": ("Pewter tankard", "8007009000", "035", 150, 1200),
    "SYN-BATIK": ("Batik shirt, cotton", "6205200000", "011", 90, 450),
}
OFF_LIST = ("SYN-CPO", ("Crude palm oil, 1 kg", "1511100000", "035", 30, 60))
EXPENSIVE = ("SYN-PEWTER", 2600)  # two of these pass CNY 5,000 in one order
GCODES = sorted({item[1] for item in ITEMS.values()} | {OFF_LIST[1][1]})

# flaw → (where it is caught: "refused" document or declaration "reason", the code expected)
FLAWS = {
    "wrong_actural_paid": ("refused", "actural_paid_mismatch"),
    "amount_paid": ("reason", "amount_paid"),
    "consignee_mismatch": ("reason", "consignee_name"),
    "payer_not_buyer": ("reason", "payer_not_buyer"),
    "not_on_positive_list": ("reason", "not_on_positive_list"),
    "over_transaction_limit": ("reason", "tax_over_transaction_limit"),
    "over_annual_limit": ("reason", "tax_over_annual_limit"),
}
QUOTA_GROUP = 6  # 5 orders of CNY 4,900 then one that passes CNY 26,000


@dataclass(frozen=True)
class SyntheticOrder:
    order_no: str
    buyer: str  # the buyer's ID number (orders of one quota group share it)
    messages: tuple[d.CEB311Message, d.CEB411Message, d.CEB511Message]
    flaw: str | None = None

    @property
    def expect(self) -> tuple[str, str] | None:
        return FLAWS.get(self.flaw) if self.flaw else None


def goods_mapping():
    """itemNo → the ``ListGoods`` the synthetic orders are declared under."""
    from ehub.customs.declarations import ListGoods

    items = {**ITEMS, OFF_LIST[0]: OFF_LIST[1]}
    return {sku: ListGoods(gcode=v[1], gname=v[0]) for sku, v in items.items()}


def _id_number(i: int) -> str:
    born = date(1960, 1, 1) + timedelta(days=(i // 900) % 15000)
    body = f"110105{born:%Y%m%d}{100 + i % 900:03d}"
    return body + ric.calc_check_digit(body + "0")  # it reads the first 17 of 18


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()


def _transfer() -> d.BaseTransfer:
    return d.BaseTransfer(
        copCode=PLATFORM[0], copName=PLATFORM[1], dxpMode="DXP", dxpId="DXPENT0000000001"
    )


def _tax(lines, rates: Mapping, freight: Decimal, discount: Decimal, on: date) -> Decimal:
    order_lines = []
    for gcode, qty, price in lines:
        r = rates.get(gcode)
        order_lines.append(
            OrderLine(
                gcode,
                qty,
                Money.from_decimal(price, "CNY", Rounding.HALF_UP),
                TaxRates(
                    vat=r.vat_rate if r else Decimal(0),
                    consumption=r.consumption_tax_rate if r else Decimal(0),
                    duty=r.duty_rate if r else Decimal(0),
                    positive_list=r.cbec_positive if r else False,
                ),
            )
        )
    result = compute_tax(
        order_lines,
        limits=limits_on(on),
        freight=Money.from_decimal(freight, "CNY", Rounding.HALF_UP),
        discount=Money.from_decimal(discount, "CNY", Rounding.HALF_UP),
    )
    return result.tax_total.to_decimal() if not result.is_refused else Decimal("0.00")


def _order(
    i: int,
    seed: int,
    rng: random.Random,
    rates: Mapping,
    now: datetime,
    *,
    buyer: str,
    flaw: str | None,
    lines: list[tuple[str, int, Decimal]] | None = None,
    who: int | None = None,
) -> SyntheticOrder:
    order_no = f"SYN{seed:05d}{i:010d}"
    if lines is None:
        skus = rng.sample(sorted(ITEMS), rng.choice((1, 1, 2, 3)))
        lines = [
            (sku, rng.choice((1, 1, 2)), Decimal(rng.randint(ITEMS[sku][3], ITEMS[sku][4])))
            for sku in skus
        ]
        if flaw == "not_on_positive_list":
            lines[0] = (OFF_LIST[0], 2, Decimal(OFF_LIST[1][3]))
        elif flaw == "over_transaction_limit":
            lines = [(EXPENSIVE[0], 2, Decimal(EXPENSIVE[1]))]
    catalog = {**ITEMS, OFF_LIST[0]: OFF_LIST[1]}
    freight = Decimal("20.00")
    discount = Decimal(rng.choice((0, 0, 5)))
    goods_value = sum((Decimal(q) * p for _s, q, p in lines), Decimal(0))
    on = now.astimezone(BEIJING).date()
    tax = _tax([(catalog[s][1], q, p) for s, q, p in lines], rates, freight, discount, on)
    paid = goods_value + freight + tax - discount
    stamp = now.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")
    who = i if who is None else who  # the person: one per buyer, quota groups share one
    name = f"买家{who:07d}"
    phone = f"138{who % 100_000_000:08d}"
    address = f"浙江省杭州市西湖区文三路 {who} 号"
    consignee = name
    actural = paid + Decimal("1.00") if flaw == "wrong_actural_paid" else paid
    order = d.Order(
        OrderHead=d.OrderHead(
            guid=_guid(rng),
            appType="1",
            appTime=stamp,
            appStatus="2",
            orderType="I",
            orderNo=order_no,
            ebpCode=PLATFORM[0],
            ebpName=PLATFORM[1],
            ebcCode=SELLER[0],
            ebcName=SELLER[1],
            goodsValue=goods_value.quantize(Decimal("0.01")),
            freight=freight,
            discount=discount.quantize(Decimal("0.01")),
            taxTotal=tax,
            acturalPaid=actural.quantize(Decimal("0.01")),
            currency="142",
            buyerRegNo=f"buyer{i}@example.cn",
            buyerName=name,
            buyerTelephone=phone,
            buyerIdType="1",
            buyerIdNumber=buyer,
            payCode=PAYER[0],
            payName=PAYER[1],
            payTransactionId=f"PAY{seed:05d}{i:010d}",
            consignee=consignee,
            consigneeTelephone=phone,
            consigneeAddress=address,
            consigneeDistrict="330106",
        ),
        OrderList=[
            d.OrderList(
                gnum=n,
                itemNo=sku,
                itemName=catalog[sku][0],
                unit=catalog[sku][2],
                qty=Decimal(qty),
                price=price.quantize(Decimal("0.01")),
                totalPrice=(price * qty).quantize(Decimal("0.01")),
                currency="142",
                country="122",
            )
            for n, (sku, qty, price) in enumerate(lines, start=1)
        ],
    )
    payer_name, payer_id = name, buyer
    if flaw == "payer_not_buyer":
        payer_name, payer_id = f"付款人{i:07d}", _id_number(i + 7_000_003)
    payment = d.PaymentHead(
        guid=_guid(rng),
        appType="1",
        appTime=stamp,
        appStatus="2",
        payCode=PAYER[0],
        payName=PAYER[1],
        payTransactionId=f"PAY{seed:05d}{i:010d}",
        orderNo=order_no,
        ebpCode=PLATFORM[0],
        ebpName=PLATFORM[1],
        payerIdType="1",
        payerIdNumber=payer_id,
        payerName=payer_name,
        telephone=phone,
        amountPaid=(paid + Decimal("3.00") if flaw == "amount_paid" else paid).quantize(
            Decimal("0.01")
        ),
        currency="142",
        payTime=stamp,
    )
    waybill = d.LogisticsHead(
        guid=_guid(rng),
        appType="1",
        appTime=stamp,
        appStatus="2",
        logisticsCode=CARRIER[0],
        logisticsName=CARRIER[1],
        logisticsNo=f"MY{seed % 100:02d}{i:010d}CN",
        orderNo=order_no,
        freight=freight,
        insuredFee=Decimal("0.00"),
        currency="142",
        weight=Decimal("1.5"),
        packNo=1,
        consignee=f"另一人{i:07d}" if flaw == "consignee_mismatch" else consignee,
        consigneeAddress=address,
        consigneeTelephone=phone,
    )
    messages = (
        d.CEB311Message(guid=order.OrderHead.guid, Order=[order], BaseTransfer=_transfer()),
        d.CEB411Message(
            guid=payment.guid, Payment=[d.Payment(PaymentHead=payment)], BaseTransfer=_transfer()
        ),
        d.CEB511Message(
            guid=waybill.guid,
            Logistics=[d.Logistics(LogisticsHead=waybill)],
            BaseTransfer=_transfer(),
        ),
    )
    return SyntheticOrder(order_no, buyer, messages, flaw)


def generate(
    n: int,
    *,
    seed: int = 2017,
    rates: Mapping,
    bad_share: float = 0.05,
    now: datetime | None = None,
) -> list[SyntheticOrder]:
    """``n`` orders (deterministic for ``seed`` and ``now``); about ``bad_share`` of them spoiled,
    cycling through ``FLAWS``. ``rates`` are the China ``LineRates`` by gcode."""
    from ehub.core import clock

    now = now or clock.now()
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    flaws = list(FLAWS)
    orders: list[SyntheticOrder] = []
    spoiled = 0
    i = 0
    while len(orders) < n:
        bad = rng.random() < bad_share and n - len(orders) >= QUOTA_GROUP
        flaw = flaws[spoiled % len(flaws)] if bad else None
        if flaw == "over_annual_limit":
            buyer, who = _id_number(i), i
            for k in range(QUOTA_GROUP):
                last = k == QUOTA_GROUP - 1
                line = [
                    ("SYN-COFFEE", 1, Decimal("1980"))
                    if last
                    else ("SYN-PEWTER", 1, Decimal("4860"))
                ]
                orders.append(
                    _order(
                        i,
                        seed,
                        rng,
                        rates,
                        now,
                        buyer=buyer,
                        who=who,
                        flaw=flaw if last else None,
                        lines=line,
                    )
                )
                i += 0 if last else 1
        else:
            orders.append(_order(i, seed, rng, rates, now, buyer=_id_number(i), flaw=flaw))
        spoiled += bad
        i += 1
    return orders[:n]
