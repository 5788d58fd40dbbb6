"""Persistence of the eFulfilment hub: bins, inbound (ASNs, cartons, receipts, put-away),
outbound (shipments, waves, pick tasks, parcels, manifests) and tracking.

Stock quantities are NOT kept here: ``catalog`` inventory is the single source of truth. These
tables say where things are, what was expected, counted and scanned, and when each step of a
parcel's life happened (the SLA clocks read those timestamps).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ehub.core.fields import EncryptedTextField

from .domain import AsnStatus, ShipmentStatus


class BinLocation(models.Model):
    """A shelf position in a hub: ``A-01-03`` = zone A, aisle 01, level 03."""

    hub = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("bin"), max_length=20)
    zone = models.CharField(_("zone"), max_length=8)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hub", "code"], name="fulfillment_bin_unique_code")
        ]
        ordering = ["zone", "code"]

    def __str__(self) -> str:
        return self.code


class Asn(models.Model):
    """An advance shipping notice: what a merchant is sending to a hub, in which cartons."""

    STATUS_CHOICES = [
        (AsnStatus.EXPECTED, _("Expected")),
        (AsnStatus.RECEIVING, _("Receiving")),
        (AsnStatus.RECEIVED, _("Received")),
        (AsnStatus.CLOSED, _("Closed")),
        (AsnStatus.CANCELLED, _("Cancelled")),
    ]

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    merchant = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )
    hub = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    expected_on = models.DateField(_("expected on"))
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default=AsnStatus.EXPECTED)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField()
    receiving_started_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["hub", "status", "expected_on"]),
            models.Index(fields=["merchant", "-created_at"]),
        ]

    def __str__(self) -> str:
        return self.public_id


class AsnLine(models.Model):
    asn = models.ForeignKey(Asn, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    expected_qty = models.PositiveIntegerField()
    counted_qty = models.PositiveIntegerField(default=0)  # good units counted
    damaged_qty = models.PositiveIntegerField(default=0)
    put_away_qty = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asn", "sku"], name="fulfillment_asnline_unique_sku"),
            models.CheckConstraint(
                condition=models.Q(
                    counted_qty__lte=models.F("expected_qty") - models.F("damaged_qty")
                ),
                name="fulfillment_asnline_no_over_receipt",
            ),
            models.CheckConstraint(
                condition=models.Q(put_away_qty__lte=models.F("counted_qty")),
                name="fulfillment_asnline_putaway_le_counted",
            ),
        ]
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.asn_id}:{self.sku_id}"


class Carton(models.Model):
    """One labelled box of an ASN; its barcode is printed on the carton label."""

    asn = models.ForeignKey(Asn, on_delete=models.CASCADE, related_name="cartons")
    number = models.PositiveSmallIntegerField()
    barcode = models.CharField(max_length=40, unique=True)
    arrived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return self.barcode


class ReceiptScan(models.Model):
    """One accepted scan at receiving (refused scans change nothing and leave no row)."""

    asn = models.ForeignKey(Asn, on_delete=models.CASCADE, related_name="scans")
    line = models.ForeignKey(AsnLine, on_delete=models.CASCADE, related_name="scans")
    qty = models.PositiveIntegerField()
    damaged = models.BooleanField(default=False)
    barcode = models.CharField(max_length=64)
    actor_id = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return self.barcode


class Discrepancy(models.Model):
    """What did not match the ASN, reported back to the merchant when receiving finishes."""

    KIND_CHOICES = [("short", _("Short")), ("damaged", _("Damaged"))]

    asn = models.ForeignKey(Asn, on_delete=models.CASCADE, related_name="discrepancies")
    line = models.ForeignKey(AsnLine, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    qty = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.kind} {self.qty}"


class PutAway(models.Model):
    """Units of a line shelved in a bin: the moment they become available stock."""

    line = models.ForeignKey(AsnLine, on_delete=models.CASCADE, related_name="put_aways")
    bin = models.ForeignKey(BinLocation, on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    hub = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    qty = models.PositiveIntegerField()
    movement_id = models.BigIntegerField()  # the catalog StockMovement it produced
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["hub", "sku", "-at"])]

    def __str__(self) -> str:
        return f"{self.qty} → {self.bin_id}"


class Wave(models.Model):
    """Shipments of one carrier leaving on the same cut-off, picked together."""

    hub = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    carrier_code = models.CharField(max_length=32)
    cutoff_at = models.DateTimeField()
    name = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hub", "carrier_code", "cutoff_at"], name="fulfillment_wave_unique"
            )
        ]
        ordering = ["cutoff_at", "carrier_code"]

    def __str__(self) -> str:
        return self.name


class Manifest(models.Model):
    """Parcels of one carrier on one flight under a master air waybill."""

    STATUS_CHOICES = [
        ("open", _("Open")),
        ("closed", _("Closed")),
        ("handed_over", _("Handed over")),
    ]

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    hub = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    carrier_code = models.CharField(max_length=32)
    flight_no = models.CharField(_("flight"), max_length=12)
    departure_date = models.DateField(_("departure date"))
    destination_port = models.CharField(max_length=3, default="PVG")
    mawb_no = models.CharField(_("master air waybill"), max_length=16, unique=True)
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default="closed")
    export_declarations = models.JSONField(default=list)  # public ids of K2 declarations
    created_at = models.DateTimeField()
    handed_over_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["hub", "status"])]

    def __str__(self) -> str:
        return self.mawb_no


class Shipment(models.Model):
    """One order's parcel journey, from the waybill booking to the door (or back)."""

    STATUS_CHOICES = [
        (ShipmentStatus.BOOKED, _("Waybill booked")),
        (ShipmentStatus.RELEASED, _("To pick")),
        (ShipmentStatus.PICKED, _("Picked")),
        (ShipmentStatus.PACKED, _("Packed")),
        (ShipmentStatus.LABELLED, _("Labelled")),
        (ShipmentStatus.MANIFESTED, _("Manifested")),
        (ShipmentStatus.SHIPPED, _("Shipped")),
        (ShipmentStatus.DELIVERED, _("Delivered")),
        (ShipmentStatus.DELIVERY_FAILED, _("Delivery failed")),
        (ShipmentStatus.RETURNED, _("Returned")),
        (ShipmentStatus.CANCELLED, _("Cancelled")),
    ]

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    reference = models.CharField(max_length=60, unique=True)  # the order's public id
    merchant = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )
    hub = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=STATUS_CHOICES, default=ShipmentStatus.BOOKED)
    # Consignee: personal data, encrypted; province and city stay plain for routing and reports.
    consignee_name = EncryptedTextField()
    consignee_phone = EncryptedTextField()
    consignee_address = EncryptedTextField()  # district, street, postcode (JSON text)
    province = models.CharField(max_length=40)
    city = models.CharField(max_length=60)
    declared_value = models.BigIntegerField()
    declared_currency = models.CharField(max_length=3)
    estimated_weight_g = models.PositiveIntegerField()
    carrier_code = models.CharField(max_length=32)
    carrier_name = models.CharField(max_length=100)
    service_code = models.CharField(max_length=32, blank=True)
    service_name = models.CharField(max_length=100, blank=True)
    waybill_no = models.CharField(max_length=40, unique=True)
    routing_code = models.CharField(max_length=20, blank=True)
    freight = models.BigIntegerField()
    freight_currency = models.CharField(max_length=3)
    wave = models.ForeignKey(Wave, null=True, blank=True, on_delete=models.SET_NULL)
    manifest = models.ForeignKey(
        Manifest, null=True, blank=True, on_delete=models.SET_NULL, related_name="shipments"
    )
    missing_at_handover = models.BooleanField(default=False)
    exception = models.CharField(max_length=200, blank=True)
    requested_at = models.DateTimeField()  # the order-to-door clock starts here
    released_at = models.DateTimeField(null=True, blank=True)  # customs cleared: handling clock
    picked_at = models.DateTimeField(null=True, blank=True)
    packed_at = models.DateTimeField(null=True, blank=True)
    labelled_at = models.DateTimeField(null=True, blank=True)
    manifested_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["hub", "status"]),
            models.Index(fields=["merchant", "-requested_at"]),
            models.Index(fields=["wave", "status"]),
        ]

    def __str__(self) -> str:
        return self.waybill_no


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    sku_code = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    qty = models.PositiveIntegerField()
    unit_value = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    hs_code = models.CharField(max_length=12)
    weight_g = models.PositiveIntegerField()
    reservation_key = models.CharField(max_length=100)
    picked_qty = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(picked_qty__lte=models.F("qty")),
                name="fulfillment_line_picked_le_qty",
            )
        ]

    def __str__(self) -> str:
        return f"{self.sku_code} ×{self.qty}"


