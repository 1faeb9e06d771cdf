"""Importing the bank's payment files (camt.054, viitesiirto): a preview that only reads,
and the import itself, in one transaction.

- The file is parsed whole first (:func:`parse_bank_file`); anything wrong refuses it
  with :class:`BankFileInvalid` (the line or element) and nothing is recorded.
- Each entry becomes one ``bank.reference-payments.v1`` event (a payment or a reversal,
  ``payment_id`` = the bank's archive id, ``R:`` + it for a reversal; key = the
  canonical reference, :func:`reference_key`): the same path as a payment from any
  other source, so matching, idempotence and reversals are the consumer's
  (:mod:`services.invoicing.handlers.payments`), not repeated here.
- An entry's identity is its archive id and its kind (a correction may reuse its
  payment's archive id; its event then names that payment in ``reverses_payment_id``).
- The same file twice (by sha256): "already imported", nothing recorded. An entry an
  earlier file (or an earlier payment event) brought: "repeated", kept with the file
  but not published again.

Resources: at most :data:`MAX_AT_ONCE` files are parsed and imported at once per
process (another waits up to :data:`BUSY_WAIT_S`, then ``bank-file-busy``, 503); the
parse and the events' encoding run in a worker thread, not on the event loop. Entries go
into the database sorted (no deadlock between overlapping imports); a deadlock or
serialization failure all the same answers ``bank-file-busy`` (try again), never a 500.

Payer names are personal data: they go into the events and the preview, never a log.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal

from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

from services.invoicing.bank_files import BankFile, BankFileEntry, BankFileInvalid, parse_bank_file
from services.invoicing.domain.payments import normalise_reference
from services.invoicing.handlers.errors import Busy, Conflict, NotFound
from services.invoicing.handlers.payments import UNMATCHED_REASONS, same_reference
from services.invoicing.store.bank_files import NewEntry, StoredEntry, StoredFile, event_payment_id
from services.invoicing.store.payments import REVERSIBLE
from services.invoicing.uow import InvoicingUnitOfWork
from shared.db.errors import sqlstate
from shared.events import topics
from shared.events.bank import ReferencePaymentReceived, ReferencePaymentReversed
from shared.events.envelope import encode_data
from shared.money import ZERO

MAX_FILE_NAME = 200
MAX_AT_ONCE = 2
"""Files parsed and imported at once in one process (each may take a few seconds of CPU
and, for XML, tens of MiB)."""
BUSY_WAIT_S = 10.0
"""How long an upload waits for a slot before ``bank-file-busy``."""
RETRY_CODES = frozenset({"40P01", "40001"})
"""Deadlock detected, serialization failure: nothing recorded, try again."""

_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def busy() -> Busy:
    return Busy(
        "bank-file-busy",
        "Pankkitiedostoja käsitellään juuri: yritä hetken kuluttua uudelleen.",
        "Bank files are being processed right now: try again in a moment.",
    )


@asynccontextmanager
async def slot() -> AsyncIterator[None]:
    """One of :data:`MAX_AT_ONCE` places (per event loop: one per process); Busy when
    none frees within :data:`BUSY_WAIT_S`."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(MAX_AT_ONCE)
    try:
        await asyncio.wait_for(gate.acquire(), BUSY_WAIT_S)
    except TimeoutError:
        raise busy() from None
    try:
        yield
    finally:
        gate.release()


@dataclass(frozen=True)
class Invoice:
    """What the preview needs to know of the invoice a reference points to."""

    number: int | None
    document_type: str


@dataclass(frozen=True)
class PreviewEntry:
    entry: BankFileEntry
    outcome: str
    """``matched`` | ``unmatched`` | ``repeated`` | ``reversal``."""
    invoice_number: int | None
    reason: str | None


@dataclass(frozen=True)
class Preview:
    file: BankFile
    file_name: str
    sha256: str
    already_imported_as: int | None
    entries: tuple[PreviewEntry, ...]

    @property
    def count(self) -> int:
        return sum(1 for e in self.file.entries if not e.reversal)

    @property
    def amount(self) -> Decimal:
        return sum((e.amount for e in self.file.entries if not e.reversal), ZERO)

    @property
    def reversals(self) -> int:
        return sum(1 for e in self.file.entries if e.reversal)

    @property
    def reversal_amount(self) -> Decimal:
        return sum((e.amount for e in self.file.entries if e.reversal), ZERO)


