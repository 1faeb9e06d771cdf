"""The XML side of camt.054: a hardened parse, the version from the namespace, the vendored
ISO 20022 schema (``schema/``, origin and licence in its README), element paths for
messages. Pure: no network, no file but the vendored schemas.

Hardening: no DTD is loaded, no entity is resolved (``resolve_entities=False``), no
network (``no_network=True``), no huge-tree mode (libxml2's depth and size limits stay on),
and the size is capped before parsing (``common.MAX_BANK_FILE_BYTES``), and so is the
markup (:data:`MAX_XML_MARKUP`: a tree of many tiny elements takes far more memory than
its bytes). A document that
declares a DOCTYPE or holds an entity reference is refused outright: a bank's camt.054 has
neither, and refusing them is what stops XXE and entity expansion ("billion laughs").
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import cast

from lxml import etree

from .model import BankFileInvalid

SCHEMA_DIR = Path(__file__).parent / "schema"
NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.054.001."
SUPPORTED_VERSIONS = ("02", "08")
REPEATED = frozenset({"Ntfctn", "Ntry", "NtryDtls", "TxDtls", "Strd"})

_LOADED = threading.local()
_THE_VALUE = re.compile(r"The value '.*?'(?= (?:is|has) )", re.DOTALL)
_VALUE_AFTER_NAME = re.compile(r": '.*?'(?= is not a valid value)", re.DOTALL)
_NAMESPACE = re.compile(r"\{[^}]*\}")


def looks_like_xml(data: bytes) -> bool:
    head = data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    return head[:1] == b"<" or head[:2] in (b"\xff\xfe", b"\xfe\xff")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_pis=True,
    )


MAX_XML_MARKUP = 500_000
"""At most this many ``<`` in a camt.054 (start, end and empty tags, comments): about
10,000 transactions (a transaction takes some 45), far more than a daily file. Counted
before parsing: 16 MiB of ``<a/>`` (4 million elements, over 500 MiB as a tree) is
refused at once, and the largest tree allowed stays near a tenth of that."""


def parse_document(data: bytes) -> tuple[etree._Element, str]:
    """The root ``Document`` element and the camt.054 version (``02``, ``08``)."""
    markup = data.count(b"<")
    if markup > MAX_XML_MARKUP:
        raise BankFileInvalid(
            "file",
            f"XML-tiedostossa on liikaa elementtejä ({markup} tagia, enintään {MAX_XML_MARKUP}).",
            f"The XML file has too many elements ({markup} tags, at most {MAX_XML_MARKUP}).",
        )
    try:
        tree = etree.fromstring(data, _parser()).getroottree()
    except etree.XMLSyntaxError as error:
        line = error.lineno or 1
        raise BankFileInvalid(
            f"line {line}",
            "Tiedosto ei ole hyvin muodostettua XML:ää.",
            f"The file is not well-formed XML ({_clean(error.msg or '')}).",
        ) from None
    docinfo = tree.docinfo
    doctype = getattr(docinfo, "doctype", "")  # not in lxml-stubs
    if doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise BankFileInvalid(
            "DOCTYPE",
            "XML-tiedostossa on DOCTYPE-määrittely; pankin camt.054-sanomassa sitä ei ole, eikä sitä hyväksytä.",
            "The XML declares a DOCTYPE; a bank's camt.054 has none, and none is accepted.",
        )
    root = tree.getroot()
    for node in root.iter():
        if isinstance(node, etree._Entity):
            raise BankFileInvalid(
                path_of(node.getparent()),
                "XML-tiedostossa on entiteettiviittaus; sitä ei hyväksytä.",
                "The XML holds an entity reference; none is accepted.",
            )
    qname = etree.QName(root)
    namespace = qname.namespace or ""
    version = namespace.removeprefix(NAMESPACE_PREFIX) if namespace.startswith(NAMESPACE_PREFIX) else None
    if qname.localname != "Document" or version is None:
        raise BankFileInvalid(
            f"/{qname.localname}",
            "Tiedosto ei ole camt.054-sanoma (BankToCustomerDebitCreditNotification).",
            f"The document is not a camt.054 notification (namespace {namespace or 'none'}).",
        )
    if version not in SUPPORTED_VERSIONS:
        raise BankFileInvalid(
            "/Document",
            f"camt.054-versiota 001.{version} ei tueta (tuetut: 001.02, 001.08).",
            f"camt.054 version 001.{version} is not supported (supported: 001.02, 001.08).",
        )
    validate(root, version)
    return root, version


def schema(version: str) -> etree.XMLSchema:
    """Compiled once per thread and version: a schema object keeps its last error log."""
    cache: dict[str, etree.XMLSchema] = getattr(_LOADED, "schemas", None) or {}
    _LOADED.schemas = cache
    if version not in cache:
        path = SCHEMA_DIR / f"camt.054.001.{version}.xsd"
        cache[version] = etree.XMLSchema(etree.parse(str(path), _parser()))
    return cache[version]


def validate(root: etree._Element, version: str) -> None:
    checker = schema(version)
    if checker.validate(root):
        return
    first = next(iter(cast(Iterable[etree._LogEntry], checker.error_log)))
    message = f"{_clean(first.message)} (line {first.line})"
    raise BankFileInvalid(
        _schema_error_path(root, first),
        f"Sanoma ei ole camt.054.001.{version}-skeeman mukainen: {message}",
        f"The message does not follow the camt.054.001.{version} schema: {message}",
    )


def _schema_error_path(root: etree._Element, error: etree._LogEntry) -> str:
    """libxml2 names the element as ``/*/*/*[2]/*[6]``: turned into a readable path."""
    try:
        found = root.getroottree().xpath(error.path) if error.path else None
    except etree.XPathError:
        found = None
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        return path_of(found[0])
    return f"line {error.line}"


def _clean(message: str) -> str:
    """libxml2's message without the value it quotes (a value can be a payer's name) and
    without namespace URIs."""
    message = _VALUE_AFTER_NAME.sub(": the value", _THE_VALUE.sub("The value", message))
    return _NAMESPACE.sub("", message)


def path_of(element: etree._Element | None) -> str:
    """``/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[2]/NtryDtls[1]/TxDtls[3]``:
    repeated elements carry their 1-based position among same-named siblings."""
    parts: list[str] = []
    node = element
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if name in REPEATED and parent is not None:
            same = [child for child in parent if child.tag == node.tag]
            name = f"{name}[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))
