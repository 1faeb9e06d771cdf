"""ISO 20022 camt.054 (BankToCustomerDebitCreditNotification), read as Finnish banks
deliver incoming reference payments.

Guide: Finance Finland (Finanssiala ry, formerly Finanssialan Keskusliitto), *ISO 20022
Transaction Reporting Guide* v1.3 / *ISO 20022 Tapahtumaraporttiopas* v1.3 (camt.054.001.02),
with the message definitions of ISO 20022 (camt.054.001.02 and .08, schemas vendored in
``schema/``). What is read, per transaction (``TxDtls``)::

    GrpHdr/MsgId                          -> file_id
    GrpHdr/CreDtTm                        -> created_at
    Ntfctn/Acct/Id/IBAN (or Othr/Id)      -> account (when every notification has the same)
    Ntry/CdtDbtInd CRDT                   -> a payment
    Ntry/CdtDbtInd DBIT + RvslInd true    -> a reversal (correction) of an incoming payment
    Ntry/Sts BOOK (.08: Sts/Cd BOOK)      -> only booked entries are accepted
    Ntry/BookgDt/Dt (or DtTm)             -> booking_date
    TxDtls/RltdDts/AccptncDtTm, else Ntry/ValDt, else BookgDt -> payment_date
      (a stamp with an offset is taken as its day in Europe/Helsinki)
    TxDtls/Refs/AcctSvcrRef (else Ntry/AcctSvcrRef for a one-transaction entry) -> archive_id
    TxDtls/AmtDtls/TxAmt/Amt (.08 also TxDtls/Amt; else Ntry/Amt for one transaction) -> amount
    TxDtls/RltdPties/Dbtr/Nm (.08: Dbtr/Pty/Nm) -> payer_name
    TxDtls/RmtInf/Strd/CdtrRefInf/Ref     -> reference (national or RF)

Sums checked where the file gives them: ``Ntfctn/TxsSummry`` (``TtlNtries``,
``TtlCdtNtries``, ``TtlDbtNtries``: number of entries and sum of their amounts; a net
amount with its direction), ``NtryDtls/Btch`` (``NbOfTxs``, ``TtlAmt``), and each entry's
amount against its transactions'.

Decisions (the guide describes this notification as carrying incoming payments and their
corrections only):

- A ``DBIT`` entry that is not a reversal is money going *out*: such a file is not an
  incoming reference-payment notification (a debit notification uploaded by mistake), and
  it is refused whole rather than read in part.
- A ``CRDT`` entry with ``RvslInd`` is, by ISO 20022's rule, the reversal of a *debit*:
  not a reference payment either, refused the same way.
- Entries not booked (``PDNG``, ``INFO``) are refused: only booked money is recorded.
- Only euro amounts; at most two decimals.
- camt.054 has no element naming the entry a reversal takes back, so
  ``reverses_archive_id`` is ``None``: the import finds the original by reference and
  amount.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from lxml import etree

from .camt054_xml import looks_like_xml, parse_document
from .common import check_amount, euros_fi, normalize_reference
from .model import BankFile, BankFileEntry, BankFileInvalid

HELSINKI = ZoneInfo("Europe/Helsinki")

__all__ = ["looks_like_xml", "parse"]


class _Doc:
    """Namespace-aware lookups in one document."""

    def __init__(self, root: etree._Element, version: str) -> None:
        self.ns = {"c": f"urn:iso:std:iso:20022:tech:xsd:camt.054.001.{version}"}
        self.version = version

    def all(self, node: etree._Element, path: str) -> list[etree._Element]:
        return node.findall(path, namespaces=self.ns)

    def one(self, node: etree._Element, path: str) -> etree._Element | None:
        return node.find(path, namespaces=self.ns)

    def text(self, node: etree._Element, path: str) -> str | None:
        element = self.one(node, path)
        if element is None or element.text is None:
            return None
        return element.text.strip()


def parse(data: bytes) -> BankFile:
    root, version = parse_document(data)
    doc = _Doc(root, version)
    header = doc.one(root, "c:BkToCstmrDbtCdtNtfctn/c:GrpHdr")
    assert header is not None  # the schema requires it
    accounts: set[str] = set()
    entries: list[BankFileEntry] = []
    for number, notification in enumerate(doc.all(root, "c:BkToCstmrDbtCdtNtfctn/c:Ntfctn"), start=1):
        base = f"/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[{number}]"
        account = doc.text(notification, "c:Acct/c:Id/c:IBAN") or doc.text(notification, "c:Acct/c:Id/c:Othr/c:Id")
        accounts.add(account or "")
        notification_entries = doc.all(notification, "c:Ntry")
        _check_summary(doc, notification, notification_entries, base)
        for index, entry in enumerate(notification_entries, start=1):
            entries.extend(_entry(doc, entry, f"{base}/Ntry[{index}]"))
    return BankFile(
        format="camt.054",
        file_id=doc.text(header, "c:MsgId") or "",
        created_at=_datetime(doc.text(header, "c:CreDtTm") or "", "/Document/BkToCstmrDbtCdtNtfctn/GrpHdr/CreDtTm"),
        account=(accounts.pop() or None) if len(accounts) == 1 else None,
        entries=tuple(entries),
    )


def _entry(doc: _Doc, entry: etree._Element, where: str) -> list[BankFileEntry]:
    direction = doc.text(entry, "c:CdtDbtInd")
    reversal = doc.text(entry, "c:RvslInd") in ("true", "1")
    if direction == "DBIT" and not reversal:
        raise BankFileInvalid(
            where,
            "Veloitustapahtuma (DBIT) ei ole saapuva viitemaksu: tiedosto ei ole saapuvien maksujen ilmoitus.",
            "A debit entry (DBIT) is not an incoming reference payment: this is not an incoming-payment notification.",
        )
    if direction == "CRDT" and reversal:
        raise BankFileInvalid(
            where,
            "Hyvitys, jossa on RvslInd, on veloituksen peruutus eikä viitemaksu.",
            "A credit entry with RvslInd is the reversal of a debit, not a reference payment.",
        )
    status = doc.text(entry, "c:Sts") if doc.version == "02" else doc.text(entry, "c:Sts/c:Cd")
    if status != "BOOK":
        raise BankFileInvalid(
            where + "/Sts",
            f"Tapahtuma ei ole kirjattu (tila {status}); vain kirjatut tapahtumat hyväksytään.",
            f"The entry is not booked (status {status}); only booked entries are accepted.",
        )
    booking = _date_choice(doc, entry, "c:BookgDt", where + "/BookgDt", required=True)
    assert booking is not None
    value_date = _date_choice(doc, entry, "c:ValDt", where + "/ValDt", required=False)
    entry_amount = _amount(doc, entry, "c:Amt", where + "/Amt")
    located = [
        (tx, f"{where}/NtryDtls[{d}]/TxDtls[{t}]", details)
        for d, details in enumerate(doc.all(entry, "c:NtryDtls"), start=1)
        for t, tx in enumerate(doc.all(details, "c:TxDtls"), start=1)
    ]
    if not located:
        raise BankFileInvalid(
            where,
            "Tapahtumalta puuttuvat maksun tiedot (NtryDtls/TxDtls).",
            "The entry has no transaction details (NtryDtls/TxDtls).",
        )
    parsed = [
        _transaction(
            doc,
            entry,
            tx,
            where=tx_where,
            booking=booking,
            value_date=value_date,
            only_amount=entry_amount if len(located) == 1 else None,
            reversal=reversal,
        )
        for tx, tx_where, _ in located
    ]
    for d, details in enumerate(doc.all(entry, "c:NtryDtls"), start=1):
        in_details = [p for p, (_, _, parent) in zip(parsed, located, strict=True) if parent is details]
        _check_batch(doc, details, in_details, f"{where}/NtryDtls[{d}]/Btch")
    total = sum((p.amount for p in parsed), Decimal(0))
    if total != entry_amount:
        raise BankFileInvalid(
            where + "/Amt",
            f"Tapahtuman summa {euros_fi(entry_amount)} ei täsmää sen maksujen summaan {euros_fi(total)}.",
            f"The entry's amount {entry_amount} does not match the sum of its transactions, {total}.",
        )
    return parsed


def _transaction(
    doc: _Doc,
    entry: etree._Element,
    tx: etree._Element,
    *,
    where: str,
    booking: date,
    value_date: date | None,
    only_amount: Decimal | None,
    reversal: bool,
) -> BankFileEntry:
    archive_id = doc.text(tx, "c:Refs/c:AcctSvcrRef")
    if not archive_id and only_amount is not None:
        archive_id = doc.text(entry, "c:AcctSvcrRef")
    if not archive_id:
        raise BankFileInvalid(
            where + "/Refs/AcctSvcrRef",
            "Maksun arkistointitunnus (AcctSvcrRef) puuttuu.",
            "The transaction's archive id (AcctSvcrRef) is missing.",
        )
    amount_path = "c:AmtDtls/c:TxAmt/c:Amt"
    if doc.one(tx, amount_path) is None and doc.version == "08" and doc.one(tx, "c:Amt") is not None:
        amount_path = "c:Amt"
    if doc.one(tx, amount_path) is not None:
        amount = _amount(doc, tx, amount_path, where + "/" + amount_path.replace("c:", ""))
    elif only_amount is not None:
        amount = only_amount
    else:
        raise BankFileInvalid(
            where + "/AmtDtls/TxAmt/Amt",
            "Maksun summa puuttuu.",
            "The transaction's amount is missing.",
        )
    check_amount(amount, where)
    reference_text = doc.text(tx, "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref")
    reference = normalize_reference(reference_text or "", where + "/RmtInf/Strd/CdtrRefInf/Ref")
    name_path = "c:RltdPties/c:Dbtr/c:Nm" if doc.version == "02" else "c:RltdPties/c:Dbtr/c:Pty/c:Nm"
    accepted = doc.text(tx, "c:RltdDts/c:AccptncDtTm")
    paid = _local_date(_datetime(accepted, where + "/RltdDts/AccptncDtTm")) if accepted else (value_date or booking)
    return BankFileEntry(
        archive_id=archive_id,
        reference=reference,
        amount=amount,
        booking_date=booking,
        payment_date=paid,
        payer_name=doc.text(tx, name_path) or None,
        reversal=reversal,
        reverses_archive_id=None,
        location=where,
    )


def _check_batch(doc: _Doc, details: etree._Element, parsed: list[BankFileEntry], where: str) -> None:
    batch = doc.one(details, "c:Btch")
    if batch is None:
        return
    count = doc.text(batch, "c:NbOfTxs")
    if count is not None and int(count) != len(parsed):
        raise BankFileInvalid(
            where + "/NbOfTxs",
            f"Erässä ilmoitettu maksujen määrä {int(count)} ei täsmää: maksuja on {len(parsed)}.",
            f"The batch says {int(count)} transactions; it has {len(parsed)}.",
        )
    if doc.one(batch, "c:TtlAmt") is not None:
        total = _amount(doc, batch, "c:TtlAmt", where + "/TtlAmt")
        actual = sum((p.amount for p in parsed), Decimal(0))
        if total != actual:
            raise BankFileInvalid(
                where + "/TtlAmt",
                f"Erän kokonaissumma {euros_fi(total)} ei täsmää maksujen summaan {euros_fi(actual)}.",
                f"The batch total {total} does not match the sum of its transactions, {actual}.",
            )


def _check_summary(doc: _Doc, notification: etree._Element, entries: list[etree._Element], where: str) -> None:
    summary = doc.one(notification, "c:TxsSummry")
    if summary is None:
        return
    base = f"{where}/TxsSummry"
    amounts = [
        (doc.text(e, "c:CdtDbtInd"), _amount(doc, e, "c:Amt", f"{where}/Ntry[{i}]/Amt"))
        for i, e in enumerate(entries, start=1)
    ]
    groups = {
        "TtlNtries": [amount for _, amount in amounts],
        "TtlCdtNtries": [amount for side, amount in amounts if side == "CRDT"],
        "TtlDbtNtries": [amount for side, amount in amounts if side == "DBIT"],
    }
    for name, group in groups.items():
        totals = doc.one(summary, f"c:{name}")
        if totals is None:
            continue
        count = doc.text(totals, "c:NbOfNtries")
        if count is not None and int(count) != len(group):
            raise BankFileInvalid(
                f"{base}/{name}/NbOfNtries",
                f"Yhteenvedon tapahtumamäärä {int(count)} ei täsmää: tapahtumia on {len(group)}.",
                f"The summary says {int(count)} entries; the notification has {len(group)}.",
            )
        stated = doc.text(totals, "c:Sum")
        if stated is not None and (said := _decimal(stated, f"{base}/{name}/Sum")) != sum(group, Decimal(0)):
            raise BankFileInvalid(
                f"{base}/{name}/Sum",
                f"Yhteenvedon summa {euros_fi(said)} ei täsmää tapahtumien summaan {euros_fi(sum(group, Decimal(0)))}.",
                f"The summary's sum {stated} does not match the entries' sum, {sum(group, Decimal(0))}.",
            )
    net = sum((a if side == "CRDT" else -a for side, a in amounts), Decimal(0))
    net_path = "c:TtlNtries/c:TtlNetNtryAmt" if doc.version == "02" else "c:TtlNtries/c:TtlNetNtry/c:Amt"
    side_path = "c:TtlNtries/c:CdtDbtInd" if doc.version == "02" else "c:TtlNtries/c:TtlNetNtry/c:CdtDbtInd"
    stated_net = doc.text(summary, net_path)
    if stated_net is not None:
        value = _decimal(stated_net, f"{base}/TtlNtries/{net_path.rsplit(':', 1)[1]}")
        if doc.text(summary, side_path) == "DBIT":
            value = -value
        if value != net:
            raise BankFileInvalid(
                f"{base}/TtlNtries",
                f"Yhteenvedon nettosumma ei täsmää tapahtumiin ({euros_fi(net)}).",
                f"The summary's net amount does not match the entries ({net}).",
            )


def _amount(doc: _Doc, node: etree._Element, path: str, where: str) -> Decimal:
    element = doc.one(node, path)
    if element is None or element.text is None:
        raise BankFileInvalid(where, "Summa puuttuu.", "The amount is missing.")
    currency = element.get("Ccy")
    if currency != "EUR":
        raise BankFileInvalid(
            where,
            f"Valuutta on {currency}; vain euro (EUR) on tuettu.",
            f"The currency is {currency}; only euro (EUR) is supported.",
        )
    return _decimal(element.text.strip(), where)


def _decimal(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BankFileInvalid(where, "Summa ei ole luku.", "The amount is not a number.") from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise BankFileInvalid(
            where,
            "Summassa on enemmän kuin kaksi desimaalia.",
            "The amount has more than two decimals.",
        )
    return value.quantize(Decimal("0.01"))


def _date_choice(doc: _Doc, node: etree._Element, path: str, where: str, *, required: bool) -> date | None:
    day = doc.text(node, f"{path}/c:Dt")
    if day:
        return _datetime(day, where + "/Dt").date()
    stamp = doc.text(node, f"{path}/c:DtTm")
    if stamp:
        return _local_date(_datetime(stamp, where + "/DtTm"))
    if required:
        raise BankFileInvalid(where, "Kirjauspäivä puuttuu.", "The booking date is missing.")
    return None


def _local_date(stamp: datetime) -> date:
    """The day in Finland of a stamp with an offset (``2026-12-04T23:30:00Z`` is the 5th
    in Helsinki); a stamp without one is read as local time already."""
    return stamp.astimezone(HELSINKI).date() if stamp.tzinfo is not None else stamp.date()


def _datetime(text: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BankFileInvalid(where, "Päivämäärä ei ole kelvollinen.", "The date is not valid.") from None
