"""Why a delivery failed, in the clerk's language.

Every failure keeps a stable machine code (``address-refused``), the technical detail
that is the same in every language (``SMTP 550``, ``HTTP 503``, the Finvoice
problems; never an address) and an English one-line reason (the delivery-failed event's
``reason``). What the clerk reads comes from the code, in Finnish, English and Swedish,
with the detail after it. A code this catalogue does not know (a newer worker's) shows
its English reason in every language rather than nothing.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("fi", "en", "sv")

_TEXTS: dict[str, tuple[str, str, str]] = {
    # the customer's data
    "no-email-address": (
        "Asiakkaalla ei ole sähköpostiosoitetta.",
        "The customer has no e-mail address.",
        "Kunden har ingen e-postadress.",
    ),
    "no-einvoice-address": (
        "Asiakkaalta puuttuu verkkolaskuosoite tai välittäjätunnus.",
        "The customer has no e-invoice address or operator.",
        "Kunden saknar e-fakturaadress eller förmedlarkod.",
    ),
    "no-postal-address": (
        "Asiakkaalta puuttuu nimi tai postiosoite (katu, postinumero, toimipaikka).",
        "The customer has no name or postal address (street, postal code, city).",
        "Kunden saknar namn eller postadress (gata, postnummer, postanstalt).",
    ),
    # e-mail
    "address-refused": (
        "Postipalvelin hylkäsi vastaanottajan osoitteen. Korjaa sähköpostiosoite asiakaskortille ja lähetä uudelleen"
        " tai siirrä lasku toiseen kanavaan.",
        "The mail server refused the recipient's address. Fix the e-mail address on the customer card and re-send,"
        " or move the document to another channel.",
        "E-postservern avvisade mottagarens adress. Rätta e-postadressen på kundkortet och skicka igen,"
        " eller flytta dokumentet till en annan kanal.",
    ),
    "address-invalid": (
        "Asiakkaan sähköpostiosoitetta ei voi käyttää lähetyksessä (esimerkiksi ääkkösiä @-merkin edellä)."
        " Korjaa sähköpostiosoite asiakaskortille ja lähetä uudelleen tai siirrä lasku toiseen kanavaan.",
        "The customer's e-mail address cannot be used for sending (e.g. non-ASCII letters before the @)."
        " Fix the e-mail address on the customer card and re-send, or move the document to another channel.",
        "Kundens e-postadress kan inte användas för sändning (t.ex. å, ä, ö före @)."
        " Rätta e-postadressen på kundkortet och skicka igen, eller flytta dokumentet till en annan kanal.",
    ),
    "recipient-deferred": (
        "Postipalvelin ei ottanut viestiä vastaan juuri nyt (vastaanottajan postilaatikko); yritettiin uudelleen"
        " useita kertoja.",
        "The mail server did not take the message for this recipient for now; it was tried again several times.",
        "E-postservern tog inte emot meddelandet till mottagaren just nu; det försöktes flera gånger.",
    ),
    "message-refused": (
        "Postipalvelin hylkäsi viestin.",
        "The mail server refused the message.",
        "E-postservern avvisade meddelandet.",
    ),
    "message-too-large": (
        "Postipalvelin hylkäsi viestin liian suurena. Lähetä lasku toiseen kanavaan.",
        "The mail server refused the message as too large. Move the document to another channel.",
        "E-postservern avvisade meddelandet som för stort. Flytta dokumentet till en annan kanal.",
    ),
    "message-deferred": (
        "Postipalvelin ei ottanut viestiä vastaan juuri nyt; yritettiin uudelleen useita kertoja.",
        "The mail server did not take the message for now; it was tried again several times.",
        "E-postservern tog inte emot meddelandet just nu; det försöktes flera gånger.",
    ),
    # e-invoice
    "invalid-finvoice": (
        "Verkkolasku ei ole kelvollinen Finvoice-aineisto.",
        "The e-invoice is not a valid Finvoice file.",
        "E-fakturan är inte en giltig Finvoice-fil.",
    ),
    "einvoice-refused": (
        "Verkkolaskuoperaattori hylkäsi aineiston.",
        "The e-invoice operator refused the file.",
        "E-fakturaoperatören avvisade filen.",
    ),
    "endpoint-error": (
        "Verkkolaskuoperaattorin palvelu vastasi virheellä; yritettiin uudelleen useita kertoja.",
        "The e-invoice operator's service answered with an error; it was tried again several times.",
        "E-fakturaoperatörens tjänst svarade med ett fel; det försöktes flera gånger.",
    ),
    # the channel itself (an attempt's outcome ``unavailable``: the document waits and goes later)
    "smtp-unreachable": (
        "Postipalvelimeen ei saada yhteyttä; lähetys jatkuu, kun se palaa.",
        "The mail server cannot be reached; sending goes on once it is back.",
        "E-postservern kan inte nås; sändningen fortsätter när den är tillbaka.",
    ),
    "smtp-unavailable": (
        "Postipalvelin ei ole käytettävissä; lähetys jatkuu, kun se palaa.",
        "The mail server is not available; sending goes on once it is back.",
        "E-postservern är inte tillgänglig; sändningen fortsätter när den är tillbaka.",
    ),
    "smtp-refuses-us": (
        "Postipalvelin ei hyväksy lähettäjää (asetukset); lähetys jatkuu, kun asia on korjattu.",
        "The mail server does not accept us as the sender (settings); sending goes on once that is fixed.",
        "E-postservern godtar inte avsändaren (inställningar); sändningen fortsätter när det är rättat.",
    ),
    "smtp-error": (
        "Postipalvelimen kanssa tapahtui virhe; lähetys jatkuu, kun se on korjattu.",
        "An error with the mail server; sending goes on once it is fixed.",
        "Ett fel med e-postservern; sändningen fortsätter när det är rättat.",
    ),
    "drop-folder": (
        "Verkkolaskujen siirtokansioon ei voi kirjoittaa; lähetys jatkuu, kun se on korjattu.",
        "The e-invoice drop folder cannot be written; sending goes on once that is fixed.",
        "E-fakturornas överföringsmapp kan inte skrivas; sändningen fortsätter när det är rättat.",
    ),
    "endpoint-unreachable": (
        "Verkkolaskuoperaattorin palveluun ei saada yhteyttä; lähetys jatkuu, kun se palaa.",
        "The e-invoice operator's service cannot be reached; sending goes on once it is back.",
        "E-fakturaoperatörens tjänst kan inte nås; sändningen fortsätter när den är tillbaka.",
    ),
    "endpoint-unavailable": (
        "Verkkolaskuoperaattorin palvelu ei ole käytettävissä; lähetys jatkuu, kun se palaa.",
        "The e-invoice operator's service is not available; sending goes on once it is back.",
        "E-fakturaoperatörens tjänst är inte tillgänglig; sändningen fortsätter när den är tillbaka.",
    ),
    "print-folder": (
        "Tulostuskansioon ei voi kirjoittaa; tulostus jatkuu, kun se on korjattu.",
        "The print folder cannot be written; printing goes on once that is fixed.",
        "Utskriftsmappen kan inte skrivas; utskriften fortsätter när det är rättat.",
    ),
    "worker-error": (
        "Lähetyksessä tapahtui sisäinen virhe; ylläpito on saanut ilmoituksen ja lähetys jatkuu korjauksen jälkeen.",
        "An internal error while sending; operations are alerted and sending goes on after the fix.",
        "Ett internt fel vid sändningen; driften har larmats och sändningen fortsätter efter rättelsen.",
    ),
}


@dataclass(frozen=True)
class Localized:
    fi: str
    en: str
    sv: str

    def get(self, lang: str) -> str:
        return {"fi": self.fi, "en": self.en, "sv": self.sv}.get(lang, self.fi)


def known(code: str) -> bool:
    return code in _TEXTS


def localize(code: str | None, detail: str | None = None, reason: str | None = None) -> Localized | None:
    """The failure in fi / en / sv: the code's text, then the technical detail in
    parentheses. None when there is no failure (no code)."""
    if not code:
        return None
    texts = _TEXTS.get(code)
    if texts is None:
        fallback = reason or code
        return Localized(fallback, fallback, fallback)
    suffix = f" ({detail})" if detail else ""
    fi, en, sv = texts
    return Localized(fi + suffix, en + suffix, sv + suffix)
