"""Is this Finvoice file fit to send? Every problem, not only the first.

1. The file: the SOAP frame before the Finvoice (required unless ``require_frame=False``,
   for files routed by ``MessageTransmissionDetails`` alone) and its rules
   (:mod:`.frame`); the Finvoice's XML declaration with ISO-8859-15 (§9.3); the
   ``xml-stylesheet`` instruction (§7); the ``xsi:noNamespaceSchemaLocation`` reference
   (§2); no tabs (§9.2).
2. The official XSD (:mod:`.schema`).
3. What the XSD does not enforce: the sums (:mod:`.arithmetic`) and the rest
   (:mod:`.consistency`); the frame's parties equal ``MessageTransmissionDetails``.

An empty list means the file may be sent. The checks run on what could be parsed even
when the XSD fails, so a clerk sees every reason at once.
"""

from __future__ import annotations

import re

from lxml import etree

from .arithmetic import check_arithmetic
from .consistency import check_consistency
from .frame import FrameInfo, check_frame, split
from .model import FinvoiceProblem
from .schema import validate
from .tree import Findings, text

ENCODINGS = frozenset({"ISO-8859-15", "ISO8859-15"})
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_DECLARATION = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_MTD = "/Finvoice/MessageTransmissionDetails"


def _parser(encoding: str | None = None) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, encoding=encoding)


def _file_form(finvoice: bytes, problems: list[FinvoiceProblem]) -> str | None:
    declared = _DECLARATION.match(finvoice)
    encoding = declared.group(1).decode("ascii") if declared else None
    if not finvoice.startswith(b"<?xml"):
        problems.append(FinvoiceProblem("encoding", "/", "the Finvoice has no XML declaration (with ISO-8859-15)"))
    elif encoding is None:
        problems.append(
            FinvoiceProblem("encoding", "/", "the XML declaration names no encoding (UTF-8); ISO-8859-15 (§9.3)")
        )
    elif encoding.upper() not in ENCODINGS:
        problems.append(FinvoiceProblem("encoding", "/", f"declared encoding {encoding} is not ISO-8859-15 (§9.3)"))
    if b"\t" in finvoice:
        problems.append(FinvoiceProblem("tab", "/", "tab characters (only spaces may indent, §9.2)"))
    return encoding


def _prologue(root: etree._Element, problems: list[FinvoiceProblem]) -> None:
    previous = list(root.itersiblings(preceding=True))
    if not any(isinstance(node, etree._ProcessingInstruction) and node.target == "xml-stylesheet" for node in previous):
        problems.append(
            FinvoiceProblem(
                "stylesheet-missing", "/", 'no <?xml-stylesheet … href="Finvoice.xsl"?> before <Finvoice> (§7)'
            )
        )
    if root.get(f"{{{XSI_NS}}}noNamespaceSchemaLocation") is None:
        problems.append(
            FinvoiceProblem(
                "schema-reference", "/Finvoice", "xsi:noNamespaceSchemaLocation (the XSD reference) is missing (§2)"
            )
        )


def _frame_matches(root: etree._Element, info: FrameInfo, problems: list[FinvoiceProblem]) -> None:
    details = root.find("MessageTransmissionDetails")
    if details is None:
        return
    pairs = (
        ("MessageSenderDetails/FromIdentifier", "Sender", info.parties.sender),
        ("MessageSenderDetails/FromIntermediator", "sender's Intermediator", info.parties.sender_intermediator),
        ("MessageReceiverDetails/ToIdentifier", "Receiver", info.parties.receiver),
        ("MessageReceiverDetails/ToIntermediator", "receiver's Intermediator", info.parties.receiver_intermediator),
    )
    fields = {
        element.tag: element
        for element in details.iter("FromIdentifier", "FromIntermediator", "ToIdentifier", "ToIntermediator")
    }
    for path, role, in_frame in pairs:
        if (text(fields.get(path.rsplit("/", 1)[1])) or "") != in_frame:
            problems.append(
                FinvoiceProblem("frame-mismatch", f"{_MTD}/{path}", f"differs from the SOAP frame's {role}")
            )


def check_finvoice(xml: bytes, *, require_frame: bool = True) -> list[FinvoiceProblem]:
    """Every reason ``xml`` (a frame + Finvoice file) must not be sent; ``[]`` if none."""
    problems: list[FinvoiceProblem] = []
    frame, rest = split(xml)
    finvoice = rest.lstrip()
    line_offset = xml[: len(xml) - len(finvoice)].count(b"\n")
    encoding = _file_form(finvoice, problems)
    try:
        root = etree.fromstring(finvoice, _parser())
    except etree.XMLSyntaxError as exc:
        problems.append(FinvoiceProblem("xml-malformed", "/", f"not well-formed XML: {exc.msg}"))
        return problems
    except LookupError:
        problems.append(FinvoiceProblem("xml-malformed", "/", "the declared encoding is unknown"))
        return problems
    if root.tag != "Finvoice":
        problems.append(FinvoiceProblem("not-finvoice", "/", "the document element is not <Finvoice>"))
        return problems
    _prologue(root, problems)
    problems += validate(root, line_offset)
    if frame is not None:
        info, frame_problems = check_frame(frame, encoding)
        problems += frame_problems
        if info is not None:
            _frame_matches(root, info, problems)
    elif require_frame:
        problems.append(FinvoiceProblem("frame-missing", "/", "no SOAP transmission frame before the Finvoice (§17)"))
    found = Findings(root)
    check_arithmetic(found)
    check_consistency(found)
    return problems + found.problems
