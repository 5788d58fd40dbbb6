"""Edge to Malaysian customs (uCustoms) for export declarations, and its sandbox.

A gateway takes the K2-like message (a JSON-safe dict built by ``customs.export.k2_message``)
and delivers it; the answer comes back later through ``customs.export.apply_answer``.

``SandboxMalaysianCustoms`` stands in for uCustoms: each submission enqueues a background task
that runs ``EHUB_MY_CUSTOMS_SANDBOX_DELAY_SECONDS`` later (default 2), checks the message
again with the same pure rules eHub uses (customs does not trust the filer: it also recomputes
the export duty against its own tariff) and answers ``released``, or ``refused`` with every
reason. ``EHUB_MY_CUSTOMS_GATEWAY`` picks the gateway (``sandbox`` by default).
"""

from __future__ import annotations

import abc
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.module_loading import import_string
from django_tasks import task

from ehub.core.context import Context
from ehub.customs.gateways import _setting  # settings, then environment, then default


def sandbox_delay() -> float:
    return float(_setting("EHUB_MY_CUSTOMS_SANDBOX_DELAY_SECONDS", "2"))


class MalaysianCustomsGateway(abc.ABC):
    """Where export declarations go. ``submit`` must not block on customs' answer."""

    name = "abstract"

    @abc.abstractmethod
    def submit(self, message: dict[str, Any]) -> None: ...


class SandboxMalaysianCustoms(MalaysianCustomsGateway):
    name = "sandbox"

    def submit(self, message: dict[str, Any]) -> None:
        # The worker compares run_after with the wall clock, never eHub's (freezable) clock.
        run_after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=sandbox_delay())
        sandbox_my_answer.using(run_after=run_after).enqueue(message)


class RecordingMalaysianCustoms(MalaysianCustomsGateway):
    """Keeps what it is given (tests)."""

    name = "recording"

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def submit(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


GATEWAYS = {
    "sandbox": "ehub.customs.gateways_my.SandboxMalaysianCustoms",
    "recording": "ehub.customs.gateways_my.RecordingMalaysianCustoms",
}


def get_gateway() -> MalaysianCustomsGateway:
    name = _setting("EHUB_MY_CUSTOMS_GATEWAY", "sandbox")
    return import_string(GATEWAYS.get(name, name))()


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return None


def sandbox_decide(message: dict[str, Any]) -> tuple[str, str]:
    """What the sandbox answers: ("released", "") or ("refused", reasons)."""
    from ehub.core.money import Money
    from ehub.customs import export
    from ehub.customs.domain import export as rules

    try:
        header = rules.ExportHeader(
            **{name: message[name] for name in rules.ExportHeader.__dataclass_fields__}
            | {"departure_date": dt.date.fromisoformat(message["departure_date"])}
        )
        lines = [
            rules.ExportLine(
                hs_code=line["hs_code"],
                tariff_code=line["tariff_code"],
                description=line["description"],
                quantity=_decimal(line["quantity"]),
                unit=line["unit"],
                fob=Money(int(line["fob_sen"]), rules.CURRENCY),
                net_kg=_decimal(line["net_kg"]),
                gross_kg=_decimal(line["gross_kg"]),
                origin=line["origin"],
            )
            for line in message["lines"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        return "refused", f"malformed declaration: {exc}"[:1000]
    found = export.tariff_in_force({line.hs_code for line in lines}, header.departure_date)
    errors = rules.validate_header(header) + rules.validate_lines(
        lines, tariff_codes=set(found), tariff_hs6={line.hs6 for line in found.values()}
    )
    if not errors:
        rates = {code: line.export_duty_rate for code, line in found.items()}
        duty = rules.compute_duty(lines, rates)
        if duty.total.amount != int(message.get("duty_total_sen", -1)):
            return "refused", "duty_total: export duty does not match the tariff"
        return "released", ""
    return "refused", "; ".join(f"{e.field}: {e.message}" for e in errors)[:1000]


@task()
def sandbox_my_answer(message: dict[str, Any]) -> str:
    """Decide like uCustoms would and apply the answer in one transaction."""
    from ehub.customs import export

    status, reason = sandbox_decide(message)
    with transaction.atomic():
        export.apply_answer(Context.system(), message["reference"], status, reason)
    return status
