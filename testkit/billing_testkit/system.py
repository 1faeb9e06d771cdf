"""``BillingSystem``: the billing back-office running from its images, seen from outside.

What an integrating project needs, and nothing of our internals: publish our inbound
events exactly per the contract (:mod:`billing_testkit.contract`), wait for what we do
with them (our outbound events, our HTTP APIs), read the mails and files we send, and
drive the clerk's steps (:class:`billing_testkit.clerk.Clerk`)::

    with BillingSystem.start() as billing:
        billing.publish(contract.customer_upsert("C-1", card))
        billing.publish(contract.billing_request("R-1", customer_number="C-1", ...))
        billing.wait_request("R-1", "ready")
        billing.clerk.confirm("subscription", ["R-1"])
        invoice = billing.wait_invoice(request_id="R-1")
        mail = billing.wait_mail(to="laskut@example.fi")

Every wait has a timeout; its :class:`WaitTimeout` says what was awaited and what was seen.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from billing_testkit import contract as c
from billing_testkit.clerk import Clerk
from billing_testkit.containers import ContainerSystem, Images
from billing_testkit.credentials import CLERK
from billing_testkit.kafka import OutboundLog, Received, publish

T = TypeVar("T")
DEFAULT_TIMEOUT_S = 60.0


class WaitTimeout(AssertionError):
    """Nothing awaited came in time: the message says what was awaited and what was seen."""


@dataclass(frozen=True)
class Invoice:
    """An issued invoice, from its ``invoice-issued`` event."""

    number: int
    reference: str
    """National reference, digits only."""
    reference_rf: str
    invoice_id: str
    customer_number: str
    gross: str
    due_date: str
    request_ids: tuple[str, ...]
    """The billing requests it bills, each once, in line order."""
    document: Mapping[str, Any]
    """The whole invoice document of the event."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


def attachments(mail: EmailMessage) -> list[Attachment]:
    """A mail's attachments (the invoice PDF …)."""
    out = []
    for part in mail.iter_attachments():
        payload = part.get_payload(decode=True)
        content = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
        out.append(Attachment(part.get_filename() or "", part.get_content_type(), content))
    return out


def xml_text(raw: bytes) -> str:
    """An XML file's text in the encoding its declaration names (Finvoice: ISO-8859-15)."""
    m = re.match(rb'<\?xml[^>]*encoding="([A-Za-z0-9._-]+)"', raw)
    return raw.decode(m.group(1).decode() if m else "utf-8", errors="replace")


def _brief(items: Sequence[Any], n: int = 8) -> str:
    shown = [str(x) for x in items[-n:]]
    more = f" (and {len(items) - n} earlier)" if len(items) > n else ""
    return ("; ".join(shown) or "nothing") + more


