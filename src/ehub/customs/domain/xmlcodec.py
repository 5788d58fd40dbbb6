"""CEB messages to and from XML (``xml.etree.ElementTree`` from the standard library).

``to_xml(message)`` writes the GACC envelope: a UTF-8 declaration, the root
``<ceb:CEB311Message guid=".." version="1.0" xmlns:ceb="http://www.chinaport.gov.cn/ceb">``,
the records (e.g. ``<ceb:Order>`` with ``<ceb:OrderHead>`` and n × ``<ceb:OrderList>``), then
``<ceb:BaseTransfer>``, and a comment where the enterprise's XML signature
(``<ds:Signature>``) goes: signing needs the enterprise's certificate and is out of scope. Empty
optional text and absent numbers are left out.

``from_xml(data)`` reads it back; structure problems (not XML, not UTF-8, a DTD, an unknown root
or element, a number that is not a number) raise ``MessageFormatError`` listing every problem
with its element path, never a parser traceback. Business rules (required fields, lengths,
code lists, totals) are ``validation.validate``'s job, so a document with a missing field still
parses and can be reported precisely.

Untrusted input: CEB messages never carry a DTD, so any ``<!DOCTYPE`` or ``<!ENTITY`` is refused
before parsing (no entity expansion, no external entities).
"""

from __future__ import annotations

import dataclasses
import functools
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from typing import Any

from django.utils.translation import gettext_lazy as _

from ehub.core.errors import DomainError
from ehub.customs.domain.codes import NAMESPACE, PREFIX
from ehub.customs.domain.documents import MESSAGE_TYPES, Issue, Message

ET.register_namespace(PREFIX, NAMESPACE)
_NS = "{" + NAMESPACE + "}"
SIGNATURE_PLACEHOLDER = (
    " ds:Signature (XML-DSig over the message, enterprise certificate) goes here "
)


class MessageFormatError(DomainError):
    """The bytes are not a well-formed CEB message; ``issues`` says where and why."""

    code = "malformed_message"
    title = _("The customs message is not well-formed.")
    status = HTTPStatus.BAD_REQUEST

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{i.path or '/'}: {i.message}" for i in issues))


# -- writing ---------------------------------------------------------------------------------


def _format_decimal(value: Decimal) -> str:
    return format(value, "f")


@functools.cache
def _layout(cls: type) -> tuple[tuple[str, str, str], ...]:
    """(name, kind, qualified tag) per field of a record class, computed once per class: the
    codec runs for every document of a batch, and ``dataclasses.fields`` is not free."""
    return tuple(
        (spec.name, spec.metadata.get("kind", ""), _NS + spec.name)
        for spec in dataclasses.fields(cls)
    )


@functools.cache
def _specs_by_name(cls: type) -> dict[str, dataclasses.Field]:
    return {spec.name: spec for spec in dataclasses.fields(cls)}


def _write_record(parent: ET.Element, tag: str, record: Any) -> None:
    element = ET.SubElement(parent, _NS + tag)
    sub = ET.SubElement
    for name, kind, qualified in _layout(type(record)):
        value = getattr(record, name)
        if kind == "text":
            if value:
                sub(element, qualified).text = value
        elif kind == "decimal":
            if value is not None:
                sub(element, qualified).text = _format_decimal(value)
        elif kind == "int":
            if value is not None:
                sub(element, qualified).text = str(value)
        elif kind == "one":
            if value is not None:
                _write_record(element, name, value)
        elif kind == "list":
            for item in value:
                _write_record(element, name, item)


def to_xml(message: Message) -> bytes:
    """The message as UTF-8 XML bytes in the CEB namespace."""
    if not isinstance(message, Message) or not message.ROOT:
        raise TypeError(f"to_xml takes a CEB message, not {type(message).__name__}")
    attributes = {"guid": message.guid, "version": message.version}
    root = ET.Element(_NS + message.ROOT, {k: v for k, v in attributes.items() if v})
    for name, kind, _qualified in _layout(type(message)):
        value = getattr(message, name)
        if kind == "list":
            for item in value:
                _write_record(root, name, item)
        elif kind == "one" and value is not None:
            _write_record(root, name, value)
    root.append(ET.Comment(SIGNATURE_PLACEHOLDER))
    body = ET.tostring(root, encoding="unicode")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body.encode("utf-8")


# -- reading ---------------------------------------------------------------------------------


_NS_LEN = len(_NS)