class PickTask(models.Model):
    """Pick ``qty`` of one line from one bin; pick lists are these, per wave and zone."""

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="tasks")
    line = models.OneToOneField(ShipmentLine, on_delete=models.CASCADE, related_name="task")
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="tasks")
    bin_code = models.CharField(max_length=20, blank=True)
    zone = models.CharField(max_length=8, blank=True)
    qty = models.PositiveIntegerField()
    picked_qty = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["wave", "zone", "bin_code"])]

    def __str__(self) -> str:
        return f"{self.bin_code} ×{self.qty}"


class Parcel(models.Model):
    public_id = models.CharField(max_length=32, unique=True, editable=False)
    shipment = models.OneToOneField(Shipment, on_delete=models.CASCADE, related_name="parcel")
    weight_g = models.PositiveIntegerField()
    length_mm = models.PositiveIntegerField()
    width_mm = models.PositiveIntegerField()
    height_mm = models.PositiveIntegerField()
    volumetric_g = models.PositiveIntegerField()
    chargeable_g = models.PositiveIntegerField()
    packed_at = models.DateTimeField()
    label_printed_at = models.DateTimeField(null=True, blank=True)
    label_prints = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return self.public_id


class TrackingEvent(models.Model):
    """A carrier's scan of the parcel. ``event_id`` makes a repeated webhook a no-op."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=80)
    code = models.CharField(max_length=32)
    description = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=100, blank=True)
    at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "event_id"], name="fulfillment_tracking_unique_event"
            )
        ]
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.code} {self.at:%Y-%m-%d %H:%M}"
