"""``billing payments import FILE`` / ``files`` / ``file ID``: payments from the bank's
own files (camt.054, the Finnish reference-payment file), through the invoicing service.

``import`` shows the preview (what each entry would become) and then imports, unless
``--dry-run``; the same file twice records nothing, an entry an earlier file brought is
"repeated". A malformed file is refused whole with the line or element that is wrong
(exit 1, nothing recorded)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from billing_cli.http import Actor, actor_header, call, dump, where_in
from billing_cli.invoicing.common import Json, Lang, echo_lines, invoicing_client, say
from billing_cli.invoicing.text import DASH, day, moment, money, table
from billing_cli.invoicing.words import WORDS

app = typer.Typer(
    no_args_is_help=True,
    help="Payments from the bank's files (Maksut pankin tiedostoista): camt.054 and viitesiirto; import and list.",
)

OUTCOMES = {
    "fi": {"matched": "kohdistuu", "unmatched": "kohdistamaton", "repeated": "toistettu", "reversal": "peruutus"},
    "en": {"matched": "matched", "unmatched": "unmatched", "repeated": "repeated", "reversal": "reversal"},
}
HEADS = {
    "fi": ["Sijainti", "Arkistotunnus", "Päivä", "Summa", "Viite", "Tulos", "Lasku", "Maksaja", "Syy"],
    "en": ["Where", "Archive id", "Date", "Amount", "Reference", "Outcome", "Invoice", "Payer", "Reason"],
}
FILE_HEADS = {
    "fi": ["Id", "Tuotu", "Tiedosto", "Muoto", "Maksuja", "Summa", "Peruutuksia", "Kohdistettu", "Kohdistamatta",
           "Peruttu", "Odottaa", "Toistettu", "Tuoja"],
    "en": ["Id", "Imported", "File", "Format", "Payments", "Amount", "Reversals", "Matched", "Unmatched",
           "Reversed", "Pending", "Repeated", "By"],
}  # fmt: skip


_CAMT_ROOT = "/Document/BkToCstmrDbtCdtNtfctn/"


def location(where: str, lang: str) -> str:
    """Where an entry is in the file, short enough for the table: ``rivi 2`` (fi) /
    ``line 2``; a camt.054 element path without its fixed root and the single
    ``NtryDtls[1]`` step (``Ntfctn[1]/Ntry[1]/TxDtls[1]``). ``--json`` keeps the full path."""
    where = where_in(where, lang)
    if where.startswith(_CAMT_ROOT):
        where = where[len(_CAMT_ROOT) :].replace("/NtryDtls[1]/", "/")
    return where


ENTRY_HEADS = {
    "fi": ["Nro", "Sijainti", "Arkistotunnus", "Päivä", "Summa", "Viite", "Tila", "Lasku", "Maksaja", "Syy"],
    "en": ["No", "Where", "Archive id", "Date", "Amount", "Reference", "Status", "Invoice", "Payer", "Reason"],
}
PENDING = {"fi": "käsittelyssä", "en": "pending"}
REPEATED = {"fi": "toistettu", "en": "repeated"}


def file_lines(f: Mapping[str, Any], lang: str) -> list[str]:
    """One imported file: what it is, its counts, then each entry with its status now."""
    states = {**WORDS[lang].payment_states, "pending": PENDING[lang]}
    rows = [
        [
            str(e["seq"]),
            location(e["location"], lang),
            e["archive_id"],
            day(e["payment_date"], lang),
            ("-" if e["kind"] == "reversal" else "") + money(e["amount"], lang),
            e["reference"],
            states.get(e["status"], e["status"]) + (f" ({REPEATED[lang]})" if e.get("repeated") else ""),
            str(e["invoice_number"]) if e.get("invoice_number") is not None else DASH,
            e.get("payer_name") or DASH,
            e.get(f"reason_{lang}") or "",
        ]
        for e in f["entries"]
    ]
    counts = [f[k] for k in ("count", "reversals", "matched", "unmatched", "reversed", "pending", "repeated")]
    if lang == "fi":
        head = [
            f"Tuonti {f['id']}: {f['file_name']} ({f['format']}, {f['file_id']}),"
            f" tuotu {moment(f['imported_at'], lang)}, tuoja {f['imported_by']}",
            "{} maksua {}, {} peruutusta; kohdistettu {}, kohdistamatta {}, peruttu {}, käsittelyssä {},"
            " toistettu {}".format(counts[0], money(f["amount"], lang), *counts[1:]),
        ]
    else:
        head = [
            f"Import {f['id']}: {f['file_name']} ({f['format']}, {f['file_id']}),"
            f" imported {moment(f['imported_at'], lang)} by {f['imported_by']}",
            "{} payment(s) {}, {} reversal(s); matched {}, unmatched {}, reversed {}, pending {}, repeated {}".format(
                counts[0], money(f["amount"], lang), *counts[1:]
            ),
        ]
    return [*head, *table(ENTRY_HEADS[lang], rows, right=[0, 4])] if rows else head


def preview_lines(p: Mapping[str, Any], lang: str) -> list[str]:
    """The preview: a line about the file, then one row per entry."""
    words = OUTCOMES[lang]
    rows = [
        [
            location(e["location"], lang),
            e["archive_id"],
            day(e["payment_date"], lang),
            ("-" if e["kind"] == "reversal" else "") + money(e["amount"], lang),
            e["reference"],
            words.get(e["outcome"], e["outcome"]),
            str(e["invoice_number"]) if e["invoice_number"] is not None else DASH,
            e.get("payer_name") or DASH,
            e.get(f"reason_{lang}") or "",
        ]
        for e in p["entries"]
    ]
    if lang == "fi":
        head = (
            f"{p['file_name']} ({p['format']}, {p['file_id']}): {p['count']} maksua {money(p['amount'], lang)},"
            f" {p['reversals']} peruutusta {money(p['reversal_amount'], lang)}"
        )
    else:
        head = (
            f"{p['file_name']} ({p['format']}, {p['file_id']}): {p['count']} payment(s) {money(p['amount'], lang)},"
            f" {p['reversals']} reversal(s) {money(p['reversal_amount'], lang)}"
        )
    return [head, *table(HEADS[lang], rows, right=[3])]


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="camt.054 or viitesiirto")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the preview only: record nothing")] = False,
    lang: Lang = "fi",
    as_json: Json = False,
    actor: Actor = None,
) -> None:
    """Import the bank's payment file: the preview, then the import (one event per new entry)."""
    data = file.read_bytes()
    upload = {"file": (file.name, data, "application/octet-stream")}
    with invoicing_client() as c:
        preview = call(
            c, "POST", "/payments/files/preview", lang, files=upload, headers=actor_header(actor), json_errors=as_json
        )
        if as_json and dry_run:
            dump(preview)
            return
        if not as_json:
            echo_lines(preview_lines(preview, lang))
        if preview["already_imported_as"] is not None and not as_json:
            say(
                lang,
                f"Tiedosto on jo tuotu (tuonti {preview['already_imported_as']}): mitään ei kirjattu uudelleen.",
                f"The file is imported already (import {preview['already_imported_as']}): nothing recorded again.",
            )
            return
        if dry_run:
            say(lang, "Kokeilu (--dry-run): mitään ei kirjattu.", "Dry run (--dry-run): nothing recorded.")
            return
        done = call(
            c,
            "POST",
            "/payments/files",
            lang,
            files=upload,
            data={"sha256": preview["sha256"]},
            headers=actor_header(actor),
            json_errors=as_json,
        )
    if as_json:
        dump(done)
        return
    if done["already_imported"]:
        say(
            lang,
            f"Tiedosto on jo tuotu (tuonti {done['id']}): mitään ei kirjattu uudelleen.",
            f"The file is imported already (import {done['id']}): nothing recorded again.",
        )
        return
    say(
        lang,
        f"Tuonti {done['id']}: {done['recorded']} kirjattu, {done['repeated']} toistettu (toisesta tiedostosta jo"
        " tuotu, ei kirjattu uudelleen). Kohdistus: bin/billing payments files",
        f"Import {done['id']}: {done['recorded']} recorded, {done['repeated']} repeated (brought by an earlier file,"
        " not recorded again). Matching: bin/billing payments files",
    )