@dataclass(frozen=True)
class Imported:
    id: int
    preview: Preview
    recorded: int
    repeated: int
    already_imported: bool


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def clean_file_name(name: str | None) -> str:
    """The upload's own name without any directory part, printable, at most 200 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    printable = "".join(ch for ch in base if ch.isprintable()).strip()
    return printable[:MAX_FILE_NAME] or "bank-file"


def kind_of(entry: BankFileEntry) -> str:
    return "reversal" if entry.reversal else "payment"


def identity(entry: BankFileEntry) -> tuple[str, str]:
    """What makes an entry itself: its archive id and kind."""
    return entry.archive_id, kind_of(entry)


def reference_key(reference: str) -> str:
    """The Kafka key of both events: the canonical reference, so a payment and its
    reversal share a partition whichever form the bank wrote (``RF29 2026 1007`` and
    ``20261007`` -> ``20261007``; an RF reference whose body is not a national one keys
    by its compact RF form)."""
    return normalise_reference(reference) or reference.replace(" ", "").upper()


def event_of(
    entry: BankFileEntry, *, same_id_payment: bool = False
) -> ReferencePaymentReceived | ReferencePaymentReversed:
    """The entry as the event the import publishes; an entry our contract cannot carry
    (an archive id or a reference it refuses, an amount over the limit) refuses the file
    like any other malformed entry, at the entry's location. ``same_id_payment``: a
    payment with the reversal's own archive id is known (in this file or an earlier
    one), so the reversal names it."""
    try:
        if entry.reversal:
            named = entry.reverses_archive_id or (entry.archive_id if same_id_payment else None)
            return ReferencePaymentReversed(
                payment_id=event_payment_id(entry.archive_id, "reversal"),
                reverses_payment_id=named,
                reference=entry.reference,
                amount=entry.amount,
                payment_date=entry.payment_date,
            )
        return ReferencePaymentReceived(
            payment_id=entry.archive_id,
            reference=entry.reference,
            amount=entry.amount,
            payment_date=entry.payment_date,
            payer_name=entry.payer_name,
        )
    except ValidationError as exc:
        fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
        raise BankFileInvalid(
            entry.location,
            f"Tapahtumaa ei voi välittää maksuna (kenttä: {fields}).",
            f"The entry cannot be passed on as a payment (field: {fields}).",
        ) from None


def decide(entry: BankFileEntry, *, repeated: bool, invoice: Invoice | None) -> tuple[str, str | None]:
    """How an entry would be taken (pure): ``(outcome, reason)``, the same decision the
    payments consumer makes (:func:`services.invoicing.handlers.payments.take_payments`)."""
    if repeated:
        return "repeated", None
    if entry.reversal:
        return "reversal", None
    if normalise_reference(entry.reference) is None:
        return "unmatched", "reference-invalid"
    if invoice is None:
        return "unmatched", "reference-unknown"
    if invoice.document_type == "credit-note":
        return "unmatched", "not-payable"
    return "matched", None


def parse(data: bytes) -> BankFile:
    """The file parsed, and every entry checked against the event contract."""
    bank_file = parse_bank_file(data)
    for entry in bank_file.entries:
        event_of(entry)
    return bank_file


async def _preview(uow: InvoicingUnitOfWork, bank_file: BankFile, sha256: str, file_name: str) -> Preview:
    already = await uow.bank_files.id_of(sha256)
    brought = await uow.bank_files.brought([identity(e) for e in bank_file.entries])
    references = [normalise_reference(e.reference) for e in bank_file.entries]
    found = await uow.bank_files.invoices_by_reference([r for r in references if r is not None])
    entries = []
    seen: set[tuple[str, str]] = set()
    for entry, reference in zip(bank_file.entries, references, strict=True):
        invoice = Invoice(*found[reference]) if reference is not None and reference in found else None
        repeated = identity(entry) in brought or identity(entry) in seen
        seen.add(identity(entry))
        outcome, reason = decide(entry, repeated=repeated, invoice=invoice)
        if outcome == "reversal" and not await _original_known(uow, entry, bank_file.entries):
            outcome, reason = "unmatched", "reversal-unknown"
        number = invoice.number if invoice is not None and outcome in ("matched", "reversal") else None
        entries.append(PreviewEntry(entry, outcome, number, reason))
    return Preview(bank_file, file_name, sha256, already, tuple(entries))


async def _original_known(uow: InvoicingUnitOfWork, r: BankFileEntry, entries: Sequence[BankFileEntry]) -> bool:
    """Would the consumer find the payment ``r`` takes back, now (in this file or
    recorded)? As :func:`services.invoicing.handlers.payments._original` looks, without
    locking: the payment the file names (or with the reversal's own archive id), else one
    of the same amount and normalised reference. The preview shows a reversal it would
    not find as ``unmatched`` / ``reversal-unknown`` (it waits for its payment)."""
    named = r.reverses_archive_id
    for e in entries:
        if e.reversal or e.amount != r.amount:
            continue
        if e.archive_id == (named or r.archive_id) or (named is None and same_reference(e.reference, r.reference)):
            return True
    for payment_id in (named,) if named else (r.archive_id,):
        p = await uow.payments.get(payment_id)
        if p is not None and p.kind == "payment" and p.status in REVERSIBLE and p.amount == r.amount:
            return True
    if named:
        return False
    reference = normalise_reference(r.reference)
    invoice = await uow.invoices.by_reference(reference, lock=False) if reference else None
    invoice_id = invoice.id if invoice is not None else None
    return any(
        (invoice_id is not None and c.invoice_id == invoice_id) or same_reference(c.reference, r.reference)
        for c in await uow.payments.reversible(invoice_id=invoice_id, amount=r.amount)
    )


async def parse_off_loop(data: bytes) -> BankFile:
    """:func:`parse` in a worker thread: a large file takes seconds to read and check,
    and the service's consumers and API keep running meanwhile."""
    return await asyncio.to_thread(parse, data)


async def preview(uow: InvoicingUnitOfWork, data: bytes, file_name: str | None) -> Preview:
    """What importing the file would record (reads only). Raises BankFileInvalid, or
    Busy when too many files are being read."""
    async with slot():
        bank_file = await parse_off_loop(data)
        async with uow:
            return await _preview(uow, bank_file, sha256_of(data), clean_file_name(file_name))


async def import_file(
    uow: InvoicingUnitOfWork, data: bytes, file_name: str | None, *, actor: str, expected_sha256: str | None = None
) -> Imported:
    """Record the file, its new entries and one event per new entry, in one transaction.
    Raises BankFileInvalid (nothing recorded) or Conflict ``bank-file-changed`` when the
    upload is not the file the clerk previewed."""
    sha256 = sha256_of(data)
    if expected_sha256 is not None and expected_sha256.strip().lower() != sha256:
        raise Conflict(
            "bank-file-changed",
            "Tiedosto ei ole sama, jonka esikatselit: esikatsele se uudelleen.",
            "The file is not the one you previewed: preview it again.",
        )
    async with slot():
        try:
            return await _import(uow, data, sha256, file_name, actor)
        except sa_exc.DBAPIError as exc:
            if sqlstate(exc) in RETRY_CODES:
                raise busy() from None
            raise


async def _import(uow: InvoicingUnitOfWork, data: bytes, sha256: str, file_name: str | None, actor: str) -> Imported:
    bank_file = await parse_off_loop(data)
    async with uow:
        p = await _preview(uow, bank_file, sha256, clean_file_name(file_name))
        file_id = await uow.bank_files.add_file(
            {
                "sha256": sha256,
                "format": bank_file.format,
                "file_id": bank_file.file_id,
                "file_name": p.file_name,
                "imported_by": actor,
                "count": p.count,
                "amount": p.amount,
                "reversals": p.reversals,
                "reversal_amount": p.reversal_amount,
                "recorded": 0,
                "repeated": 0,
            }
        )
        if file_id is None:  # imported already (perhaps a moment ago, by someone else)
            earlier = await uow.bank_files.id_of(sha256)
            assert earlier is not None
            return Imported(earlier, p, 0, 0, already_imported=True)
        new = await uow.bank_files.add_entries(
            file_id,
            _new_entries(bank_file.entries),
            known={identity(e.entry) for e in p.entries if e.outcome == "repeated"},
        )
        payments = {e.archive_id for e in bank_file.entries if not e.reversal}
        named = [(e.archive_id, "payment") for e in bank_file.entries if e.reversal]
        payments |= {a for a, _ in await uow.bank_files.brought(named)}
        events = await asyncio.to_thread(_encoded, [e for e in bank_file.entries if identity(e) in new], payments)
        for event, key, value in events:
            uow.outbox.add(topics.REFERENCE_PAYMENTS.name, event, key=key, encoded=value)
        recorded = len(events)
        repeated = len(bank_file.entries) - recorded
        await uow.bank_files.set_counts(file_id, recorded=recorded, repeated=repeated)
        await uow.commit()
    return Imported(file_id, p, recorded, repeated, already_imported=False)


def _encoded(
    entries: Sequence[BankFileEntry], payments: set[str]
) -> list[tuple[ReferencePaymentReceived | ReferencePaymentReversed, str, bytes]]:
    """Each new entry's event, key and encoded value (in a worker thread: thousands of
    entries take seconds of CPU)."""
    out = []
    for entry in entries:
        event = event_of(entry, same_id_payment=entry.archive_id in payments)
        out.append((event, reference_key(entry.reference), encode_data(event)))
    return out


def _new_entries(entries: Sequence[BankFileEntry]) -> list[NewEntry]:
    return [
        NewEntry(
            seq=i,
            archive_id=e.archive_id,
            kind=kind_of(e),
            reference=e.reference,
            amount=e.amount,
            payment_date=e.payment_date,
            reverses_archive_id=e.reverses_archive_id,
            location=e.location,
        )
        for i, e in enumerate(entries, start=1)
    ]


async def files(uow: InvoicingUnitOfWork, *, limit: int, offset: int) -> tuple[int, list[StoredFile]]:
    async with uow:
        return await uow.bank_files.page(limit=limit, offset=offset)


async def file(uow: InvoicingUnitOfWork, file_id: int) -> tuple[StoredFile, list[StoredEntry]]:
    async with uow:
        found = await uow.bank_files.get(file_id)
    if found is None:
        raise NotFound("bank-file-not-found", f"Pankkitiedostoa {file_id} ei löydy.", f"Bank file {file_id} not found.")
    return found


def reason_texts(reason: str | None) -> tuple[str | None, str | None]:
    return UNMATCHED_REASONS.get(reason or "", (None, None))
