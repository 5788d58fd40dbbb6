"""Edges to customs: the ``CustomsGateway`` interface and its sandbox China customs.

A gateway takes a CEB message as XML bytes and delivers it; answers come back later as receipt
XML through ``declarations.apply_receipt``, as they do from a real e-port.

``SandboxChinaCustoms`` behaves like the customs side of a CBEC zone: for each inventory list
(CEB621) it enqueues a background task that runs ``EHUB_CUSTOMS_SANDBOX_DELAY_SECONDS`` later
(default 2) and then validates the list, matches it with the order, payment and waybill filed
for the same order, recomputes the tax, and answers with CEB622 receipts:

* documents fail to match or the tax is refused → 100 rejected, ``returnInfo`` giving reasons;
* red lane, or picked by the random inspection rate ``EHUB_CUSTOMS_SANDBOX_INSPECTION_RATE``
  (default 0.05, seeded by the orderNo so a given order is always picked or never) → 120, 500;
* amber lane → 120, then it waits for an officer's document check;
* green lane → 120, 399, 800 released.

After a release (800) it sends the CEB816 tax bill of the declaration. Each order, payment and
waybill (CEB311/411/511) is answered on its own with its receipt (CEB312/412/512): 2 (declaring)
then 120 (entered the customs system), or 100 with ``returnInfo`` when a party's enterprise
code is not registered; a message that fails validation gets ``-1`` (processing error).

The sandbox reads the other three documents from eHub's own tables: it stands in for customs,
which keeps the documents the three parties filed with it.

``FileDropGateway`` (``EHUB_CUSTOMS_GATEWAY=filedrop``) writes messages to an outbox folder and
reads receipts from an inbox folder (``ehub customs poll``), as e-port clients do.
"""

from __future__ import annotations

import abc
import datetime as dt
import os
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string


def _setting(name: str, default: str) -> str:
    # A setting of 0 is a value (no delay, no random inspection), not "unset".
    value = getattr(settings, name, None)
    if value is None or value == "":
        value = os.environ.get(name)
    return str(default if value is None or value == "" else value)


def sandbox_delay() -> float:
    return float(_setting("EHUB_CUSTOMS_SANDBOX_DELAY_SECONDS", "2"))


def inspection_rate() -> float:
    return float(_setting("EHUB_CUSTOMS_SANDBOX_INSPECTION_RATE", "0.05"))


def picked_for_inspection(order_no: str, rate: float | None = None) -> bool:
    """Deterministic per order: the same orderNo is always picked, or never."""
    rate = inspection_rate() if rate is None else rate
    return random.Random(f"inspection:{order_no}").random() < rate  # noqa: S311 - not security


class CustomsGateway(abc.ABC):
    """Where declarations go. ``submit`` must not block on customs' answer."""

    name = "abstract"

    @abc.abstractmethod
    def submit(self, message_xml: bytes) -> None: ...


class SandboxChinaCustoms(CustomsGateway):
    name = "sandbox"

    def submit(self, message_xml: bytes) -> None:
        from ehub.customs.tasks import sandbox_answer, sandbox_document_answer

        start = message_xml[:400]
        # The worker compares run_after with the wall clock, never eHub's (freezable) clock.
        run_after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=sandbox_delay())
        if b"CEB621Message" in start:
            sandbox_answer.using(run_after=run_after).enqueue(message_xml.decode("utf-8"))
        elif any(root in start for root in DOCUMENT_ROOTS):
            sandbox_document_answer.using(run_after=run_after).enqueue(message_xml.decode("utf-8"))
        # anything else (cancels, returns) is just kept


DOCUMENT_ROOTS = (b"CEB311Message", b"CEB411Message", b"CEB511Message")


class RecordingGateway(CustomsGateway):
    """Keeps what it is given (tests, and callers that answer receipts themselves)."""

    name = "recording"

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def submit(self, message_xml: bytes) -> None:
        self.sent.append(message_xml)


