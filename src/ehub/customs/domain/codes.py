"""Code lists of the GACC CEB messages and the order of customs receipt statuses.

The lists are the ones DOMAIN.md §3 records (appType, appStatus, buyerIdType, currency,
returnStatus), plus the few customs unit and country codes eHub's goods use. The receipt
status order is eHub's reading of the customs workflow, used by declarations so that a late or
repeated receipt never moves a declaration backwards.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

NAMESPACE = "http://www.chinaport.gov.cn/ceb"
PREFIX = "ceb"
VERSION = "1.0"

APP_TYPES = {"1": _("new"), "2": _("change"), "3": _("delete")}
APP_STATUSES = {"1": _("draft"), "2": _("declare")}
BUYER_ID_TYPES = {"1": _("resident identity card"), "2": _("other")}
ORDER_TYPES = {"I": _("import")}
IE_FLAGS = {"I": _("import"), "E": _("export")}
TRADE_MODES = {
    "9610": _("CBEC direct mail (B2C)"),
    "1210": _("CBEC bonded"),
    "9710": _("CBEC B2B direct export"),
    "9810": _("CBEC export to overseas warehouse"),
}
# China customs currency codes (not ISO 4217): 142 is the renminbi.
CUSTOMS_CURRENCIES = {"142": "CNY", "122": "MYR", "502": "USD", "110": "HKD"}
CNY = "142"
# China customs country codes of the parties eHub trades with.
CUSTOMS_COUNTRIES = {"142": _("China"), "122": _("Malaysia"), "132": _("Singapore")}
# Customs units (计量单位) used by eHub's tariff lines and documents.
CUSTOMS_UNITS = {
    "001": _("set (台)"),
    "006": _("suit (套)"),
    "007": _("piece (个)"),
    "011": _("article (件)"),
    "025": _("pair (双)"),
    "030": _("metre"),
    "032": _("square metre"),
    "035": _("kilogram"),
    "036": _("gram"),
    "122": _("tin (罐)"),
    "125": _("pack (包)"),
    "136": _("bag (袋)"),
    "140": _("box (盒)"),
    "142": _("bottle (瓶)"),
}

RETURN_STATUSES = {
    "1": _("draft"),
    "2": _("declaring"),
    "3": _("sent"),
    "4": _("send failed"),
    "100": _("rejected"),
    "120": _("entered the customs system"),
    "300": _("manual review"),
    "399": _("concluded"),
    "500": _("inspection"),
    "501": _("detained"),
    "502": _("detained"),
    "503": _("detained"),
    "599": _("detained"),
    "700": _("returned"),
    "800": _("released"),
    "899": _("closed"),
}
# CEB816 tax bill status.
TAX_BILL_STATUSES = {"1": _("generated"), "2": _("summarised"), "3": _("void")}
# What each kind of customs answer is about (the declaration timeline shows it).
RECEIPT_KINDS = {
    "CEB312": _("order receipt"),
    "CEB412": _("payment receipt"),
    "CEB512": _("waybill receipt"),
    "CEB622": _("inventory list receipt"),
    "CEB816": _("tax bill"),
}
# Orders, payments and waybills only ever receive these.
DOCUMENT_RETURN_STATUSES = frozenset({"2", "3", "4", "100", "120", "399"})
FINAL_RETURN_STATUSES = frozenset({"100", "899"})

# Rank of each status on the way through customs. A receipt whose rank is not higher than
# the current one is kept but does not change the status. Negative codes (processing errors)
# rank with "send failed": they can be retried. Detention follows inspection; 700 (returned)
# and 800 (released) both end the inspection branch; 899 closes a released list; 100 is final.
_RANK = {
    "1": 0,
    "2": 10,
    "3": 20,
    "4": 15,
    "120": 30,
    "300": 40,
    "399": 50,
    "500": 60,
    "501": 70,
    "502": 70,
    "503": 70,
    "599": 75,
    "700": 80,
    "800": 90,
    "899": 100,
    "100": 100,
}


def is_return_status(code: str) -> bool:
    """A known returnStatus, or a negative integer (customs processing error)."""
    if code in RETURN_STATUSES:
        return True
    try:
        return int(code) < 0
    except ValueError:
        return False


def return_status_rank(code: str) -> int:
    """Where ``code`` sits in the status order (higher is further); unknown codes raise."""
    if code in _RANK:
        return _RANK[code]
    if is_return_status(code):
        return _RANK["4"]
    raise ValueError(f"unknown returnStatus {code!r}")


def status_moves_forward(current: str | None, incoming: str) -> bool:
    """Whether a receipt with ``incoming`` should replace ``current`` as the status."""
    if current is None:
        return True
    if current in FINAL_RETURN_STATUSES:
        return False
    return return_status_rank(incoming) > return_status_rank(current)
