"""What ``billing invoicing …`` prints, in Finnish or English: pure functions from the
invoicing API's JSON to lines of text (no I/O, so they are tested without a server).

Finnish output follows the clerk's habits, as the run summary PDF does: money
``1 234,56`` (:func:`shared.money.format_fi`, no-break space), dates ``23.11.2026``,
VAT ``25,5 %``. English: ``1,234.56``, ISO dates, ``25.5%``. The API's own fi/en texts
(reasons, notices, refusals) are printed as they come; only the CLI's headings live here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from billing_cli.invoicing.words import WORDS
from shared.money import cents, format_amount

LOCAL_TZ = ZoneInfo("Europe/Helsinki")
"""Times are shown in the clerk's local time."""
DASH = "\u2013"


def money(amount: Any, lang: str) -> str:
    """``1 234,56`` (fi) / ``1,234.56`` (en) from a decimal string or number."""
    return format_amount(Decimal(str(amount)), lang)


def number(value: Any, lang: str) -> str:
    """A quantity or price without trailing zeros, at least as many decimals as it
    has: ``8.000`` -> ``8``, ``2.500`` -> ``2,5`` (fi)."""
    d = Decimal(str(value)).normalize()
    text = f"{d:f}"
    return text.replace(".", ",") if lang == "fi" else text


def price(value: Any, lang: str) -> str:
    """A unit price: two decimals, more only when it has them (``50.0000`` -> ``50,00``)."""
    d = Decimal(str(value))
    if d == cents(d):
        return money(d, lang)
    return number(d, lang)


def rate(value: Any, lang: str) -> str:
    """``10 %`` / ``25,5 %`` (fi), ``10%`` / ``25.5%`` (en)."""
    text = number(value, lang)
    return f"{text} %" if lang == "fi" else f"{text}%"


def day(value: str | date | None, lang: str) -> str:
    if value is None:
        return DASH
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{d.day}.{d.month}.{d.year}" if lang == "fi" else d.isoformat()


def moment(value: str | None, lang: str) -> str:
    """A timestamp in local time: ``23.11.2026 14.05`` / ``2026-11-23 14:05``."""
    if not value:
        return DASH
    t = datetime.fromisoformat(value).astimezone(LOCAL_TZ)
    return f"{day(t.date(), lang)} {t:%H.%M}" if lang == "fi" else f"{t:%Y-%m-%d %H:%M}"


def parse_quantity(text: str) -> Decimal:
    """What a clerk types as a quantity: ``6``, ``2,5`` or ``2.5`` (never negative)."""
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{text!r}: a quantity is a number 0 or above")
    return value


def parse_day(text: str) -> date:
    """``2026-11-23`` or the Finnish ``23.11.2026``."""
    try:
        if "." in text:
            d, m, y = (int(part) for part in text.strip().split("."))
            return date(y, m, d)
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date (2026-11-23 or 23.11.2026)") from None


def read_ids(lines: Iterable[str]) -> list[str]:
    """Request ids from a file: one a line, blank lines and ``#`` comments skipped,
    repeats dropped (first kept, order kept)."""
    ids: dict[str, None] = {}
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if text:
            ids[text] = None
    return list(ids)


def table(heads: list[str], rows: list[list[str]], right: Iterable[int] = ()) -> list[str]:
    """Columns padded to their widest cell; the ``right`` ones (amounts) right-aligned."""
    widths = [max(len(str(c)) for c in col) for col in zip(heads, *rows, strict=True)]
    align = set(right)

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in align else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [fmt(heads), *(fmt(r) for r in rows)]


def _texts(item: Mapping[str, Any], lang: str, key: str = "message") -> list[str]:
    """The fi and/or en text of an API item (``message_fi`` / ``message_en``)."""
    langs = ("fi", "en") if lang == "both" else (lang,)
    return [str(item[f"{key}_{x}"]) for x in langs if item.get(f"{key}_{x}")]


# --- billing requests (seed steps 8-12) -----------------------------------------------


def notice_lines(notice: Mapping[str, Any] | None, lang: str) -> list[str]:
    """The red error notice above the list: its message (fi, en or both), then each
    reason with its count. Empty when there is nothing to fix."""
    if notice is None:
        return []
    out = _texts(notice, lang)
    for reason in notice["reasons"]:
        out.extend(f"  {text}" for text in _texts(reason, lang))
    return out


