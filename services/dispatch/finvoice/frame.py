"""The ebXML SOAP 1.1 transmission frame that routes a Finvoice (guidelines §17).

The frame is a separate XML document written *before* the Finvoice in the same file
(the file starts at ``<SOAP-ENV:Envelope``; the Finvoice's ``<?xml …?>`` follows
``</SOAP-ENV:Envelope>``). Its header names four parties in a fixed order — Sender,
the sender's Intermediator, Receiver, the receiver's Intermediator — plus the constant
``CPAId`` ``yoursandmycpa``, ``Service`` ``Routing``, ``Action`` ``ProcessInvoice``, and
``MessageData`` (``MessageId`` at most 48 characters, ``Timestamp``); the body's manifest
points at the Finvoice by ``xlink:href`` (the message id, §17.3).

No schema for the frame is part of the reference material, so :func:`check_frame`
checks these rules in code. The frame is written as ASCII (anything else as character
references): it has no XML declaration, so a reader parses it as UTF-8 whatever the
Finvoice after it declares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from .model import FinvoiceProblem

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
EB_NS = "http://www.oasis-open.org/committees/ebxml-msg/schema/msg-header-2_0.xsd"
XLINK_NS = "http://www.w3.org/1999/xlink"
CPA_ID = "yoursandmycpa"
SERVICE = "Routing"
ACTION = "ProcessInvoice"
MAX_MESSAGE_ID = 48
ROLES = (("From", "Sender"), ("From", "Intermediator"), ("To", "Receiver"), ("To", "Intermediator"))
_HEADER = "SOAP-ENV:Envelope/SOAP-ENV:Header/eb:MessageHeader"
_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?Envelope\s*>")

_TEMPLATE = """\
<SOAP-ENV:Envelope xmlns:SOAP-ENV="{soap}" xmlns:xlink="{xlink}" xmlns:eb="{eb}">
  <SOAP-ENV:Header>
    <eb:MessageHeader SOAP-ENV:mustUnderstand="1" eb:version="2.0">
      <eb:From>
        <eb:PartyId>{sender}</eb:PartyId>
        <eb:Role>Sender</eb:Role>
      </eb:From>
      <eb:From>
        <eb:PartyId>{sender_intermediator}</eb:PartyId>
        <eb:Role>Intermediator</eb:Role>
      </eb:From>
      <eb:To>
        <eb:PartyId>{receiver}</eb:PartyId>
        <eb:Role>Receiver</eb:Role>
      </eb:To>
      <eb:To>
        <eb:PartyId>{receiver_intermediator}</eb:PartyId>
        <eb:Role>Intermediator</eb:Role>
      </eb:To>
      <eb:CPAId>{cpa}</eb:CPAId>
      <eb:ConversationId/>
      <eb:Service>{service}</eb:Service>
      <eb:Action>{action}</eb:Action>
      <eb:MessageData>
        <eb:MessageId>{message_id}</eb:MessageId>
        <eb:Timestamp>{timestamp}</eb:Timestamp>
      </eb:MessageData>
    </eb:MessageHeader>
  </SOAP-ENV:Header>
  <SOAP-ENV:Body>
    <eb:Manifest eb:id="Manifest" eb:version="2.0">
      <eb:Reference eb:id="Finvoice" xlink:href={href}>
        <eb:Schema eb:location="http://www.finvoice.info/finvoice.xsd" eb:version="2.0"/>
      </eb:Reference>
    </eb:Manifest>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
