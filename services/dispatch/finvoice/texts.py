"""The few human-readable texts a Finvoice carries, in the customer's language.

Type texts follow the Finnish convention CONVENTIONS §4 cites (``LASKU`` /
``HYVITYSLASKU`` / ``HUOMAUTUSLASKU``) and the guidelines' English list (§10.5: INVOICE,
CREDIT NOTE, REMINDER INVOICE). At most 35 characters each (``InvoiceTypeText``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Texts:
    language: str
    """``FI`` / ``SV`` / ``EN`` (``InvoiceRecipientLanguageCode``)."""
    invoice: str
    corrective: str
    credit_note: str
    reminder: str
    terms: str
    """Payment terms, ``{days}`` filled in."""
    vat_zero: str
    """Why a 0 % block has no VAT: the document model carries no exemption reason."""
    vat_outside: str
    """Reminder amounts (fee, interest, compensation, the open invoice) are not sales."""
    open_amount: str
    reminder_fee: str
    compensation: str
    interest: str
    reminder_note: str

    def payment_terms(self, days: int) -> str:
        return self.terms.format(days=days)

    def reminder_text(self, level: int, number: str, invoice_date: date, due: date) -> str:
        return self.reminder_note.format(
            level=level, number=number, date=_date(invoice_date, self.language), due=_date(due, self.language)
        )


def _date(value: date, language: str) -> str:
    return value.isoformat() if language == "EN" else f"{value.day}.{value.month}.{value.year}"


FI = Texts(
    language="FI",
    invoice="LASKU",
    corrective="OIKAISULASKU",
    credit_note="HYVITYSLASKU",
    reminder="HUOMAUTUSLASKU",
    terms="{days} päivää netto",
    vat_zero="ALV 0 %",
    vat_outside="Ei arvonlisäveron alainen",
    open_amount="Avoin määrä, lasku {number}",
    reminder_fee="Muistutusmaksu",
    compensation="Vakiokorvaus",
    interest="Viivästyskorko",
    reminder_note="Maksumuistutus {level}: lasku {number} ({date}) erääntyi {due}.",
)
SV = Texts(
    language="SV",
    invoice="FAKTURA",
    corrective="KORRIGERINGSFAKTURA",
    credit_note="KREDITFAKTURA",
    reminder="BETALNINGSPÅMINNELSE",
    terms="{days} dagar netto",
    vat_zero="Moms 0 %",
    vat_outside="Utanför momsens tillämpningsområde",
    open_amount="Öppet belopp, faktura {number}",
    reminder_fee="Påminnelseavgift",
    compensation="Standardersättning",
    interest="Dröjsmålsränta",
    reminder_note="Betalningspåminnelse {level}: faktura {number} ({date}) förföll {due}.",
)
EN = Texts(
    language="EN",
    invoice="INVOICE",
    corrective="CORRECTED INVOICE",
    credit_note="CREDIT NOTE",
    reminder="REMINDER INVOICE",
    terms="{days} days net",
    vat_zero="VAT 0 %",
    vat_outside="Outside the scope of VAT",
    open_amount="Open amount, invoice {number}",
    reminder_fee="Reminder fee",
    compensation="Standard compensation",
    interest="Late payment interest",
    reminder_note="Payment reminder {level}: invoice {number} ({date}) fell due on {due}.",
)
_BY_LANGUAGE = {"fi": FI, "sv": SV, "en": EN}


def texts_for(language: str) -> Texts:
    """The customer's language; English for any other (a foreign customer)."""
    return _BY_LANGUAGE.get(language.strip().lower()[:2], EN)
