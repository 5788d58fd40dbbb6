"""CEB messages to and from XML (lxml, with the standard library's ElementTree as the reference).

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
before parsing (no entity expansion, no external entities), and the lxml parser is set up to
resolve no entities, use no network and keep libxml2's size limits (``huge_tree`` off).

Speed (the clearance batch reads and writes several messages per order): messages are parsed
and serialised by lxml (libxml2, in C). Reading takes a fast path per record class that
converts a well-formed record in one pass and gives up at the first irregularity (an unknown,
repeated or misplaced element, a number that is not one); the message is then read again by
the generic reader, which names every problem exactly as before. A message lxml cannot parse
is parsed again by ElementTree for its error (so the position and wording stay those of the
reference parser), and a message holding characters lxml cannot write (control characters,
which XML 1.0 cannot carry) is written by ElementTree as before.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from itertools import compress
from typing import Any

from django.utils.translation import gettext_lazy as _
from lxml import etree as LX

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


_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_NSMAP = {PREFIX: NAMESPACE}


def _shape(record: Any, texts: list[str]) -> tuple:
    """The elements ``record`` is written as, in ``_write_record``'s order, without their
    text: per field (name, None) for a leaf, (name, shape) for a record. The leaves' texts are
    appended to ``texts`` in the same (document) order."""
    out: list[tuple] = []
    for name, kind, _qualified in _layout(type(record)):
        value = getattr(record, name)
        if kind == "text":
            if value:
                out.append((name, None))
                texts.append(value)
        elif kind == "decimal":
            if value is not None:
                out.append((name, None))
                texts.append(_format_decimal(value))
        elif kind == "int":
            if value is not None:
                out.append((name, None))
                texts.append(str(value))
        elif kind == "one":
            if value is not None:
                out.append((name, _shape(value, texts)))
        elif kind == "list":
            for item in value:
                out.append((name, _shape(item, texts)))
    return tuple(out)


def _build(parent: Any, shape: tuple, leaves: list[bool]) -> None:
    for name, inner in shape:
        element = LX.SubElement(parent, _NS + name)
        leaves.append(inner is None)
        if inner is not None:
            _build(element, inner, leaves)


_local_templates = threading.local()
_MAX_TEMPLATES = 4096


def _template(key: tuple) -> tuple[Any, tuple[bool, ...]]:
    """The empty message of this shape (root attributes, every element, the signature
    comment) and, in document order, which of its nodes take a text. Kept per thread (lxml
    trees are not shared between threads): copying it whole and filling in the texts is
    several times cheaper than creating the elements one by one."""
    templates = getattr(_local_templates, "templates", None)
    if templates is None:
        templates = _local_templates.templates = {}
    found = templates.get(key)
    if found is None:
        root_tag, attributes, shape = key
        root = LX.Element(_NS + root_tag, dict.fromkeys(attributes, ""), nsmap=_NSMAP)
        leaves: list[bool] = [False]  # the root
        _build(root, shape, leaves)
        root.append(LX.Comment(SIGNATURE_PLACEHOLDER))
        leaves.append(False)
        found = (root, tuple(leaves))
        if len(templates) < _MAX_TEMPLATES:
            templates[key] = found
    return found


def _check_message(message: Any) -> None:
    if not isinstance(message, Message) or not message.ROOT:
        raise TypeError(f"to_xml takes a CEB message, not {type(message).__name__}")


def to_xml(message: Message) -> bytes:
    """The message as UTF-8 XML bytes in the CEB namespace."""
    _check_message(message)
    attributes = {k: v for k, v in (("guid", message.guid), ("version", message.version)) if v}
    texts: list[str] = []
    shape = _shape(message, texts)
    template, leaves = _template((message.ROOT, tuple(attributes), shape))
    root = template.__copy__()  # a deep copy, in a document of its own
    try:
        for name, value in attributes.items():
            root.set(name, value)
        for element, text in zip(compress(root.iter(), leaves), texts, strict=True):
            element.text = text
    except ValueError:  # a control character: text XML 1.0 cannot carry
        return to_xml_reference(message)
    return _DECLARATION + LX.tostring(root, encoding="UTF-8")


def to_xml_reference(message: Message) -> bytes:
    """``to_xml`` written by ElementTree (the reference writer; it also writes text lxml
    refuses, such as control characters, though no XML parser will read it back)."""
    _check_message(message)
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
    return _DECLARATION + body.encode("utf-8")


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


class _Irregular(Exception):
    """The fast reader met something only the generic reader reports properly."""


_TEXT, _DECIMAL, _INT, _ONE, _LIST = range(5)
_KIND_CODES = {"text": _TEXT, "decimal": _DECIMAL, "int": _INT, "one": _ONE, "list": _LIST}


@functools.cache
def _fast_reader(cls: type):
    """A reader of one ``cls`` element that returns the record, or raises ``_Irregular`` where
    ``_read_record`` would report an issue (it then reads the element again, slowly)."""
    table: dict[str, tuple[str, int, Any]] = {}
    defaults: dict[str, Any] = {}
    lists: list[str] = []
    for spec in dataclasses.fields(cls):
        kind = spec.metadata.get("kind", "")
        if spec.default_factory is not dataclasses.MISSING:
            lists.append(spec.name)
        else:
            defaults[spec.name] = spec.default
        if kind in _KIND_CODES:
            sub = _fast_reader(spec.metadata["record"]) if kind in ("one", "list") else None
            table[_NS + spec.name] = (spec.name, _KIND_CODES[kind], sub)
    if all(code < _ONE for _name, code, _sub in table.values()):
        return _leaf_reader(cls, table, defaults)
    lookup = table.get
    new = object.__new__

    def read(element: Any) -> Any:
        values = dict(defaults)
        for name in lists:
            values[name] = []
        seen: set[str] = set()
        for child in element:
            tag = child.tag
            entry = lookup(tag) if type(tag) is str else None
            if entry is None:
                if type(tag) is str:
                    raise _Irregular
                continue  # a comment or processing instruction
            name, code, sub = entry
            if code == _LIST:
                values[name].append(sub(child))
                continue
            if name in seen:
                raise _Irregular
            seen.add(name)
            if code == _ONE:
                values[name] = sub(child)
                continue
            if len(child):
                raise _Irregular
            raw = child.text or ""
            if code == _TEXT:
                values[name] = raw
            else:
                stripped = raw.strip()
                convert = _whole if code == _INT else _number
                values[name] = convert(stripped) if stripped else None
        record = new(cls)
        record.__dict__.update(values)
        return record

    return read


def _number(stripped: str) -> Decimal:
    """A non-empty, stripped number for the fast reader (``_Irregular`` if it is not one)."""
    try:
        number = Decimal(stripped)
    except InvalidOperation:
        raise _Irregular from None
    if not number.is_finite():
        raise _Irregular
    return number


def _whole(stripped: str) -> int:
    if not (stripped.isdigit() and stripped.isascii()):
        raise _Irregular
    return int(stripped)


def _leaf_reader(cls: type, table: dict[str, tuple[str, int, Any]], defaults: dict[str, Any]):
    """The fast reader of a record made of text and numbers only, as straight-line code: the
    children go into a dict by tag (a repeated tag makes it shorter than the children, an
    unknown one stays in it after every field has taken its own), then each field takes its
    element in declaration order."""
    env: dict[str, Any] = {
        "_Irregular": _Irregular,
        "_number": _number,
        "_whole": _whole,
        "_new": object.__new__,
        "_cls": cls,
        "_str": str,
        "_defaults": defaults,
    }
    lines = [
        "def read(element):",
        "    children = {}",
        "    n = 0",
        "    for child in element:",
        "        tag = child.tag",
        "        if tag.__class__ is _str:",
        "            children[tag] = child",
        "            n += 1",
        "    if len(children) != n: raise _Irregular",
        "    take = children.pop",
        "    record = _new(_cls)",
        "    values = record.__dict__",
        "    values.update(_defaults)",
    ]
    for i, (tag, (name, code, _sub)) in enumerate(table.items()):
        env[f"tag{i}"] = tag
        lines += [
            f"    child = take(tag{i}, None)",
            "    if child is not None:",
            "        if len(child): raise _Irregular",
        ]
        if code == _TEXT:
            lines.append(f"        values[{name!r}] = child.text or ''")
        else:
            convert = "_whole" if code == _INT else "_number"
            lines += [
                "        stripped = (child.text or '').strip()",
                f"        values[{name!r}] = {convert}(stripped) if stripped else None",
            ]
    lines += ["    if children: raise _Irregular", "    return record"]
    exec("\n".join(lines), env)  # noqa: S102 - code built from our own field declarations
    return env["read"]


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
    root = _parse(data)
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
    if not issues:
        try:
            body = _fast_reader(cls)(root)
        except _Irregular:
            pass
        else:
            body.guid = root.attrib.get("guid", "")
            body.version = root.attrib.get("version", "")
            return body
    body = _read_record(cls, root, name, issues)
    if issues:
        raise MessageFormatError(issues)
    return dataclasses.replace(
        body, guid=root.attrib.get("guid", ""), version=root.attrib.get("version", "")
    )


_local_parsers = threading.local()


def _parser() -> Any:
    """This thread's lxml parser (a parser must not be shared between threads): no entity
    resolution, no network, no DTD loading, libxml2's size limits kept."""
    parser = getattr(_local_parsers, "parser", None)
    if parser is None:
        parser = _local_parsers.parser = LX.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_blank_text=False,
            collect_ids=False,
        )
    return parser


def _parse(data: bytes) -> Any:
    """The root element; ``MessageFormatError`` naming where the XML is malformed."""
    try:
        return LX.fromstring(data, _parser())
    except LX.XMLSyntaxError:
        pass
    # Report the error as the reference parser words it (and should it read what libxml2
    # would not, carry on with its tree: the generic reader takes either).
    try:
        return ET.fromstring(data)  # noqa: S314 - DTD-free UTF-8 checked by the caller
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