"""


@dataclass(frozen=True)
class Parties:
    sender: str
    sender_intermediator: str
    receiver: str
    receiver_intermediator: str

    def as_tuple(self) -> tuple[str, str, str, str]:
        return (self.sender, self.sender_intermediator, self.receiver, self.receiver_intermediator)


def envelope(parties: Parties, message_id: str, timestamp: str) -> bytes:
    """The frame, ASCII bytes ending in a newline (the Finvoice follows)."""
    text = _TEMPLATE.format(
        soap=SOAP_NS,
        xlink=XLINK_NS,
        eb=EB_NS,
        sender=escape(parties.sender),
        sender_intermediator=escape(parties.sender_intermediator),
        receiver=escape(parties.receiver),
        receiver_intermediator=escape(parties.receiver_intermediator),
        cpa=CPA_ID,
        service=SERVICE,
        action=ACTION,
        message_id=escape(message_id),
        timestamp=escape(timestamp),
        href=quoteattr(message_id),
    )
    return text.encode("ascii", "xmlcharrefreplace")


def split(data: bytes) -> tuple[bytes | None, bytes]:
    """(frame, Finvoice) of a file; no frame when the file starts with the Finvoice's
    own XML declaration or has no ``</…Envelope>``."""
    head = data.lstrip()
    if head.startswith(b"<?xml") or not head.startswith(b"<"):
        return None, data
    end = _END.search(data)
    if end is None:
        return None, data
    return data[: end.end()], data[end.end() :]


@dataclass(frozen=True)
class FrameInfo:
    parties: Parties
    message_id: str


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _children(element: etree._Element | None) -> dict[str, etree._Element]:
    """First child of each tag (one pass: much cheaper than a ``find`` per name)."""
    found: dict[str, etree._Element] = {}
    if element is not None:
        for child in element:
            found.setdefault(child.tag, child)
    return found


_SOAP = f"{{{SOAP_NS}}}"
_EB = f"{{{EB_NS}}}"
_PARTY_TAGS = (f"{_EB}From", f"{_EB}To")


def _parse(frame: bytes, encoding: str | None) -> etree._Element | FinvoiceProblem:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, encoding=encoding)
    try:
        return etree.fromstring(frame, parser)
    except etree.XMLSyntaxError as exc:
        return FinvoiceProblem("frame-malformed", "SOAP-ENV:Envelope", f"not well-formed XML ({exc.msg})")
    except LookupError:
        return FinvoiceProblem("frame-malformed", "SOAP-ENV:Envelope", "the file's encoding is unknown")


def _parties(header: etree._Element, problems: list[FinvoiceProblem]) -> list[str]:
    parties = [child for child in header if child.tag in _PARTY_TAGS]
    if len(parties) != len(ROLES):
        problems.append(
            FinvoiceProblem(
                "frame-party",
                _HEADER,
                f"{len(parties)} From/To parties; Sender, Intermediator, Receiver, Intermediator expected",
            )
        )
        return []
    ids = []
    for n, (party, (tag, role)) in enumerate(zip(parties, ROLES, strict=True), start=1):
        path = f"{_HEADER}/eb:{tag}[{n if n <= 2 else n - 2}]"
        fields = _children(party)
        if party.tag != f"{_EB}{tag}" or _text(fields.get(f"{_EB}Role")) != role:
            problems.append(FinvoiceProblem("frame-party", path, f"party {n} must be eb:{tag} with role {role}"))
        party_id = _text(fields.get(f"{_EB}PartyId"))
        if not party_id:
            problems.append(FinvoiceProblem("frame-party", f"{path}/eb:PartyId", f"the {role} has no PartyId"))
        ids.append(party_id)
    return ids


def check_frame(frame: bytes, encoding: str | None) -> tuple[FrameInfo | None, list[FinvoiceProblem]]:
    """The frame's rules (§17); the parties and message id when it could be read."""
    root = _parse(frame, encoding)
    if isinstance(root, FinvoiceProblem):
        return None, [root]
    header = _children(_children(root).get(f"{_SOAP}Header")).get(f"{_EB}MessageHeader")
    if root.tag != f"{_SOAP}Envelope" or header is None:
        return None, [
            FinvoiceProblem("frame-malformed", "SOAP-ENV:Envelope", "no SOAP 1.1 Envelope with an ebXML MessageHeader")
        ]
    problems: list[FinvoiceProblem] = []
    if header.get(f"{_SOAP}mustUnderstand") != "1":
        problems.append(FinvoiceProblem("frame-constant", _HEADER, 'MessageHeader needs SOAP-ENV:mustUnderstand="1"'))
    ids = _parties(header, problems)
    fields = _children(header)
    for name, expected in (("CPAId", CPA_ID), ("Service", SERVICE), ("Action", ACTION)):
        if _text(fields.get(f"{_EB}{name}")) != expected:
            problems.append(FinvoiceProblem("frame-constant", f"{_HEADER}/eb:{name}", f"must be {expected}"))
    data = _children(fields.get(f"{_EB}MessageData"))
    message_id = _text(data.get(f"{_EB}MessageId"))
    if not message_id or len(message_id) > MAX_MESSAGE_ID:
        problems.append(
            FinvoiceProblem(
                "frame-message-id",
                f"{_HEADER}/eb:MessageData/eb:MessageId",
                f"1 to {MAX_MESSAGE_ID} characters required",
            )
        )
    if not _text(data.get(f"{_EB}Timestamp")):
        problems.append(FinvoiceProblem("frame-message-id", f"{_HEADER}/eb:MessageData/eb:Timestamp", "missing"))
    manifest = _children(_children(root).get(f"{_SOAP}Body")).get(f"{_EB}Manifest")
    reference = _children(manifest).get(f"{_EB}Reference")
    if reference is None or reference.get(f"{_EB}id") != "Finvoice" or not reference.get(f"{{{XLINK_NS}}}href"):
        problems.append(
            FinvoiceProblem(
                "frame-manifest",
                "SOAP-ENV:Envelope/SOAP-ENV:Body/eb:Manifest/eb:Reference",
                'a Reference eb:id="Finvoice" with an xlink:href is required',
            )
        )
    info = FrameInfo(Parties(*ids), message_id) if len(ids) == len(ROLES) else None
    return info, problems
