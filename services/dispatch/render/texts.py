"""Words and number forms of the printed and mailed documents, in Finnish, Swedish and
English: small dictionaries, one per language, with the same keys.

Language: the customer snapshot's ``language`` (``fi``, ``sv``, ``en``; a region suffix
such as ``sv-FI`` counts as its language); anything else gets Finnish, the publisher's
own language.

Number forms (the same in every language, so a clerk reading any copy sees one form):
- amounts ``1 234,56 €`` (:func:`shared.money.format_fi`, a no-break space groups the
  thousands; the euro sign follows);
- VAT rates ``25,5 %``, ``10 %``.

Dates:
- ``fi`` and ``sv``: ``23.11.2026`` (Finland-Swedish writes dates the Finnish way);
- ``en``: ``23 Nov 2026`` (day, abbreviated English month, year: neither a British nor
  an American reader can misread it, unlike ``11/23/2026``).
The bank transfer form is a bilingual Finnish-Swedish standard form: it always uses
``23.11.2026``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Final, Literal

from shared.money import NBSP, format_fi

Lang = Literal["fi", "sv", "en"]
LANGUAGES: Final[tuple[Lang, ...]] = ("fi", "sv", "en")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def language_of(code: str | None) -> Lang:
    """``fi``, ``sv`` or ``en`` from a snapshot's language code; Finnish otherwise."""
    primary = (code or "").strip().lower().replace("_", "-").split("-", 1)[0]
    for lang in LANGUAGES:
        if primary == lang:
            return lang
    return "fi"


def fmt_date(day: date, lang: Lang) -> str:
    if lang == "en":
        return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    return f"{day.day}.{day.month}.{day.year}"


def fmt_form_date(day: date) -> str:
    """The bank transfer form's date: ``16.11.2026`` with leading zeros (the form's
    ``pp.kk.vvvv`` boxes)."""
    return day.strftime("%d.%m.%Y")


def fmt_money(amount: Decimal) -> str:
    """``1 234,56 €`` (no-break spaces, so a line never breaks inside an amount)."""
    return f"{format_fi(amount)}{NBSP}€"


