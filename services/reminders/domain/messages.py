"""What a clerk reads, in Finnish and English: why an invoice is not a candidate, and
what a run of reminders did. The codes are stable (API, job results); the texts may
change. Texts hold no personal data (no names), only dates and counts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date


def fi_date(day: date) -> str:
    """Finnish form: 1.12.2026."""
    return f"{day.day}.{day.month}.{day.year}"


@dataclass(frozen=True)
class Text:
    fi: str
    en: str


REASONS: dict[str, Text] = {
    "paid": Text("Maksettu.", "Paid."),
    "disputed": Text("Lasku on riitautettu.", "The invoice is disputed."),
    "no_reminders": Text("Asiakkaalle ei lähetetä maksumuistutuksia.", "The customer gets no reminders."),
    "below_minimum": Text(
        "Avoin summa on alle muistutusrajan {minimum} €.", "The open amount is below the reminder limit {minimum} €."
    ),
    "too_early": Text("Liian aikaista: aikaisintaan {earliest_fi}.", "Too early: {earliest} at the earliest."),
    "reference_rate_missing": Text(
        "Viitekorko puuttuu ajalta {start_fi}–{end_fi}: lisää Suomen Pankin ilmoittama viitekorko korkotaulukkoon.",
        "No reference rate for {start}..{end}: add the Bank of Finland's rate to the rate table.",
    ),
    "already_reminded": Text("Muistutus on jo tehty.", "A reminder was made already."),
    "not_reminded_before": Text(
        "Edellisen tason muistutusta ei ole tehty.", "The reminder of the previous level has not been made."
    ),
    "not_overdue": Text("Ei vielä erääntynyt.", "Not overdue yet."),
    "handed_over": Text("Siirretty perintään.", "Handed over to collection."),
    "not_found": Text("Laskua ei löydy avoimista eristä.", "The invoice is not among the open items."),
    "not_last_level": Text(
        "Viimeisen tason muistutusta ei ole tehty.", "The reminder of the last level has not been made."
    ),
}


def half_year_name(start: date) -> str:
    """``2026 H2`` for 1.7.-31.12.2026, ``2026 H1`` for 1.1.-30.6.2026."""
    return f"{start.year} H{1 if start.month < 7 else 2}"


def missing_rate_row(start: date, end: date) -> str:
    """The row ops add to the rate table once the Bank of Finland has announced the
    half-year's reference rate. ``reference`` is left for the announced figure: the
    file is refused at start until it is a number, so nothing is ever guessed."""
    return (
        "[[rate]]\n"
        f"start = {start.isoformat()}\n"
        f"end = {end.isoformat()}\n"
        'reference = "…"  # the Bank of Finland\'s figure, in percent\n'
        'basis = "announced"\n'
        f'source = "Suomen Pankki, Korkolain mukainen viitekorko ja viivästyskorot {fi_date(start)}–{fi_date(end)}"\n'
    )


def missing_rate_text(start: date, end: date, on: date, data_file: str) -> Text:
    """The warning where the clerk makes reminders: which half-year has no reference
    rate, what it means for reminders made on ``on``, and how ops add the figure."""
    span_fi = f"{start.day}.{start.month}.–{fi_date(end)}"
    span_en = f"{start.isoformat()}..{end.isoformat()} ({half_year_name(start)})"
    fi = (
        f"Viitekorko puuttuu ajalta {span_fi}: {fi_date(on)} tehtävät maksumuistutukset eivät peri "
        f"viivästyskorkoa näiltä päiviltä. Ylläpito: lisää Suomen Pankin ilmoittama viitekorko "
        f"{span_fi} rivinä tiedostoon {data_file} ([[rate]] start = {start.isoformat()}, "
        f'end = {end.isoformat()}, reference, basis = "announced", source) ja käynnistä reminders-palvelu uudelleen.'
    )
    en = (
        f"No reference rate for {span_en}: reminders made on {on.isoformat()} charge no penalty interest "
        f"for those days. Ops: add the Bank of Finland's reference rate for {half_year_name(start)} as a row "
        f"in {data_file} ([[rate]] start = {start.isoformat()}, end = {end.isoformat()}, reference, "
        f'basis = "announced", source) and restart the reminders service.'
    )
    return Text(fi, en)


def reason_text(code: str, **values: object) -> Text:
    """The reason's text with its values filled in (dates given as ``date``)."""
    filled: dict[str, object] = {}
    for key, value in values.items():
        if isinstance(value, date):
            filled[key] = value.isoformat()
            filled[f"{key}_fi"] = fi_date(value)
        else:
            filled[key] = value
    text = REASONS[code]
    return Text(text.fi.format(**filled), text.en.format(**filled))