def _local(tag: Any, path: str, issues: list[Issue]) -> str | None:
    if not isinstance(tag, str):
        return None  # comments, processing instructions
    if tag.startswith(_NS):
        return tag[_NS_LEN:]
    issues.append(
        Issue(
            f"{path}/{tag}",
            "wrong_namespace",
            _("Element %(tag)s is not in the namespace %(ns)s.") % {"tag": tag, "ns": NAMESPACE},
        )
    )
    return None


def _read_record(cls: type, element: ET.Element, path: str, issues: list[Issue]) -> Any:
    specs = _specs_by_name(cls)
    values: dict[str, Any] = {}
    counters: dict[str, int] = {}
    for child in element:
        name = _local(child.tag, path, issues)
        if name is None:
            continue
        spec = specs.get(name)
        if spec is None or spec.metadata["kind"] == "attr":
            issues.append(
                Issue(
                    f"{path}/{name}",
                    "unexpected_element",
                    _("Unexpected element %(name)s.") % {"name": name},
                )
            )
            continue
        kind = spec.metadata["kind"]
        if kind == "list":
            counters[name] = counters.get(name, 0) + 1
            child_path = f"{path}/{name}[{counters[name]}]"
            values.setdefault(name, []).append(
                _read_record(spec.metadata["record"], child, child_path, issues)
            )
            continue
        child_path = f"{path}/{name}"
        if name in values:
            issues.append(
                Issue(
                    child_path,
                    "repeated_element",
                    _("Element %(name)s appears more than once.") % {"name": name},
                )
            )
            continue
        if kind == "one":
            values[name] = _read_record(spec.metadata["record"], child, child_path, issues)
        elif len(child):
            issues.append(
                Issue(child_path, "unexpected_children", _("This element holds text only."))
            )
        else:
            values[name] = _leaf(kind, child.text or "", child_path, issues)
    return cls(**values)


def _leaf(kind: str, raw: str, path: str, issues: list[Issue]) -> Any:
    if kind == "text":
        return raw
    stripped = raw.strip()
    if not stripped:
        return None
    if kind == "int":
        if stripped.isdigit() and stripped.isascii():
            return int(stripped)
        issues.append(Issue(path, "not_an_integer", _("Must be a whole number.")))
        return None
    try:
        number = Decimal(stripped)
        if not number.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        issues.append(
            Issue(path, "not_a_number", _("%(text)s is not a number.") % {"text": stripped[:40]})
        )
        return None
    return number


def from_xml(data: bytes | str) -> Message:
    """Parse a CEB message; ``MessageFormatError`` (with every problem's path) if it is not one."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"from_xml takes bytes, not {type(data).__name__}")
    data = bytes(data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MessageFormatError(
            [
                Issue(
                    "", "encoding", _("The message is not UTF-8 (byte %(at)d).") % {"at": exc.start}
                )
            ]
        ) from None
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise MessageFormatError(
            [Issue("", "dtd_forbidden", _("Customs messages may not contain a DTD or entities."))]
        )
    try:
        root = ET.fromstring(data)  # noqa: S314 - DTD-free UTF-8 checked above
    except ET.ParseError as exc:
        line, column = exc.position
        raise MessageFormatError(
            [
                Issue(
                    "",
                    "malformed_xml",
                    _("Malformed XML at line %(line)d, column %(column)d: %(reason)s.")
                    % {"line": line, "column": column + 1, "reason": str(exc).split(":")[0]},
                )
            ]
        ) from None
    issues: list[Issue] = []
    name = _local(root.tag, "", issues)
    cls = MESSAGE_TYPES.get(name or "")
    if cls is None:
        raise MessageFormatError(
            issues
            or [
                Issue(
                    name or "",
                    "unknown_message",
                    _("%(name)s is not a CEB message eHub knows (expected one of %(known)s).")
                    % {"name": name, "known": ", ".join(sorted(MESSAGE_TYPES))},
                )
            ]
        )
    extra = set(root.attrib) - {"guid", "version"}
    for attr in sorted(extra):
        if not attr.startswith("{"):  # xsi: and other namespaced attributes are tolerated
            issues.append(
                Issue(
                    f"{name}/@{attr}",
                    "unexpected_attribute",
                    _("Unexpected attribute %(name)s.") % {"name": attr},
                )
            )
    body = _read_record(cls, root, name, issues)
    if issues:
        raise MessageFormatError(issues)
    return dataclasses.replace(
        body, guid=root.attrib.get("guid", ""), version=root.attrib.get("version", "")
    )