@app.command("files")
def files(
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """The imported files, newest first: counts, matched, unmatched, reversed, pending, repeated."""
    with invoicing_client() as c:
        page = call(c, "GET", "/payments/files", lang, params={"limit": limit, "offset": offset}, json_errors=as_json)
    if as_json:
        dump(page)
        return
    say(lang, f"{page['total']} tuotua tiedostoa", f"{page['total']} imported file(s)")
    rows = [
        [
            str(f["id"]),
            moment(f["imported_at"], lang),
            f["file_name"],
            f["format"],
            str(f["count"]),
            money(f["amount"], lang),
            str(f["reversals"]),
            str(f["matched"]),
            str(f["unmatched"]),
            str(f["reversed"]),
            str(f["pending"]),
            str(f["repeated"]),
            f["imported_by"],
        ]
        for f in page["items"]
    ]
    if rows:
        echo_lines(table(FILE_HEADS[lang], rows, right=[0, 4, 5, 6, 7, 8, 9, 10, 11]))


@app.command("file")
def file(
    file_id: Annotated[int, typer.Argument(min=1, help="the import's id (bin/billing payments files)")],
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """One imported file and its entries, each with its status now (matched, unmatched, allocated, reversed...)."""
    with invoicing_client() as c:
        detail = call(c, "GET", f"/payments/files/{file_id}", lang, json_errors=as_json)
    if as_json:
        dump(detail)
        return
    echo_lines(file_lines(detail, lang))