def fmt_rate(rate: Decimal) -> str:
    """``25,5 %``, ``10 %``: trailing zeros dropped, a decimal comma."""
    text = format(rate.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')}{NBSP}%"


def fmt_quantity(quantity: Decimal) -> str:
    """``2``, ``1,5``, ``-2`` (up to three decimals, none when whole)."""
    text = format(quantity.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def fmt_unit_price(price: Decimal) -> str:
    """Two decimals, or up to four when the price has them (``0,1234``), grouped like
    amounts (``1 200,00``)."""
    whole, _, fraction = format(abs(price), "f").partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    sign = "-" if price < 0 else ""
    return f"{sign}{NBSP.join(groups) or '0'},{fraction}"


UNITS: Final[dict[str, dict[Lang, str]]] = {
    # The units invoicing writes (Finnish) as each language prints them.
    "kpl": {"fi": "kpl", "sv": "st", "en": "pcs"},
    "kk": {"fi": "kk", "sv": "mån", "en": "mo"},
    "h": {"fi": "h", "sv": "h", "en": "h"},
    "pv": {"fi": "pv", "sv": "d", "en": "d"},
    "km": {"fi": "km", "sv": "km", "en": "km"},
    "vk": {"fi": "vk", "sv": "v", "en": "wk"},
    "v": {"fi": "v", "sv": "år", "en": "yr"},
}


def unit(code: str, lang: Lang) -> str:
    return UNITS.get(code, {}).get(lang, code)


T: Final[dict[Lang, dict[str, str]]] = {
    "fi": {
        "title.invoice": "LASKU",
        "title.corrective": "KORJAUSLASKU",
        "title.credit-note": "HYVITYSLASKU",
        "title.reminder": "MAKSUMUISTUTUS",
        "name.invoice": "Lasku",
        "name.corrective": "Korjauslasku",
        "name.credit-note": "Hyvityslasku",
        "name.reminder": "Maksumuistutus",
        "file.invoice": "Lasku",
        "file.corrective": "Korjauslasku",
        "file.credit-note": "Hyvityslasku",
        "file.reminder": "Maksumuistutus",
        "page": "Sivu",
        "continued": "Jatkuu seuraavalla sivulla",
        "business_id": "Y-tunnus",
        "vat_number": "ALV-nro",
        "invoice_date": "Laskun päivämäärä",
        "invoice_number": "Laskun numero",
        "customer_number": "Asiakasnumero",
        "customer_business_id": "Asiakkaan Y-tunnus",
        "payment_terms": "Maksuehto",
        "terms_days": "{days} pv netto",
        "terms_now": "heti netto",
        "due_date": "Eräpäivä",
        "reference": "Viitenumero",
        "late_interest": "Viivästyskorko",
        "late_interest_value": "korkolain mukaan",
        "original_invoice": "Alkuperäinen lasku",
        "reminder_date": "Päivämäärä",
        "reminder_level": "Muistutuskerta",
        "new_due_date": "Uusi eräpäivä",
        "col.description": "Kuvaus",
        "col.quantity": "Määrä",
        "col.unit": "Yks.",
        "col.unit_price": "À-hinta",
        "col.vat_rate": "ALV %",
        "col.net": "Veroton",
        "col.vat": "ALV",
        "col.gross": "Verollinen",
        "col.invoice_number": "Lasku",
        "col.invoice_date": "Laskun pvm",
        "col.invoice_due": "Eräpäivä",
        "col.invoice_gross": "Laskun summa",
        "col.open": "Avoinna",
        "total_net": "Veroton yhteensä",
        "total_vat": "ALV yhteensä",
        "total_gross": "Yhteensä",
        "to_pay": "Maksettava yhteensä",
        "credit_total": "Hyvitys yhteensä",
        "nothing_to_pay": "Hyvityslasku laskuun {original}: summa hyvitetään, tätä ei tarvitse maksaa.",
        "corrective_of": "Korjaa laskua {original}.",
        "open_amount": "Avoin määrä",
        "reminder_fee": "Muistutusmaksu",
        "compensation": "Perintäkulujen vakiokorvaus",
        "interest": "Viivästyskorko",
        "interest_period": "{start}–{end}, {days} pv à {rate}",
        "reminder_intro": (
            "Kirjanpitomme mukaan alla oleva lasku on vielä maksamatta. Pyydämme maksamaan "
            "sen viimeistään {due}. Jos olette jo maksaneet laskun, tämä muistutus on aiheeton."
        ),
        "greeting": "Hyvä asiakas,",
        "mail.invoice": "Liitteenä on laskunne {number} PDF-muodossa.",
        "mail.corrective": "Liitteenä on korjauslasku {number} laskuun {original} PDF-muodossa.",
        "mail.credit-note": "Liitteenä on hyvityslasku {number} laskuun {original} PDF-muodossa. "
        "Summa hyvitetään, eikä sitä tarvitse maksaa.",
        "mail.reminder": "Kirjanpitomme mukaan laskunne {number} on vielä maksamatta. Liitteenä on "
        "maksumuistutus PDF-muodossa. Jos olette jo maksaneet laskun, tämä muistutus on aiheeton.",
        "mail.amount": "Maksettava",
        "mail.iban": "Saajan tilinumero (IBAN)",
        "mail.bic": "BIC",
        "mail.payee": "Saaja",
        "mail.barcode": "Virtuaaliviivakoodi",
        "mail.regards": "Ystävällisin terveisin",
        "mail.subject.invoice": "Lasku {number}",
        "mail.subject.corrective": "Korjauslasku {number}",
        "mail.subject.credit-note": "Hyvityslasku {number}",
        "mail.subject.reminder": "Maksumuistutus: lasku {number}",
    },
    "sv": {
        "title.invoice": "FAKTURA",
        "title.corrective": "RÄTTELSEFAKTURA",
        "title.credit-note": "KREDITNOTA",
        "title.reminder": "BETALNINGSPÅMINNELSE",
        "name.invoice": "Faktura",
        "name.corrective": "Rättelsefaktura",
        "name.credit-note": "Kreditnota",
        "name.reminder": "Betalningspåminnelse",
        "file.invoice": "Faktura",
        "file.corrective": "Rattelsefaktura",
        "file.credit-note": "Kreditnota",
        "file.reminder": "Betalningspaminnelse",
        "page": "Sida",
        "continued": "Fortsätter på nästa sida",
        "business_id": "FO-nummer",
        "vat_number": "Momsnr",
        "invoice_date": "Fakturadatum",
        "invoice_number": "Fakturanummer",
        "customer_number": "Kundnummer",
        "customer_business_id": "Kundens FO-nummer",
        "payment_terms": "Betalningsvillkor",
        "terms_days": "{days} dagar netto",
        "terms_now": "netto genast",
        "due_date": "Förfallodag",
        "reference": "Referensnummer",
        "late_interest": "Dröjsmålsränta",
        "late_interest_value": "enligt räntelagen",
        "original_invoice": "Ursprunglig faktura",
        "reminder_date": "Datum",
        "reminder_level": "Påminnelse nr",
        "new_due_date": "Ny förfallodag",
        "col.description": "Beskrivning",
        "col.quantity": "Antal",
        "col.unit": "Enh.",
        "col.unit_price": "À-pris",
        "col.vat_rate": "Moms %",
        "col.net": "Netto",
        "col.vat": "Moms",
        "col.gross": "Brutto",
        "col.invoice_number": "Faktura",
        "col.invoice_date": "Fakturadatum",
        "col.invoice_due": "Förfallodag",
        "col.invoice_gross": "Fakturabelopp",
        "col.open": "Obetalt",
        "total_net": "Netto totalt",
        "total_vat": "Moms totalt",
        "total_gross": "Totalt",
        "to_pay": "Att betala",
        "credit_total": "Kredit totalt",
        "nothing_to_pay": "Kreditnota till faktura {original}: beloppet krediteras, inget att betala.",
        "corrective_of": "Rättar faktura {original}.",
        "open_amount": "Obetalt belopp",
        "reminder_fee": "Påminnelseavgift",
        "compensation": "Standardersättning för indrivningskostnader",
        "interest": "Dröjsmålsränta",
        "interest_period": "{start}–{end}, {days} dagar à {rate}",
        "reminder_intro": (
            "Enligt vår bokföring är fakturan nedan fortfarande obetald. Vi ber er betala den "
            "senast {due}. Om ni redan har betalat fakturan kan ni bortse från denna påminnelse."
        ),
        "greeting": "Bästa kund,",
        "mail.invoice": "Bifogat finns er faktura {number} i PDF-format.",
        "mail.corrective": "Bifogat finns rättelsefaktura {number} till faktura {original} i PDF-format.",
        "mail.credit-note": "Bifogat finns kreditnota {number} till faktura {original} i PDF-format. "
        "Beloppet krediteras och ska inte betalas.",
        "mail.reminder": "Enligt vår bokföring är er faktura {number} fortfarande obetald. Bifogat finns "
        "en betalningspåminnelse i PDF-format. Om ni redan har betalat fakturan kan ni bortse från den.",
        "mail.amount": "Att betala",
        "mail.iban": "Mottagarens kontonummer (IBAN)",
        "mail.bic": "BIC",
        "mail.payee": "Mottagare",
        "mail.barcode": "Virtuell streckkod",
        "mail.regards": "Med vänliga hälsningar",
        "mail.subject.invoice": "Faktura {number}",
        "mail.subject.corrective": "Rättelsefaktura {number}",
        "mail.subject.credit-note": "Kreditnota {number}",
        "mail.subject.reminder": "Betalningspåminnelse: faktura {number}",
    },
    "en": {
        "title.invoice": "INVOICE",
        "title.corrective": "CORRECTIVE INVOICE",
        "title.credit-note": "CREDIT NOTE",
        "title.reminder": "PAYMENT REMINDER",
        "name.invoice": "Invoice",
        "name.corrective": "Corrective invoice",
        "name.credit-note": "Credit note",
        "name.reminder": "Payment reminder",
        "file.invoice": "Invoice",
        "file.corrective": "Corrective_invoice",
        "file.credit-note": "Credit_note",
        "file.reminder": "Payment_reminder",
        "page": "Page",
        "continued": "Continued on the next page",
        "business_id": "Business ID",
        "vat_number": "VAT no.",
        "invoice_date": "Invoice date",
        "invoice_number": "Invoice number",
        "customer_number": "Customer number",
        "customer_business_id": "Customer's business ID",
        "payment_terms": "Payment terms",
        "terms_days": "{days} days net",
        "terms_now": "net, immediately",
        "due_date": "Due date",
        "reference": "Reference number",
        "late_interest": "Late payment interest",
        "late_interest_value": "per the Finnish Interest Act",
        "original_invoice": "Original invoice",
        "reminder_date": "Date",
        "reminder_level": "Reminder no.",
        "new_due_date": "New due date",
        "col.description": "Description",
        "col.quantity": "Qty",
        "col.unit": "Unit",
        "col.unit_price": "Unit price",
        "col.vat_rate": "VAT %",
        "col.net": "Net",
        "col.vat": "VAT",
        "col.gross": "Gross",
        "col.invoice_number": "Invoice",
        "col.invoice_date": "Invoice date",
        "col.invoice_due": "Due date",
        "col.invoice_gross": "Invoice amount",
        "col.open": "Unpaid",
        "total_net": "Total net",
        "total_vat": "Total VAT",
        "total_gross": "Total",
        "to_pay": "Amount due",
        "credit_total": "Total credit",
        "nothing_to_pay": "Credit note for invoice {original}: the amount is credited, nothing to pay.",
        "corrective_of": "Corrects invoice {original}.",
        "open_amount": "Unpaid amount",
        "reminder_fee": "Reminder fee",
        "compensation": "Fixed compensation for recovery costs",
        "interest": "Late payment interest",
        "interest_period": "{start}–{end}, {days} days at {rate}",
        "reminder_intro": (
            "According to our records the invoice below is still unpaid. Please pay it by "
            "{due}. If you have already paid it, please disregard this reminder."
        ),
        "greeting": "Dear customer,",
        "mail.invoice": "Please find attached your invoice {number} as a PDF.",
        "mail.corrective": "Please find attached corrective invoice {number} for invoice {original} as a PDF.",
        "mail.credit-note": "Please find attached credit note {number} for invoice {original} as a PDF. "
        "The amount is credited; there is nothing to pay.",
        "mail.reminder": "According to our records your invoice {number} is still unpaid. Please find "
        "attached a payment reminder as a PDF. If you have already paid it, please disregard this reminder.",
        "mail.amount": "Amount due",
        "mail.iban": "Payee's account (IBAN)",
        "mail.bic": "BIC",
        "mail.payee": "Payee",
        "mail.barcode": "Virtual bar code",
        "mail.regards": "Kind regards",
        "mail.subject.invoice": "Invoice {number}",
        "mail.subject.corrective": "Corrective invoice {number}",
        "mail.subject.credit-note": "Credit note {number}",
        "mail.subject.reminder": "Payment reminder: invoice {number}",
    },
}

FORM: Final[dict[str, tuple[str, ...]]] = {
    # The bank transfer form's own bilingual labels (Finance Finland's standard form).
    "title": ("TILISIIRTO", "GIRERING"),
    "payee_account": ("Saajan", "tilinumero", "Mottagarens", "kontonummer"),
    "payee": ("Saaja", "Mottagare"),
    "payer": ("Maksajan", "nimi ja", "osoite", "Betalarens", "namn och", "adress"),
    "signature": ("Allekirjoitus", "Underskrift"),
    "from_account": ("Tililtä nro", "Från konto nr"),
    "reference": ("Viitenro", "Ref.nr"),
    "due": ("Eräpäivä", "Förfallodag"),
    "euro": ("Euro",),
    "barcode": ("Virtuaaliviivakoodi / Virtuell streckkod",),
    "terms": (
        "Maksu välitetään saajalle maksujenvälityksen ehtojen mukaisesti ja vain",
        "maksajan ilmoittaman tilinumeron perusteella.",
        "Betalningen förmedlas till mottagaren enligt villkoren för betalnings-",
        "förmedling och endast till det kontonummer som betalaren angivit.",
    ),
    "invoice_number": ("Laskun numero / Fakturanummer",),
    "customer_number": ("Asiakasnumero / Kundnummer",),
}
