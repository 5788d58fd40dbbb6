"""Steps the hub operator's browser journeys share: check the printed label, manifest and hand
over one parcel, and play the carrier's signed tracking webhook."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pypdfium2
from playwright.sync_api import expect

from ehub.core import clock


def check_label(op, waybill: str) -> None:
    """The shipment page's label is a 100×150 mm PDF that carries the waybill number."""
    label = op.request.get(op.locator("#print-label").get_attribute("href"))
    pdf = label.body()
    assert label.headers["content-type"] == "application/pdf" and pdf.startswith(b"%PDF")
    doc = pypdfium2.PdfDocument(pdf)
    width, height = doc[0].get_size()
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (100, 150)
    assert waybill in doc[0].get_textpage().get_text_range()


def manifest_and_hand_over(op, carrier_code: str, waybill: str) -> None:
    """Create the carrier's manifest (the export declaration is filed) and scan the parcel."""
    op.goto("/hub/manifests/")
    op.get_by_label("Carrier").select_option(carrier_code)
    op.get_by_label("Flight").fill("MH388")
    op.get_by_role("button", name="Create manifest and declare export").click()
    expect(op.get_by_text(re.compile("export declaration submitted"))).to_be_visible()
    op.get_by_label(re.compile("Scan every parcel")).fill(waybill + "\n")
    op.get_by_role("button", name="Complete handover").click()
    expect(op.locator("#manifest-status")).to_have_text("Handed over")


def push_tracking(op, carrier, waybill: str, tag: str, after_each: Callable | None = None):
    """The carrier's signed webhook (picked up, departed KUL, delivered), sent twice: the
    repeat must change nothing. ``after_each`` runs after each delivery (e.g. the worker)."""
    from ehub.fulfillment.carriers import TrackingEvent

    now = clock.now()
    events = [
        TrackingEvent(waybill, "picked_up", now, "KUL", "Picked up", carrier.code, f"{tag}1"),
        TrackingEvent(
            waybill,
            "departed_KUL",
            now + dt.timedelta(hours=2),
            "KUL",
            "Departed",
            carrier.code,
            f"{tag}2",
        ),
        TrackingEvent(
            waybill,
            "delivered",
            now + dt.timedelta(hours=40),
            "Shanghai",
            "Delivered",
            carrier.code,
            f"{tag}3",
            final=True,
        ),
    ]
    body = carrier.webhook_body(events)
    for _twice in range(2):
        answer = op.request.post(
            f"/track/webhooks/{carrier.code}/", data=body, headers=carrier.sign_webhook(body)
        )
        assert answer.ok, answer.text()
        if after_each is not None:
            after_each()