class BillingSystem:
    """The running system. Start it with :meth:`start` (or use the pytest fixture
    ``billing_system``); leave the ``with`` block (or :meth:`close`) to remove it."""

    def __init__(self, backend: ContainerSystem) -> None:
        self.backend = backend
        self.clerk = Clerk(backend.url, backend.token(CLERK), actor=CLERK)
        outbound = {
            t.topic for t in c.contract().types.values() if not t.inbound and not t.topic.startswith("dispatch.jobs.")
        }
        self.outbound = OutboundLog(backend.kafka_bootstrap, sorted(outbound))

    @classmethod
    def start(
        cls,
        images: Images | None = None,
        *,
        processes: Sequence[str] | None = None,
        settings: Mapping[str, str] | None = None,
        auto_send: Iterable[str] = ("email", "einvoice", "print"),
        start_timeout_s: float = 300.0,
    ) -> BillingSystem:
        """Start everything (Kafka, PostgreSQL, the mail sink, our services, workers and
        console) from the images and wait until each is ready. ``settings``: extra
        environment for our processes by prefix (``REMINDERS_TODAY=2026-03-01`` …);
        ``auto_send``: channels whose documents leave as soon as they are made (else
        the clerk sends them: ``clerk.send``)."""
        backend = ContainerSystem(
            images, processes=processes, settings=settings, auto_send=auto_send, start_timeout_s=start_timeout_s
        ).start()
        try:
            return cls(backend)
        except BaseException:
            backend.close()
            raise

    def __enter__(self) -> BillingSystem:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.clerk.close()
        self.outbound.close()
        self.backend.close()

    # --- where things are ----------------------------------------------------------------
    @property
    def kafka_bootstrap(self) -> str:
        """Kafka from the host (for your own producers and consumers)."""
        return self.backend.kafka_bootstrap

    def token(self, caller: str) -> str:
        """A caller's own token (:data:`billing_testkit.credentials.PLAN`): call our APIs
        as your system with ``Authorization: Bearer <token("crm")>``; ``testkit-clerk``
        (the clerk's scopes), ``ops`` (every operation), ``prometheus`` (``metrics``)."""
        return self.backend.token(caller)

    def url(self, process: str) -> str:
        """A process's HTTP base URL from the host (``invoicing``, ``console`` …)."""
        return self.backend.url(process)

    def logs(self, process: str) -> str:
        """The end of a process's log (for a failing test's report)."""
        return self.backend.logs(process)

    # --- in: our inbound topics -------------------------------------------------------------
    def publish(self, *events: c.Event) -> None:
        """Publish events (built by :mod:`billing_testkit.contract`, checked again here)."""
        publish(self.kafka_bootstrap, [e.checked() for e in events])

    def upsert_customer(self, customer_number: str, **card: Any) -> c.Event:
        """Publish a CRM upsert of a card (:func:`contract.customer_card`'s fields)."""
        e = c.customer_upsert(customer_number, c.customer_card(**card))
        self.publish(e)
        return e

    def request_billing(self, request_id: str, **fields: Any) -> c.Event:
        e = c.billing_request(request_id, **fields)
        self.publish(e)
        return e

    def cancel_order(self, order_id: str, **fields: Any) -> c.Event:
        e = c.cancellation(order_id, **fields)
        self.publish(e)
        return e

    def pay(self, payment_id: str, **fields: Any) -> c.Event:
        e = c.bank_payment(payment_id, **fields)
        self.publish(e)
        return e

    # --- out: our outbound events -----------------------------------------------------------
    def events(self, *types: str) -> list[Received]:
        """Our outbound events read so far (all, or of ``types``)."""
        return self.outbound.records(*types)

    def wait_event(
        self, what: str, match: Callable[[Received], bool], *types: str, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> Received:
        """The first outbound event (of ``types``) that ``match`` accepts."""

        def find(records: list[Received]) -> Received | None:
            return next((r for r in records if (not types or r.type in types) and match(r)), None)

        found: Received | None = self.outbound.wait(find, timeout_s)
        if found is None:
            seen = self.events(*types)
            error = f"; reader error: {self.outbound.error}" if self.outbound.error else ""
            raise WaitTimeout(f"waited {timeout_s:.0f} s for {what}; saw {len(seen)} event(s): {_brief(seen)}{error}")
        return found

    def wait_profile(
        self, customer_number: str, *, version: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> Mapping[str, Any]:
        """The customer's billing profile once published (``valid``, ``errors`` with
        codes and Finnish/English messages): whether we can bill and send to them."""

        def match(r: Received) -> bool:
            return r.data.get("customer_number") == customer_number and (
                version is None or r.data.get("version", 0) >= version
            )

        what = f"the billing profile of customer {customer_number}" + (f" (version {version}+)" if version else "")
        profile: Mapping[str, Any] = self.wait_event(what, match, c.BILLING_PROFILE, timeout_s=timeout_s).data
        return profile

    def wait_invoice(
        self,
        *,
        request_id: str | None = None,
        customer_number: str | None = None,
        order_id: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> Invoice:
        """The ``invoice-issued`` event of an invoice billing ``request_id`` (or the
        customer's, or the order's): its number and reference."""

        def match(r: Received) -> bool:
            doc = r.data["invoice"]
            lines = doc.get("lines", [])
            return (
                (request_id is None or any(x.get("request_id") == request_id for x in lines))
                and (order_id is None or any(x.get("order_id") == order_id for x in lines))
                and (customer_number is None or doc["customer"]["customer_number"] == customer_number)
            )

        what = f"an invoice issued (request {request_id}, customer {customer_number}, order {order_id})"
        doc = self.wait_event(what, match, c.INVOICE_ISSUED, timeout_s=timeout_s).data["invoice"]
        return Invoice(
            number=int(doc["invoice_number"]),
            reference=doc["reference"],
            reference_rf=doc["reference_rf"],
            invoice_id=str(doc["invoice_id"]),
            customer_number=doc["customer"]["customer_number"],
            gross=str(doc["totals"]["gross"]),
            due_date=doc["due_date"],
            request_ids=tuple(dict.fromkeys(x["request_id"] for x in doc["lines"] if x.get("request_id"))),
            document=doc,
        )

    def wait_reminder(
        self, invoice_number: int, level: int = 1, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> Mapping[str, Any]:
        """The ``reminder-issued`` event's reminder document for an invoice and level."""

        def match(r: Received) -> bool:
            rem = r.data["reminder"]
            return int(rem["invoice_number"]) == invoice_number and rem["level"] == level

        what = f"reminder #{level} of invoice {invoice_number}"
        reminder: Mapping[str, Any] = self.wait_event(what, match, c.REMINDER_ISSUED, timeout_s=timeout_s).data[
            "reminder"
        ]
        return reminder

    def wait_delivery(
        self, source_id: str, channel: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> Received:
        """The ``document-delivered`` event of an invoice's (or reminder's) document;
        a ``delivery-failed`` one marked final fails the wait at once with its reason."""

        def match(r: Received) -> bool:
            return r.data.get("source_id") == source_id and (channel is None or r.data.get("channel") == channel)

        def find(records: list[Received]) -> Received | None:
            for r in records:
                if r.type == c.DELIVERY_FAILED and match(r) and r.data.get("final"):
                    return r
                if r.type == c.DOCUMENT_DELIVERED and match(r):
                    return r
            return None

        found: Received | None = self.outbound.wait(find, timeout_s)
        what = f"delivery of document {source_id} ({channel or 'any channel'})"
        if found is None:
            seen = self.events(c.DOCUMENT_DELIVERED, c.DELIVERY_FAILED)
            raise WaitTimeout(f"waited {timeout_s:.0f} s for {what}; saw {len(seen)} event(s): {_brief(seen)}")
        if found.type == c.DELIVERY_FAILED:
            raise AssertionError(f"{what} failed for good: {found.data.get('code')}: {found.data.get('reason')}")
        return found

    # --- through the API: a request's state ---------------------------------------------
    def wait_request(self, request_id: str, *states: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
        """A billing request once it is in one of ``states`` (``ready``, ``error``,
        ``refused``, ``cancelled``, ``invoiced`` …): the clerk's row with ``reasons``."""
        wanted = states or ("ready",)
        row = self._poll(
            f"billing request {request_id} in state {'/'.join(wanted)}",
            lambda: self.clerk.request(request_id),
            lambda row: row is not None and row["state"] in wanted,
            lambda row: "not known yet" if row is None else f"state {row['state']}, reasons {row['reasons']}",
            timeout_s,
        )
        assert row is not None
        return row

    def wait_reminder_candidate(
        self, invoice_number: int, level: int = 1, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, Any]:
        """The invoice's row among the candidates for reminder #level, once the reminders
        service has it (it reads invoices from our topic, a moment after they are issued)."""

        def row() -> dict[str, Any] | None:
            items = self.clerk.reminder_candidates(level, limit=10_000)["items"]
            return next((r for r in items if int(r["invoice_number"]) == invoice_number), None)

        found = self._poll(
            f"invoice {invoice_number} among the candidates for reminder #{level}",
            row,
            lambda r: r is not None,
            lambda r: "not listed",
            timeout_s,
        )
        assert found is not None
        return found

    def _poll(
        self,
        what: str,
        get: Callable[[], T],
        done: Callable[[T], bool],
        show: Callable[[T], str],
        timeout_s: float,
    ) -> T:
        deadline = time.monotonic() + timeout_s
        while True:
            value = get()
            if done(value):
                return value
            if time.monotonic() > deadline:
                raise WaitTimeout(f"waited {timeout_s:.0f} s for {what}; last seen: {show(value)}")
            time.sleep(0.3)

    # --- what we sent: mails and files ---------------------------------------------------
    def mails(self) -> list[EmailMessage]:
        """Every mail our e-mail worker sent (the SMTP sink's), oldest first."""
        files = sorted(self.backend.mail_folder.glob("*.eml"), key=lambda p: (len(p.stem), p.stem))
        parser = BytesParser(policy=policy.default)
        out = []
        for path in files:
            msg = parser.parsebytes(path.read_bytes())
            assert isinstance(msg, EmailMessage)
            out.append(msg)
        return out

    def wait_mail(
        self, *, to: str | None = None, subject: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> EmailMessage:
        """The first mail to ``to`` (and whose subject contains ``subject``)."""

        def match(m: EmailMessage) -> bool:
            return (to is None or to.lower() in str(m.get("To", "")).lower()) and (
                subject is None or subject in str(m.get("Subject", ""))
            )

        mails = self._poll(
            f"a mail (to {to}, subject containing {subject!r})",
            self.mails,
            lambda ms: any(match(m) for m in ms),
            lambda ms: f"{len(ms)} mail(s): " + _brief([f"to {m.get('To')}: {m.get('Subject')}" for m in ms]),
            timeout_s,
        )
        return next(m for m in mails if match(m))

    def einvoices(self) -> list[Path]:
        """The Finvoice files in the e-invoice operator's drop folder."""
        return sorted(self.backend.einvoice_folder.glob("*.xml"))

    def print_files(self) -> list[Path]:
        """The print house's folder: each send's batch (``.pdf``, ``.json``, ``.csv``)."""
        return sorted(p for p in self.backend.print_folder.iterdir() if p.is_file() and not p.name.startswith("."))

    def wait_einvoice(self, invoice_number: int, timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
        """The Finvoice XML (text) of an invoice, once it is in the drop folder."""
        needle = f"<InvoiceNumber>{invoice_number}</InvoiceNumber>"

        def texts() -> list[str]:
            return [xml_text(p.read_bytes()) for p in self.einvoices()]

        found = self._poll(
            f"a Finvoice file of invoice {invoice_number}",
            texts,
            lambda ts: any(needle in t for t in ts),
            lambda ts: f"{len(ts)} file(s): {_brief([p.name for p in self.einvoices()])}",
            timeout_s,
        )
        return next(t for t in found if needle in t)