def request_lines(page: Mapping[str, Any], lang: str, *, card_command: str) -> list[str]:
    """The request list: a heading with counts, then one row per request; an erroneous
    row is followed by its reasons and the command that opens the customer's card."""
    w = WORDS["en" if lang == "en" else "fi"]
    kind = w.kinds.get(page["kind"], page["kind"])
    head = w.requests_head.format(kind=kind, total=page["total"])
    out = [f"{head}, {w.ready} {page['ready']}, {w.errors} {page['errors']}"]
    if not page["items"]:
        return [*out, w.no_requests]
    view = "fi" if lang == "both" else lang
    rows = []
    notes: dict[int, list[str]] = {}
    for i, r in enumerate(page["items"]):
        label = f"{r['label_fi']}/{r['label_en']}" if lang == "both" else r[f"label_{lang}"]
        net = money(r["net"], view) if r.get("net") is not None else DASH
        rows.append([r["request_id"] or DASH, r["customer_number"] or DASH, label, day(r["invoice_date"], view), net])
        extra: list[str] = []
        for reason in r["reasons"]:
            field = f"{reason['field']}: " if reason.get("field") else ""
            extra.extend(f"    {field}{text}" for text in _texts(reason, lang))
        extra.extend(f"    {action}" for action in _texts(r, lang, "action"))
        if r["state"] == "refused" and r.get("dead_letter_id"):
            extra.append(f"    billing dlq replay invoicing {r['dead_letter_id']}")
        if r["state"] in ("error", "refused") and r.get("customer_number"):
            extra.append(f"    {w.card}: {card_command.format(customer=r['customer_number'])}")
        notes[i] = extra
    c = w.columns
    lines = table([c["request"], c["customer"], c["state"], c["invoice_date"], c["net"]], rows, right=[4])
    out.append(lines[0])
    for i, line in enumerate(lines[1:]):
        out.append(line)
        out.extend(notes[i])
    return out


# --- billing runs (seed steps 13-16) --------------------------------------------------


def summary_lines(run: Mapping[str, Any], lang: str) -> list[str]:
    """A finished run's summary: mode, counts, totals per VAT rate, channels, and what
    was left out and why."""
    w = WORDS[lang]
    s = run["summary"]
    kind = w.kinds.get(s["kind"], s["kind"])
    out = [
        f"{w.summary} {DASH} {kind} {DASH} {w.modes.get(s['mode'], s['mode'])}",
        f"{w.run} {s['run_id']}, {w.started_by} {s['actor']}, {w.finished} {moment(s['finished_at'], lang)}",
        f"{w.invoices} {s['invoices']}, {w.requests} {s['requests']}",
    ]
    if s["mode"] in w.outcomes:
        out.append(w.outcomes[s["mode"]])
    if s.get("invoice_date"):
        out.append(f"{w.invoice_date} {day(s['invoice_date'], lang)}")
    if s["by_vat_rate"]:
        rows = [
            [rate(v["rate"], lang), *(money(v[k], lang) for k in ("net", "vat", "gross"))] for v in s["by_vat_rate"]
        ]
        totals = s["totals"]
        rows.append([w.total, *(money(totals[k], lang) for k in ("net", "vat", "gross"))])
        out.extend(table([w.columns["rate"], w.net, w.vat, w.gross], rows, right=[1, 2, 3]))
    if s["by_channel"]:
        channels = ", ".join(f"{w.channels.get(k, k)} {n}" for k, n in sorted(s["by_channel"].items()))
        out.append(f"{w.by_channel}: {channels}")
    if s["left_out"]:
        out.append(f"{w.left_out}:")
        for lo in s["left_out"]:
            count = f"{lo['count']} × " if lo["count"] else ""
            customers = f" [{', '.join(lo['customers'])}]" if lo.get("customers") else ""
            out.append(f"  {count}{lo[f'message_{lang}']} ({lo['code']}){customers}")
    elif s["invoices"] == 0:
        out.append(w.nothing_to_invoice)
    else:
        out.append(w.nothing_left_out.get(s["mode"], w.nothing_left_out["confirm"]))
    return out


def run_rows(items: list[Mapping[str, Any]], lang: str) -> list[str]:
    w = WORDS[lang]
    c = w.columns
    rows = []
    for r in items:
        s = r["summary"]
        done = [str(s["invoices"]), money(s["totals"]["gross"], lang)] if s else [w.running, ""]
        rows.append(
            [r["run_id"], r["kind"], r["mode"], moment(r["started_at"], lang), r["actor"], *done],
        )
    return table([c["run"], c["kind"], c["mode"], c["started"], c["actor"], w.invoices, c["gross"]], rows, [5, 6])


# --- invoices ----------------------------------------------------------------------------


def _invoice_number(inv: Mapping[str, Any]) -> str:
    return str(inv["number"]) if inv["number"] is not None else DASH


def invoice_rows(items: list[Mapping[str, Any]], lang: str) -> list[str]:
    w = WORDS[lang]
    c = w.columns
    rows = [
        [
            str(inv["id"]),
            _invoice_number(inv),
            w.statuses.get(inv["status"], inv["status"]),
            w.document_types.get(inv["document_type"], inv["document_type"]),
            inv["kind"],
            inv["customer_number"],
            day(inv["invoice_date"], lang),
            day(inv["due_date"], lang),
            money(inv["gross"], lang),
            money(inv["open_amount"], lang),
            w.payment_statuses.get(inv["payment_status"], inv["payment_status"]),
        ]
        for inv in items
    ]
    heads = ["id", "number", "state", "type", "kind", "customer", "invoice_date", "due", "gross", "open", "payment"]
    return table([c[h] for h in heads], rows, right=[0, 8, 9])