class FileDropGateway(CustomsGateway):
    """The way real e-port clients talk to customs: files in folders.

    ``submit`` writes each message as ``<type>_<guid>.xml`` (e.g. ``CEB621_4CDE….xml``) into the
    outbox (``EHUB_CUSTOMS_OUTBOX``, default ``var/customs/outbox``), through a temporary file in
    the same folder renamed into place, so the client that ships the outbox never reads half a
    file. ``poll(apply)`` hands each receipt file of the inbox (``EHUB_CUSTOMS_INBOX``, default
    ``var/customs/inbox``), oldest name first, to ``apply``; a file that applied moves to
    ``inbox/processed``, one that failed to ``inbox/failed`` beside a ``.error`` text naming the
    problem. Applying receipts is idempotent by guid, so a crash between applying and moving
    only means the file is applied again, harmlessly, on the next poll.
    """

    name = "filedrop"

    def __init__(self, outbox: str | Path | None = None, inbox: str | Path | None = None):
        var = Path(getattr(settings, "VAR_DIR", "var"))
        self.outbox = Path(outbox or _setting("EHUB_CUSTOMS_OUTBOX", str(var / "customs/outbox")))
        self.inbox = Path(inbox or _setting("EHUB_CUSTOMS_INBOX", str(var / "customs/inbox")))

    def submit(self, message_xml: bytes) -> None:
        from ehub.customs.domain.xmlcodec import from_xml

        message = from_xml(message_xml)  # refuses what is not a CEB message before writing
        kind = message.ROOT.removesuffix("Message")
        self.outbox.mkdir(parents=True, exist_ok=True)
        target = self.outbox / f"{kind}_{message.guid}.xml"
        fd, temp = tempfile.mkstemp(dir=self.outbox, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(message_xml)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def poll(self, apply: Callable[[bytes], object]) -> PollResult:
        """Apply every ``*.xml`` receipt waiting in the inbox; see the class docstring."""
        result = PollResult()
        if not self.inbox.is_dir():
            return result
        processed, failed = self.inbox / "processed", self.inbox / "failed"
        for path in sorted(self.inbox.glob("*.xml")):
            try:
                apply(path.read_bytes())
            except Exception as exc:  # every failure is reported in the file beside it
                failed.mkdir(parents=True, exist_ok=True)
                (failed / f"{path.name}.error").write_text(_problem(exc), encoding="utf-8")
                os.replace(path, failed / path.name)
                result.failed.append(path.name)
            else:
                processed.mkdir(parents=True, exist_ok=True)
                os.replace(path, processed / path.name)
                result.processed.append(path.name)
        return result


@dataclass
class PollResult:
    processed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _problem(exc: Exception) -> str:
    """What went wrong, with the element path of each problem where the error names them."""
    lines = [f"{type(exc).__name__}: {exc}"]
    for error in getattr(exc, "errors", None) or []:
        lines.append(f"{error.field}: {error.message} ({error.code})")
    for issue in getattr(exc, "issues", None) or []:
        lines.append(f"{issue.path}: {issue.message} ({issue.code})")
    return "\n".join(lines) + "\n"


GATEWAYS = {
    "sandbox": "ehub.customs.gateways.SandboxChinaCustoms",
    "recording": "ehub.customs.gateways.RecordingGateway",
    "filedrop": "ehub.customs.gateways.FileDropGateway",
}


def get_gateway() -> CustomsGateway:
    """The gateway named by ``EHUB_CUSTOMS_GATEWAY`` (``sandbox`` by default)."""
    name = _setting("EHUB_CUSTOMS_GATEWAY", "sandbox")
    return import_string(GATEWAYS.get(name, name))()


def sandbox_decide(message_xml: str) -> list[tuple[str, str]]:
    """What the sandbox customs answers to a CEB621: [(returnStatus, returnInfo), ...]."""
    from ehub.customs import declarations as decl_services
    from ehub.customs.domain.validation import validate
    from ehub.customs.domain.xmlcodec import MessageFormatError, from_xml
    from ehub.customs.models import Declaration

    try:
        message = from_xml(message_xml.encode("utf-8"))
    except MessageFormatError as exc:
        return [("100", str(exc)[:1000])]
    issues = validate(message)
    if issues:
        return [("100", "; ".join(f"{i.path}: {i.message}" for i in issues)[:1000])]
    inventory = message.Inventory[0]
    head = inventory.InventoryHead
    decl = Declaration.objects.filter(cop_no=head.copNo).first()
    if decl is None:
        return []
    docs = decl_services.documents_of(decl)
    if any(k not in docs for k in decl_services.NEEDED):
        return [("100", "order, payment and waybill must all be filed")]
    order, payment, waybill = (docs[k] for k in decl_services.NEEDED)
    facts = decl_services.gather_facts(order, inventory, decl)
    result = decl_services.evaluate(order, payment, waybill, inventory, facts)
    return sandbox_answers(result, head.orderNo)


def sandbox_answers(result, order_no: str, *, rate: float | None = None) -> list[tuple[str, str]]:
    """The sandbox's answer to one evaluated declaration (pure: shared with ``customs.batch``).
    ``rate`` overrides the inspection rate setting (``inspection_rate()``)."""
    if result.mismatches:
        info = " ".join(f"[{m.code}] {m.message}" for m in result.mismatches)
        return [("100", info[:1000])]
    if str(result.risk.lane) == "red" or picked_for_inspection(order_no, rate):
        return [("120", ""), ("500", "selected for inspection")]
    if str(result.risk.lane) == "amber":
        return [("120", "document check by an officer")]
    return [("120", ""), ("399", ""), ("800", "released")]


def sandbox_document_decide(message_xml: str) -> list[tuple[str, object, list[tuple[str, str]]]]:
    """What the sandbox answers to a CEB311/411/511: per record (kind, head, [(returnStatus,
    returnInfo), ...]). Unparsable XML gets no answer (there is no key to answer with)."""
    from ehub.customs import declarations as decl_services
    from ehub.customs.domain.validation import validate
    from ehub.customs.domain.xmlcodec import MessageFormatError, from_xml
    from ehub.customs.models import Enterprise

    try:
        message = from_xml(message_xml.encode("utf-8"))
    except MessageFormatError:
        return []
    kind = decl_services.FILEABLE.get(message.ROOT)
    if kind is None:
        return []
    issues = validate(message)
    heads = [decl_services._head(kind, record) for record in message.records]
    if issues:
        info = "; ".join(f"{i.path}: {i.message}" for i in issues)[:1000]
        return [(kind, head, [("-1", info)]) for head in heads]
    codes = {code for head in heads for code in _party_codes(head) if code}
    registered = set(Enterprise.objects.filter(code__in=codes).values_list("code", flat=True))
    answers = []
    for head in heads:
        missing = [code for code in _party_codes(head) if code and code not in registered]
        if missing:
            info = "enterprise not registered with customs: " + ", ".join(missing)
            answers.append((kind, head, [("2", ""), ("100", info)]))
        else:
            answers.append((kind, head, [("2", ""), ("120", "entered the customs system")]))
    return answers


def _party_codes(head) -> tuple[str, ...]:
    """The enterprise codes customs checks the registration of, per document head."""
    from ehub.customs.domain import documents as d

    if isinstance(head, d.OrderHead):
        return (head.ebpCode, head.ebcCode)
    if isinstance(head, d.PaymentHead):
        return (head.payCode, head.ebpCode)
    return (head.logisticsCode,)