def created_summary(level: int, created: int, skipped: Mapping[str, int]) -> Text:
    """The answer after creating reminders: how many, and how many skipped and why."""
    fi = f"Maksumuistutuksia #{level} luotiin {created} kpl."
    en = f"{created} payment reminder{'s' if created != 1 else ''} #{level} created."
    if skipped:
        total = sum(skipped.values())
        fi += f" Ohitettiin {total}: " + ", ".join(f"{_short_fi(c)} {n}" for c, n in sorted(skipped.items())) + "."
        en += f" {total} skipped: " + ", ".join(f"{_short_en(c)} {n}" for c, n in sorted(skipped.items())) + "."
    return Text(fi, en)


def handed_over_summary(count: int, skipped: Mapping[str, int]) -> Text:
    fi = f"Perintään siirrettiin {count} laskua."
    en = f"{count} invoice{'s' if count != 1 else ''} handed over to collection."
    if skipped:
        total = sum(skipped.values())
        fi += f" Ohitettiin {total}: " + ", ".join(f"{_short_fi(c)} {n}" for c, n in sorted(skipped.items())) + "."
        en += f" {total} skipped: " + ", ".join(f"{_short_en(c)} {n}" for c, n in sorted(skipped.items())) + "."
    return Text(fi, en)


_SHORT: dict[str, Text] = {
    "paid": Text("maksettu", "paid"),
    "disputed": Text("riitautettu", "disputed"),
    "no_reminders": Text("ei muistutuksia", "no reminders"),
    "below_minimum": Text("alle rajan", "below the limit"),
    "too_early": Text("liian aikaista", "too early"),
    "reference_rate_missing": Text("viitekorko puuttuu", "reference rate missing"),
    "already_reminded": Text("jo muistutettu", "already reminded"),
    "not_reminded_before": Text("edellinen taso puuttuu", "previous level missing"),
    "not_overdue": Text("ei erääntynyt", "not overdue"),
    "handed_over": Text("perinnässä", "with collection"),
    "not_found": Text("ei löydy", "not found"),
    "not_last_level": Text("viimeinen taso puuttuu", "last level missing"),
}


def general_reason(code: str) -> Text:
    """A reason as a heading over several invoices (no dates or amounts)."""
    return _GENERAL.get(code, Text(code, code))


_GENERAL: dict[str, Text] = {
    **{code: REASONS[code] for code in ("paid", "disputed", "no_reminders", "already_reminded", "not_overdue")},
    "below_minimum": Text("Avoin summa on alle muistutusrajan.", "The open amount is below the reminder limit."),
    "too_early": Text("Liian aikaista.", "Too early."),
    "bad_data": Text(
        "Laskun tai asiakkaan tiedot ovat virheelliset: muistutusta ei voitu muodostaa.",
        "The invoice's or customer's data is invalid: the reminder could not be made.",
    ),
    "reference_rate_missing": Text(
        "Viitekorko puuttuu: lisää Suomen Pankin ilmoittama viitekorko korkotaulukkoon.",
        "Reference rate missing: add the Bank of Finland's rate to the rate table.",
    ),
    **{code: REASONS[code] for code in ("not_reminded_before", "handed_over", "not_found", "not_last_level")},
}


def _short_fi(code: str) -> str:
    return _SHORT[code].fi if code in _SHORT else code


def _short_en(code: str) -> str:
    return _SHORT[code].en if code in _SHORT else code