def _line_table(lines: list[Mapping[str, Any]], lang: str, *, correcting: bool) -> list[str]:
    """An invoice's lines. A corrective draft's lines (seed 004) show the invoice's
    original quantity beside the new one the clerk sets (0 at first: the whole line
    reversed); their amounts are worked out at confirmation as reversal + new line, so
    they are shown without an amount, and the totals are the correction's difference."""
    w = WORDS[lang]
    c = w.columns
    rows = []
    for line in lines:
        flags = [w.reversal] if line["reversal"] else []
        if not line["chargeable"]:
            flags.append(w.non_chargeable)
        qty = f"{number(line['quantity'], lang)} {line['unit']}"
        head = [str(line["line_no"]), line["product_code"], line["description"]]
        tail = [price(line["unit_price"], lang), rate(line["vat_rate"], lang)]
        if correcting:
            original = line.get("original_quantity")
            was = f"{number(original, lang)} {line['unit']}" if original is not None else DASH
            rows.append([*head, was, qty, *tail])
        else:
            rows.append([*head, qty, *tail, money(line["net"], lang), ", ".join(flags)])
    if correcting:
        heads = [
            c["no"],
            c["product"],
            c["description"],
            w.original_quantity,
            w.new_quantity,
            c["unit_price"],
            c["rate"],
        ]
        return [w.corrective_draft, *("  " + x for x in table(heads, rows, right=[0, 3, 4, 5]))]
    heads = [c["no"], c["product"], c["description"], c["quantity"], c["unit_price"], c["rate"], c["net"], ""]
    return [f"{w.lines}:", *("  " + x for x in table(heads, rows, right=[0, 3, 4, 6]))]


def invoice_lines(inv: Mapping[str, Any], lang: str) -> list[str]:
    """One invoice as a clerk reads it: header, references as printed, lines, VAT per
    rate, totals, what is paid and open, its payments and corrective invoices."""
    w = WORDS[lang]
    c = w.columns
    doc = w.document_types.get(inv["document_type"], inv["document_type"])
    status = w.statuses.get(inv["status"], inv["status"])
    kind = w.kinds.get(inv["kind"], inv["kind"])
    name = f" {inv['customer_name']}" if inv.get("customer_name") else ""
    channel = f", {w.channels.get(inv['channel'], inv['channel'])}" if inv.get("channel") else ""
    out = [
        f"{w.invoice} {_invoice_number(inv)} (id {inv['id']}) {DASH} {doc}, {status} {DASH} {kind}",
        f"{w.customer} {inv['customer_number']}{name}{channel}",
        f"{w.invoice_date} {day(inv['invoice_date'], lang)}, {w.due_date} {day(inv['due_date'], lang)}"
        f" ({inv['payment_terms_days']} {w.days})",
    ]
    if inv.get("reference_printed"):
        out.append(f"{w.reference} {inv['reference_printed']}   {w.reference_rf} {inv['reference_rf_printed']}")
    if inv.get("original_invoice_id"):
        out.append(f"{w.original}: id {inv['original_invoice_id']}")
    correcting = inv["status"] == "draft" and inv.get("original_invoice_id") is not None
    out.extend(_line_table(inv["lines"], lang, correcting=correcting))
    vat_rows = [
        [rate(v["rate"], lang), *(money(v[k], lang) for k in ("net", "vat", "gross"))] for v in inv["vat_breakdown"]
    ]
    vat_rows.append([w.total, *(money(inv[k], lang) for k in ("net", "vat", "gross"))])
    out.extend("  " + x for x in table([c["rate"], w.net, w.vat, w.gross], vat_rows, right=[1, 2, 3]))
    if inv["status"] == "confirmed":
        pay_status = w.payment_statuses.get(inv["payment_status"], inv["payment_status"])
        out.append(
            f"{w.paid} {money(inv['paid'], lang)}, {w.credited} {money(inv['credited'], lang)},"
            f" {w.open} {money(inv['open_amount'], lang)} ({pay_status})"
        )
    if "payments" in inv:
        out.append(f"{w.payments}:" if inv["payments"] else w.no_payments)
        for p in inv["payments"]:
            state = w.payment_states.get(p["status"], p["status"])
            out.append(f"  {p['payment_id']}  {day(p['payment_date'], lang)}  {money(p['amount'], lang)}  {state}")
    if inv.get("corrective_invoices"):
        out.append(f"{w.correctives}: {', '.join(str(i) for i in inv['corrective_invoices'])}")
    return out


# --- payments ----------------------------------------------------------------------------


def payment_rows(items: list[Mapping[str, Any]], lang: str) -> list[str]:
    w = WORDS[lang]
    c = w.columns
    rows = [
        [
            p["payment_id"],
            day(p["payment_date"], lang),
            ("-" if p.get("kind") == "reversal" else "") + money(p["amount"], lang),  # as the bank-file preview
            p["reference"],
            w.payment_states.get(p["status"], p["status"]),
            str(p["invoice_id"]) if p["invoice_id"] is not None else DASH,
            p.get("payer_name") or DASH,
            p.get(f"reason_{lang}") or "",
        ]
        for p in items
    ]
    heads = [c["payment_id"], c["date"], c["amount"], w.reference, c["state"], c["invoice_id"], c["payer"], c["reason"]]
    return table(heads, rows, right=[2])
