"""The Finnish reference-payment record file (*viitesiirtoaineisto*, "KTL"), read.

Specification: Finance Finland (Finanssiala ry, formerly Finanssialan Keskusliitto),
*Incoming reference payments, service description* v2.1 / *Saapuvat viitemaksut,
palvelukuvaus* v2.1 (finanssiala.fi, 2021), chapter "Record descriptions". Every record
is 90 characters; positions below are 1-based and inclusive, as the specification's
field tables give them.

Batch record (*eräotsikkotietue*), record code ``0``::

    1      record code "0"
    2-7    creation date YYMMDD            (kirjoituspäivä)
    8-11   creation time HHMM              (kirjoitusaika)
    12-13  bank (routing) code             (rahalaitostunnus)
    14-22  biller's service id             (laskuttajan palvelutunnus)
    23     currency code, "1" = euro       (rahayksikön koodi)
    24-90  reserved

Reference payment record (*viitetapahtumatietue*), record code ``3`` (reference
payment) or ``5`` (direct debit, *suoraveloitus*; the service ended in 2014 but the
record stays in the description)::

    1      record code "3" or "5"
    2-15   creditor's account, 14-digit machine format (tilinumero)
    16-21  booking date YYMMDD             (kirjauspäivä)
    22-27  payment date YYMMDD             (maksupäivä)
    28-43  archive id                      (arkistointitunnus)
    44-63  reference, right-aligned, leading zeros (viite)
    64-75  payer's name abbreviation       (maksajan nimilyhenne)
    76     currency code, "1" = euro       (rahayksikön koodi)
    77     name source: A, J, K or blank   (nimen lähde)
    78-87  amount in cents                 (rahamäärä)
    88     correction code: "0" payment, "1" correction (oikaisutunnus)
    89     mediation: A, K or J            (välitystapa)
    90     feedback code (direct debits: blank or "0" = collected, 1-9 = not) (palautekoodi)

Sum record (*summatietue*), record code ``9``::

    1      record code "9"
    2-7    number of reference payments    (viitetapahtumien kappalemäärä)
    8-18   their amount in cents           (viitetapahtumien rahamäärä)
    19-24  number of corrections           (viiteoikaisujen kappalemäärä)
    25-35  their amount in cents           (viiteoikaisujen rahamäärä)
    36-41  number of failed direct debits  (epäonnistuneiden suoraveloitusten kpl)
    42-52  their amount in cents
    53-90  reserved

A file holds one or more batches: a batch record, its payment records, its sum record.

A correction (correction code ``1``) takes back an earlier payment to the same
reference: it is an entry with ``reversal=True`` and its own archive id. The record has
no field for the original's archive id, so ``reverses_archive_id`` is always ``None``;
the import finds the original by reference and amount.

Characters: the specification's character set is ISO 8859-1; older files write the
Scandinavian letters in the 7-bit national form of SFS 4017 / ISO 646-FI
(``[ \\ ] { | }`` for Ä Ö Å ä ö å), which is translated in the name field, where those
brackets cannot otherwise occur. A file that is valid UTF-8 (saved again by an editor)
is read as UTF-8, positions counted in characters. Lines end in CRLF or LF; empty lines
and a DOS end-of-file mark (Ctrl-Z) after the last record are tolerated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from .common import check_amount, euros_fi, iban_from_finnish_bban, normalize_reference
from .model import BankFile, BankFileEntry, BankFileInvalid

RECORD_LENGTH = 90
_SFS_4017 = str.maketrans({"[": "Ä", "\\": "Ö", "]": "Å", "{": "ä", "|": "ö", "}": "å"})


def looks_like_viitesiirto(data: bytes) -> bool:
    """The first record is a batch record: ``0`` and a creation date and time in digits."""
    head = data.lstrip(b"\xef\xbb\xbf")[:11]
    return len(head) == 11 and head[:1] == b"0" and head.isdigit()


def decode(data: bytes) -> str:
    text_bytes = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return text_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return text_bytes.decode("iso-8859-1")


def records(text: str) -> Iterator[tuple[int, str]]:
    """(line number, record) for every record; blank lines (and Ctrl-Z) only after the last."""
    lines = text.split("\n")
    while lines and not lines[-1].strip(" \r\x1a"):
        lines.pop()
    for number, line in enumerate(lines, start=1):
        yield number, line.removesuffix("\r")


@dataclass
class _Batch:
    line: int
    created_at: datetime
    bank_code: str
    service_id: str
    payments: int = 0
    payment_cents: int = 0
    corrections: int = 0
    correction_cents: int = 0
    failed: int = 0
    failed_cents: int = 0


def parse(data: bytes) -> BankFile:
    """Every record checked; the first fault refuses the whole file."""
    batches: list[_Batch] = []
    batch: _Batch | None = None
    entries: list[BankFileEntry] = []
    accounts: set[str] = set()
    last = 0
    for number, record in records(decode(data)):
        last = number
        where = f"line {number}"
        if len(record) != RECORD_LENGTH:
            raise BankFileInvalid(
                where,
                f"Tietueen pituus on {len(record)} merkkiä, kun sen pitää olla {RECORD_LENGTH}.",
                f"The record is {len(record)} characters long; it must be {RECORD_LENGTH}.",
            )
        code = record[0]
        if code == "0":
            if batch is not None:
                raise _missing_sum(where)
            batch = _batch(record, number)
            batches.append(batch)
        elif code in "35":
            if batch is None:
                raise _outside_batch(where)
            entry = _payment(record, where, batch)
            if entry is not None:
                entries.append(entry)
                accounts.add(record[1:15])
        elif code == "9":
            if batch is None:
                raise _outside_batch(where)
            _check_sums(record, where, batch)
            batch = None
        else:
            raise BankFileInvalid(
                where,
                f"Tuntematon tietuetunnus {code!r} (sallitut: 0, 3, 5, 9).",
                f"Unknown record code {code!r} (expected 0, 3, 5 or 9).",
            )
    if batch is not None or not batches:
        raise _missing_sum(f"line {last + 1}")
    first = batches[0]
    return BankFile(
        format="viitesiirto",
        file_id=f"{first.created_at:%Y%m%d%H%M}-{first.bank_code}-{first.service_id}",
        created_at=first.created_at,
        account=iban_from_finnish_bban(accounts.pop()) if len(accounts) == 1 else None,
        entries=tuple(entries),
    )


def _batch(record: str, number: int) -> _Batch:
    where = f"line {number}"
    stamp = record[1:11]
    try:
        if not stamp.isascii() or not stamp.isdigit():
            raise ValueError(stamp)
        created_at = datetime.strptime(stamp, "%y%m%d%H%M")
    except ValueError:
        raise BankFileInvalid(
            where,
            "Eräotsikon kirjoituspäivä ja -aika (merkit 2–11) eivät ole muotoa VVKKPPHHMM.",
            "The batch record's creation date and time (positions 2-11) are not YYMMDDHHMM.",
        ) from None
    _currency(record[22], where, "23")
    return _Batch(number, created_at, record[11:13].strip(), record[13:22].strip())


def _payment(record: str, where: str, batch: _Batch) -> BankFileEntry | None:
    account = record[1:15]
    if not _digits(account):
        raise BankFileInvalid(
            where,
            "Tilinumero (merkit 2–15) ei ole 14 numeroa.",
            "The account number (positions 2-15) is not 14 digits.",
        )
    booking = _date(record[15:21], where, "16-21", "kirjauspäivä", "booking date")
    paid = _date(record[21:27], where, "22-27", "maksupäivä", "payment date")
    archive_id = record[27:43].strip()
    if not archive_id:
        raise BankFileInvalid(
            where,
            "Arkistointitunnus (merkit 28–43) puuttuu.",
            "The archive id (positions 28-43) is missing.",
        )
    reference = normalize_reference(record[43:63], where)
    name = record[63:75].translate(_SFS_4017).strip() or None
    _currency(record[75], where, "76")
    cents_text = record[77:87]
    if not _digits(cents_text):
        raise BankFileInvalid(
            where,
            "Rahamäärä (merkit 78–87) ei ole pelkkiä numeroita.",
            "The amount (positions 78-87) is not all digits.",
        )
    cents = int(cents_text)
    correction = record[87]
    if correction not in "01":
        raise BankFileInvalid(
            where,
            f"Oikaisutunnus (merkki 88) on {correction!r}; sallitut ovat 0 ja 1.",
            f"The correction code (position 88) is {correction!r}; it must be 0 or 1.",
        )
    feedback = record[89]
    if record[0] == "5" and feedback not in " 0":
        # A direct debit the bank could not collect: no money moved, nothing to record,
        # but the sum record counts it.
        batch.failed += 1
        batch.failed_cents += cents
        return None
    amount = Decimal(cents).scaleb(-2)
    check_amount(amount, where)
    if correction == "1":
        batch.corrections += 1
        batch.correction_cents += cents
    else:
        batch.payments += 1
        batch.payment_cents += cents
    return BankFileEntry(
        archive_id=archive_id,
        reference=reference,
        amount=amount,
        booking_date=booking,
        payment_date=paid,
        payer_name=name,
        reversal=correction == "1",
        reverses_archive_id=None,
        location=where,
    )


def _check_sums(record: str, where: str, batch: _Batch) -> None:
    fields = {
        "2-7": record[1:7],
        "8-18": record[7:18],
        "19-24": record[18:24],
        "25-35": record[24:35],
    }
    for positions, text in fields.items():
        if not _digits(text):
            raise BankFileInvalid(
                where,
                f"Summatietueen kenttä (merkit {positions}) ei ole pelkkiä numeroita.",
                f"The sum record's field at positions {positions} is not all digits.",
            )
    count, cents, corrections, correction_cents = (int(text) for text in fields.values())
    # Payments and corrections are counted apart; a bank that counts corrections among the
    # reference payments as well (the gross reading) is accepted too.
    separate = (count, cents) == (batch.payments, batch.payment_cents)
    gross = (count, cents) == (batch.payments + batch.corrections, batch.payment_cents + batch.correction_cents)
    if not (separate or gross) or (corrections, correction_cents) != (batch.corrections, batch.correction_cents):
        raise BankFileInvalid(
            where,
            (
                f"Summatietue ei täsmää: siinä {count} viitetapahtumaa {_euros_fi(cents)} ja {corrections} oikaisua "
                f"{_euros_fi(correction_cents)}, erässä (rivi {batch.line}) {batch.payments} viitetapahtumaa "
                f"{_euros_fi(batch.payment_cents)} ja {batch.corrections} oikaisua "
                f"{_euros_fi(batch.correction_cents)}."
            ),
            (
                f"The sum record does not match: it says {count} payments {_euros(cents)} EUR and {corrections} "
                f"corrections {_euros(correction_cents)} EUR, the batch (line {batch.line}) has {batch.payments} "
                f"payments {_euros(batch.payment_cents)} EUR and {batch.corrections} corrections "
                f"{_euros(batch.correction_cents)} EUR."
            ),
        )
    failed, failed_cents = record[35:41], record[41:52]
    blank = not (failed.strip() or failed_cents.strip())  # some banks leave these blank
    matches = (
        _digits(failed)
        and _digits(failed_cents)
        and (int(failed), int(failed_cents))
        == (
            batch.failed,
            batch.failed_cents,
        )
    )
    if not (matches or (blank and batch.failed == 0)):
        raise BankFileInvalid(
            where,
            "Summatietueen epäonnistuneiden suoraveloitusten määrä (merkit 36–52) ei täsmää.",
            "The sum record's failed direct debits (positions 36-52) do not match the batch.",
        )


def _euros(cents: int) -> str:
    return f"{Decimal(cents).scaleb(-2)}"


def _euros_fi(cents: int) -> str:
    return euros_fi(Decimal(cents).scaleb(-2))


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _date(text: str, where: str, positions: str, fi: str, en: str) -> date:
    try:
        if not _digits(text):
            raise ValueError(text)
        return datetime.strptime(text, "%y%m%d").date()
    except ValueError:
        raise BankFileInvalid(
            where,
            f"{fi.capitalize()} (merkit {positions.replace('-', '–')}) ei ole kelvollinen päivämäärä VVKKPP.",
            f"The {en} (positions {positions}) is not a valid date YYMMDD.",
        ) from None


def _currency(code: str, where: str, position: str) -> None:
    if code != "1":
        raise BankFileInvalid(
            where,
            f"Rahayksikön koodi (merkki {position}) on {code!r}; vain euro (1) on tuettu.",
            f"The currency code (position {position}) is {code!r}; only euro (1) is supported.",
        )


def _missing_sum(where: str) -> BankFileInvalid:
    return BankFileInvalid(
        where,
        "Erän summatietue (tietuetunnus 9) puuttuu.",
        "The batch's sum record (record code 9) is missing.",
    )


def _outside_batch(where: str) -> BankFileInvalid:
    return BankFileInvalid(
        where,
        "Tietue on erän ulkopuolella: ennen sitä ei ole eräotsikkotietuetta (0).",
        "The record is outside a batch: no batch record (0) comes before it.",
    )
