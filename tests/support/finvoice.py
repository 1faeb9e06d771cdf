"""Reading Finvoice files in tests, without the code under test.

A file is the SOAP frame followed by the Finvoice document (its own ``<?xml …?>``);
:func:`parts` parses both halves with plain lxml so a test sees what a receiver sees.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from services.dispatch.finvoice import TransmissionFrame

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
EB = "http://www.oasis-open.org/committees/ebxml-msg/schema/msg-header-2_0.xsd"
XLINK = "http://www.w3.org/1999/xlink"
NS = {"s": SOAP, "eb": EB}

SELLER_OVT = "003707375462"
SELLER_OPERATOR = "003721291126"


def frame(message_id: str = "inv-1000000001") -> TransmissionFrame:
    return TransmissionFrame(
        sender_address=SELLER_OVT,
        sender_intermediator=SELLER_OPERATOR,
        message_id=message_id,
        timestamp=datetime(2026, 11, 2, 8, 30, tzinfo=UTC),
    )


def parts(xml: bytes) -> tuple[etree._Element, etree._Element]:
    """(SOAP envelope, Finvoice root) of a built file."""
    start = xml.index(b"<?xml")
    return etree.fromstring(xml[:start]), etree.fromstring(xml[start:])


def finvoice(xml: bytes) -> etree._Element:
    return parts(xml)[1]


def texts(root: etree._Element, path: str) -> list[str]:
    return [e.text or "" for e in root.findall(path)]


def one(root: etree._Element, path: str) -> str:
    found = root.findall(path)
    assert len(found) == 1, f"{path}: {len(found)} elements"
    return found[0].text or ""
