"""The clerk's Billing tab (seed 000 steps 8-17) and the invoice life cycle (seed 004)
through ``billing invoicing …``, against a real invoicing process on the stack's Kafka
and PostgreSQL: what the clerk reads is asserted line by line.

Hand-computed amounts (line net = quantity x unit price; VAT once per invoice per rate,
half away from zero):
- C-1: R1 (1 x 30.00 @ 10 %) + R2 (1 x 30.00 @ 10 %, 2 x 12.10 @ 25.5 %):
  10 %: net 60.00, VAT 6.00, gross 66.00; 25.5 %: net 24.20, VAT 24.20 x 0.255 = 6.171
  -> 6.17, gross 30.37; invoice net 84.20, VAT 12.17, gross 96.37; terms 14 and 21 days
  -> the longer: due 23.11.2026 + 21 = 14.12.2026.
- C-2, C-3, C-4: 1 x 30.00 @ 10 % each: net 30.00, VAT 3.00, gross 33.00.
- The run: 10 %: 60.00 + 3 x 30.00 = 150.00, VAT 15.00, gross 165.00; 25.5 %: 24.20 /
  6.17 / 30.37; total net 174.20, VAT 21.17, gross 195.37; channels: e-mail 3 (the
  persons C-1, C-2, C-4), e-invoice 1 (the company C-3); R6 left out (order cancelled).
- Numbers 1 000 000 001... in customer order; national reference = number + 7-3-1 check
  digit, weights 7, 3, 1, ... from the right: 1000000001 -> 1*7 + 1*7 = 14 -> 6:
  10000000016 (printed 1 00000 00016), its RF form: 10000000016 + "RF00" as digits
  (R=27, F=15) = 10000000016271500, mod 97 = 6, check 98 - 6 = 92: RF92 1000 0000 016;
  1000000002 -> 2*7 + 1*7 = 21 -> 9: 10000000029; 1000000005 -> 5*7 + 1*7 = 42 -> 8:
  10000000058; 3000000001 -> 1*7 + 3*7 = 28 -> 2: 30000000012.
- Corrective of C-1's invoice, KUVA 2 -> 1: reversal -2 x 12.10 = -24.20, new line
  1 x 12.10 = 12.10; 25.5 %: net -12.10, VAT -12.10 x 0.255 = -3.0855 -> -3.09, gross
  -15.19: a credit note, number 3 000 000 001; C-1's invoice then has 96.37 - 15.19 =
  81.18 open; 1 KUVA returns as the ready request R2.c3000000001: 12.10 + 3.09 = 15.19.
- The notice run: N1 = 2 x 12.10 @ 25.5 % = 24.20 + 6.17 = 30.37, number 2 000 000 001,
  reference 1*7 + 2*7 = 21 -> 9: 2 00000 00019.
- Payments: 33.00 on 1 00000 00029 pays C-2's 33.00 in full; 10.00 on an unknown
  reference, allocated by hand to 1000000003 (C-3, 33.00): 23.00 open, partially paid.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from billing_cli.main import app as cli
from tests.support.credentials import SYSTEM
from tests.support.isolation import API_TOKEN, Sandbox, ServiceProcess
from tests.support.kafka import Publisher, wait_for
from tests.support.sales import SUBSCRIPTION_LINE, Inbound, payment, profile, request

pytestmark = pytest.mark.integration

SUPPLEMENT = ("KUVA", "Kuvaliite", "2", "12.10", "25.5", None)
NBSP = "\u00a0"


@pytest.fixture
async def service(sandbox: Sandbox, log_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ServiceProcess]:
    """A real invoicing process; the CLI finds it through ``BILLING_INVOICING_URL``."""
    await sandbox.migrated("invoicing")  # the schema copied while the database is new
    proc = ServiceProcess(sandbox, "invoicing", log_dir, daily_run_enabled=False, jobs_poll_interval_s=0.1).start()
    try:
        await proc.wait_ready()
        monkeypatch.setenv("BILLING_INVOICING_URL", proc.url)
        monkeypatch.setenv("BILLING_TOKEN", API_TOKEN)
        yield proc
    finally:
        proc.stop()


async def billing(*args: str, code: int = 0, env: dict[str, str] | None = None) -> str:
    """``billing invoicing ARGS``: its output (stdout and stderr), the exit code checked."""
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["invoicing", *args], env=env)
    assert result.exit_code == code, f"exit {result.exit_code}:\n{result.output}"
    return result.output


async def as_json(*args: str) -> Any:
    return json.loads(await billing(*args, "--json"))


def lines(output: str) -> list[str]:
    """The output's lines, runs of spaces (table padding) squeezed to one."""
    return [re.sub(r" +", " ", line).strip() for line in output.replace(NBSP, " ").splitlines()]


async def test_billing_tab_and_invoice_life_cycle_through_the_cli(
    sandbox: Sandbox, service: ServiceProcess, tmp_path: Path
) -> None:
    api = httpx.AsyncClient(base_url=service.url, headers={"Authorization": f"Bearer {API_TOKEN}"})

    async def listing(kind: str = "subscription") -> dict[str, Any]:
        body: dict[str, Any] = (await api.get("/billing-requests", params={"kind": kind})).json()
        return body

    async with api, Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.profiles(profile("C-1"), profile("C-2", valid=False), profile("C-3", company=True))
        await inbound.requests(
            request("R1", "C-1"),
            request("R2", "C-1", terms=21, lines=(SUBSCRIPTION_LINE, SUPPLEMENT)),
            request("R3", "C-2"),
            request("R4", "C-3", order_id="O-A"),
            request("R5", "C-4"),  # no billing profile yet
            request("R6", "C-3", order_id="O-B"),
            request("N1", "C-1", kind="notice", lines=(SUPPLEMENT,)),
        )
        await inbound.cancel("O-B", "C-3")

        async def all_in() -> bool:
            b = await listing()
            return b["total"] == 6 and b["errors"] == 2 and (b["notice"] or {}).get("cancelled_requests") == 1

        await wait_for(all_in, timeout=30)

        # seed steps 8-9: fetch; the red notice first, then the rows, errors marked "virhe"
        out = await billing("requests", "--kind", "subscription")
        got = lines(out)
        assert got[0] == (
            "Virhe: 2 laskutuspyynnössä on virheellisiä laskutustietoja; 1 tilausta on peruttu"
            " (1 pyyntöä ei laskuteta)."
        )
        assert sorted(got[1:3]) == [
            "1 × Asiakkaan laskutustietoja ei ole vielä saatu asiakasrekisteristä.",
            "1 × Osoite puuttuu.",
        ]
        assert got[3] == "1 × Tilaus on peruttu."
        assert "Tilauslaskut: 6 laskutuspyyntöä, valmiina 3, virheellisiä 2" in got
        assert [line for line in got if " virhe " in f" {line} "] == [
            "R3 C-2 virhe 23.11.2026 30,00",
            "R5 C-4 virhe 23.11.2026 30,00",
        ]
        r3 = got.index("R3 C-2 virhe 23.11.2026 30,00")
        assert got[r3 + 1 : r3 + 3] == ["address: Osoite puuttuu.", "asiakaskortti: bin/billing customers get C-2"]
        r5 = got.index("R5 C-4 virhe 23.11.2026 30,00")
        assert got[r5 + 1 : r5 + 3] == [
            "Asiakkaan laskutustietoja ei ole vielä saatu asiakasrekisteristä.",
            "asiakaskortti: bin/billing customers get C-4",
        ]
        assert "R1 C-1 valmis 23.11.2026 30,00" in got
        assert "R2 C-1 valmis 23.11.2026 54,20" in got  # 30.00 + 24.20
        assert "R6 C-3 peruttu 23.11.2026 30,00" in got  # cancelled: listed with the errors, before the ready
        assert got.index("R6 C-3 peruttu 23.11.2026 30,00") < got.index("R1 C-1 valmis 23.11.2026 30,00")
        assert not any(line.startswith("N1") for line in got)  # the other kind

        en = lines(await billing("requests", "--kind", "subscription", "--state", "error", "--lang", "en"))
        assert en[0] == (
            "Error: 2 billing requests have erroneous billing data; 1 orders are cancelled"
            " (1 requests will not be invoiced)."
        )
        assert [line.split()[0] for line in en if re.match(r"R\d ", line)] == ["R3", "R5"]
        assert "customer card: bin/billing customers get C-2" in en
        both = lines(await billing("requests", "--kind", "subscription", "--lang", "both"))
        assert both[0].startswith("Virhe: 2 laskutuspyynnössä") and both[1].startswith("Error: 2 billing requests")
        assert "R3 C-2 virhe/error 23.11.2026 30,00" in both

        # seed steps 10-12: the cards are fixed; the errors are gone from the notice
        await inbound.profiles(profile("C-2", version=2), profile("C-4"))

        async def fixed() -> bool:
            b = await listing()
            return b["errors"] == 0 and b["ready"] == 5

        await wait_for(fixed, timeout=15, interval=0.1)
        got = lines(await billing("requests", "--kind", "subscription"))
        assert got[0] == "Virhe: 1 tilausta on peruttu (1 pyyntöä ei laskuteta)."  # the cancelled order remains
        assert "Tilauslaskut: 6 laskutuspyyntöä, valmiina 5, virheellisiä 0" in got
        assert not any(" virhe " in f" {line} " for line in got)

        # seed steps 13-16: select all, preview, with the summary and its PDF
        preview_pdf = tmp_path / "esikatselu.pdf"
        out = await billing(
            "run",
            "--kind",
            "subscription",
            "--mode",
            "preview",
            "--all",
            "--pdf",
            str(preview_pdf),
        )
        got = lines(out)
        assert re.search(r"invoicing\.billing-run\s+valmis\s+\d+/\d+\s+virheitä 0", out), out
        summary = got[got.index(next(line for line in got if line.startswith("Laskutusajon kooste"))) :]
        assert summary[0] == (
            "Laskutusajon kooste – Tilauslaskut – ESIKATSELU (mitään ei tallennettu, laskunumeroita ei varattu)"
        )
        assert summary[1].startswith("Ajo ") and f", käynnistäjä {SYSTEM}, valmistui " in summary[1]
        assert summary[2:11] == [
            "Laskuja 4, laskutuspyyntöjä 5",
            "Esikatselu: mitään ei laskutettu eikä tallennettu, eikä laskunumeroita varattu."
            " Laskut syntyvät, kun ajat laskutusajon tilassa --mode confirm.",
            "Laskupäivä 23.11.2026",
            "ALV Veroton ALV Verollinen",
            "10 % 150,00 15,00 165,00",
            "25,5 % 24,20 6,17 30,37",
            "Yhteensä 174,20 21,17 195,37",
            "Lähetyskanavat: verkkolasku 1, sähköposti 3",
            "Laskuttamatta jääneet:",
        ]
        assert summary[11] == "1 × Tilaus on peruttu. (order-cancelled)"
        assert "laskutettiin" not in out  # a preview bills nothing, and says so
        assert summary[12] == f"PDF tallennettu: {preview_pdf} ({preview_pdf.stat().st_size} tavua)"
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(preview_pdf.read_bytes())).pages)
        assert "ESIKATSELU" in text and "195,37" in text
        assert lines(await billing("invoices")) == ["0 laskua"]  # a preview persists nothing

        out = await billing("run", "--kind", "subscription", "--mode", "confirm", "--all")
        got = lines(out)
        assert "Laskutusajon kooste – Tilauslaskut – VAHVISTETTU (laskut numeroitu)" in got
        assert "Laskuja 4, laskutuspyyntöjä 5" in got and "Yhteensä 174,20 21,17 195,37" in got
        confirm_run = re.findall(r"^Ajo ([0-9a-f-]{36}),", out, re.M)[0]
        assert f"Ajo {confirm_run}, käynnistäjä {SYSTEM}, " in out  # who started it: the credential's name
        en_pdf = tmp_path / "summary.pdf"
        en = lines(await billing("summary", confirm_run, "--lang", "en", "--pdf", str(en_pdf)))
        assert en[0] == "Billing run summary – Subscription invoices – CONFIRMED (invoices numbered)"
        assert "Total 174.20 21.17 195.37" in en and "Delivery channels: e-invoice 1, e-mail 3" in en
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(en_pdf.read_bytes())).pages)
        assert "195.37" in text and "1000000004" in text
        runs = lines(await billing("runs"))
        assert [r.split()[1:3] + r.split()[-2:] for r in runs[1:]] == [
            ["subscription", "confirm", "4", "195,37"],
            ["subscription", "preview", "4", "195,37"],
        ]
        # the list is empty and the notice gone (the run reported the cancelled order)
        assert lines(await billing("requests", "--kind", "subscription")) == [
            "Tilauslaskut: 0 laskutuspyyntöä, valmiina 0, virheellisiä 0",
            "Ei laskutuspyyntöjä.",
        ]

        # seed step 17: the same for notice invoices; as drafts, not waited for, then confirmed
        out = await billing("run", "--kind", "notice", "--mode", "draft", "--all", "--no-wait")
        [notice_run] = re.findall(r"/jobs/([0-9a-f-]{36})$", out, re.M)
        assert lines(out)[-1] == f"Kooste ajon jälkeen: bin/billing invoicing summary {notice_run}"
        followed = await asyncio.to_thread(
            CliRunner().invoke, cli, ["jobs", "show", notice_run, "--service", "invoicing", "--wait"]
        )
        assert followed.exit_code == 0 and "valmis" in followed.output, followed.output
        got = lines(await billing("summary", notice_run))
        assert got[0].startswith("Laskutusajon kooste – Ilmoituslaskut – LUONNOS")
        assert "Laskuja 1, laskutuspyyntöjä 1" in got and "25,5 % 24,20 6,17 30,37" in got
        got = lines(await billing("confirm", "--all-of-kind", "notice"))
        assert got[0] == "Vahvistettu 1, veloituksettomia 0, hylätty 0"
        # 2000000001 -> 1*7 + 2*7 = 21 -> check 9: 20000000019
        assert re.fullmatch(r"Vahvistettu: lasku 2000000001 \(id \d+\), verollinen 30,37, viite 2 00000 00019", got[1])

        # the invoices, and one opened
        got = lines(await billing("invoices", "--status", "confirmed", "--kind", "subscription"))
        assert got[0] == "4 laskua"
        ids = {i["customer_number"]: i["id"] for i in (await as_json("invoices", "--kind", "subscription"))["items"]}
        assert [row.split()[1:] for row in got[2:]] == [
            [
                "1000000001",
                "vahvistettu",
                "lasku",
                "subscription",
                "C-1",
                "23.11.2026",
                "14.12.2026",
                "96,37",
                "96,37",
                "avoin",
            ],
            [
                "1000000002",
                "vahvistettu",
                "lasku",
                "subscription",
                "C-2",
                "23.11.2026",
                "7.12.2026",
                "33,00",
                "33,00",
                "avoin",
            ],
            [
                "1000000003",
                "vahvistettu",
                "lasku",
                "subscription",
                "C-3",
                "23.11.2026",
                "7.12.2026",
                "33,00",
                "33,00",
                "avoin",
            ],
            [
                "1000000004",
                "vahvistettu",
                "lasku",
                "subscription",
                "C-4",
                "23.11.2026",
                "7.12.2026",
                "33,00",
                "33,00",
                "avoin",
            ],
        ]
        got = lines(await billing("show", str(ids["C-1"])))
        assert got[:4] == [
            f"Lasku 1000000001 (id {ids['C-1']}) – lasku, vahvistettu – Tilauslaskut",
            "Asiakas C-1 Asiakas C-1, sähköposti",
            "Laskupäivä 23.11.2026, eräpäivä 14.12.2026 (21 pv)",
            "Viite 1 00000 00016 RF-viite RF92 1000 0000 016",
        ]
        assert got[4:] == [
            "Rivit:",
            "Nro Tuote Kuvaus Määrä À-hinta ALV Veroton",
            "1 HS-1KK Helsingin Sanomat 1 kk 1 kpl 30,00 10 % 30,00",
            "2 HS-1KK Helsingin Sanomat 1 kk 1 kpl 30,00 10 % 30,00",
            "3 KUVA Kuvaliite 2 kpl 12,10 25,5 % 24,20",
            "ALV Veroton ALV Verollinen",
            "10 % 60,00 6,00 66,00",
            "25,5 % 24,20 6,17 30,37",
            "Yhteensä 84,20 12,17 96,37",
            "Maksettu 0,00, hyvitetty 0,00, avoinna 96,37 (avoin)",
            "Ei maksuja.",
        ]
        # confirmed is read-only: the refusal is printed in Finnish and the command fails
        out = await billing("edit-line", str(ids["C-1"]), "3", "--quantity", "1", code=1)
        assert out.startswith("HTTP 409: Lasku") and "on jo vahvistettu" in out

        # seed 004: a corrective invoice: every line at 0 beside its original quantity (the
        # whole invoice reversed: 10 %: -60.00, VAT -6.00; 25.5 %: -24.20, VAT -6.17);
        # the papers need no correction (removed), KUVA 2 -> 1, the taken-off one back to ready
        out = await billing("corrective", str(ids["C-1"]), "--return", "ready")
        draft = int(re.findall(r"^Lasku – \(id (\d+)\)", out, re.M)[0])
        assert f"sitten: bin/billing invoicing confirm {draft}" in out
        got = lines(out)
        at = got.index(
            "Korjattavat rivit: laskun alkuperäinen määrä ja uusi määrä"
            " (0 = peru rivi; summat alla ovat erotus laskuun nähden):"
        )
        assert got[at + 1 : at + 9] == [
            "Nro Tuote Kuvaus Alkup. määrä Uusi määrä À-hinta ALV",
            "1 HS-1KK Helsingin Sanomat 1 kk 1 kpl 0 kpl 30,00 10 %",
            "2 HS-1KK Helsingin Sanomat 1 kk 1 kpl 0 kpl 30,00 10 %",
            "3 KUVA Kuvaliite 2 kpl 0 kpl 12,10 25,5 %",
            "ALV Veroton ALV Verollinen",
            "10 % -60,00 -6,00 -66,00",
            "25,5 % -24,20 -6,17 -30,37",
            "Yhteensä -84,20 -12,17 -96,37",
        ]
        await billing("remove-line", str(draft), "1")
        got = lines(await billing("remove-line", str(draft), "2"))
        at = got.index("Nro Tuote Kuvaus Alkup. määrä Uusi määrä À-hinta ALV")
        assert got[at + 1 :] == [
            "3 KUVA Kuvaliite 2 kpl 0 kpl 12,10 25,5 %",
            "ALV Veroton ALV Verollinen",
            "25,5 % -24,20 -6,17 -30,37",
            "Yhteensä -24,20 -6,17 -30,37",
        ]
        out = await billing("remove-line", str(draft), "3", code=1)
        assert out.startswith("HTTP 409: Viimeistä riviä ei voi poistaa"), out
        got = lines(await billing("edit-line", str(draft), "3", "--quantity", "1"))
        at = got.index("Nro Tuote Kuvaus Alkup. määrä Uusi määrä À-hinta ALV")
        assert got[at + 1 :] == [
            "3 KUVA Kuvaliite 2 kpl 1 kpl 12,10 25,5 %",
            "ALV Veroton ALV Verollinen",
            "25,5 % -12,10 -3,09 -15,19",
            "Yhteensä -12,10 -3,09 -15,19",
        ]
        got = lines(await billing("confirm", str(draft)))
        assert got == [f"Vahvistettu: hyvityslasku 3000000001 (id {draft}), verollinen -15,19, viite 3 00000 00012"]
        got = lines(await billing("show", str(draft)))
        assert got[0] == f"Lasku 3000000001 (id {draft}) – hyvityslasku, vahvistettu – Tilauslaskut"
        assert f"Korjaa laskua: id {ids['C-1']}" in got
        at = got.index("Rivit:")
        assert got[at + 2 : at + 4] == [
            "1 KUVA Kuvaliite -2 kpl 12,10 25,5 % -24,20 peruutus",
            "2 KUVA Kuvaliite 1 kpl 12,10 25,5 % 12,10",
        ]
        got = lines(await billing("show", str(ids["C-1"])))
        assert "Maksettu 0,00, hyvitetty -15,19, avoinna 81,18 (avoin)" in got
        assert f"Hyvitys-/korjauslaskut (id): {draft}" in got
        got = lines(await billing("requests", "--kind", "subscription"))
        assert [row.split()[:3] + row.split()[-1:] for row in got[2:]] == [["R2.c3000000001", "C-1", "valmis", "12,10"]]

        # a draft run over a selection from a file, deleted, drafted again, confirmed in bulk
        ids_file = tmp_path / "ids.txt"
        ids_file.write_text("# the returned supplement\nR2.c3000000001\n\nR2.c3000000001\n", encoding="utf-8")
        got = lines(await billing("run", "--kind", "subscription", "--mode", "draft", "--from-file", str(ids_file)))
        assert "Laskuja 1, laskutuspyyntöjä 1" in got and "Yhteensä 12,10 3,09 15,19" in got
        [drafted] = (await as_json("invoices", "--status", "draft"))["items"]
        assert lines(await billing("delete", str(drafted["id"]))) == [
            f"Luonnos {drafted['id']} poistettu; 1 laskutuspyyntöä palasi valmiiksi."
        ]
        await billing("run", "--kind", "subscription", "--mode", "draft", "--request-id", "R2.c3000000001")
        [drafted] = (await as_json("invoices", "--status", "draft"))["items"]
        # in bulk with an invoice confirmed already: that one is refused (exit 1), the draft confirmed
        got = lines(await billing("confirm", str(ids["C-1"]), str(drafted["id"]), code=1))
        assert got == [
            "Vahvistettu 1, veloituksettomia 0, hylätty 1",
            f"Vahvistettu: lasku 1000000005 (id {drafted['id']}), verollinen 15,19, viite 1 00000 00058",
            f"id {ids['C-1']}: Lasku 1000000001 on jo vahvistettu: sitä ei voi enää muuttaa (tee hyvityslasku).",
        ]

        # payments: one by its printed reference, one unknown and allocated by hand
        await inbound.payment(payment("B1", "1 00000 00029", "33.00"))
        await inbound.payment(payment("B2", "12345672", "10.00"))

        async def both_in() -> bool:
            return bool((await api.get("/payments")).json()["total"] == 2)

        await wait_for(both_in, timeout=30)
    got = lines(await billing("payments", "--unmatched"))
    assert got[0] == "1 maksua"
    assert got[2] == "B2 1.12.2026 10,00 12345672 kohdistamaton – Maksaja Viitteellä ei löydy laskua."
    got = lines(await billing("allocate", "B2", "--invoice", "1000000003"))
    assert got == [f"Maksu B2 (10,00) kohdistettu laskulle 1000000003 (id {ids['C-3']})."]
    assert lines(await billing("payments", "--unmatched")) == ["0 maksua"]
    got = lines(await billing("show", str(ids["C-3"])))
    assert "Maksettu 10,00, hyvitetty 0,00, avoinna 23,00 (osittain maksettu)" in got
    assert got[-2:] == ["Maksut:", "B2 1.12.2026 10,00 kohdistettu käsin"]
    got = lines(await billing("show", str(ids["C-2"])))
    assert "Maksettu 33,00, hyvitetty 0,00, avoinna 0,00 (maksettu)" in got

    # a wrong token: the service's refusal named, with where the token comes from; exit 1
    out = await billing("invoices", code=1, env={"BILLING_TOKEN": "wrong"})
    assert out.strip().startswith("Tunnus hylättiin (tuntematon, vanhentunut tai peruttu) (invoicing, HTTP 401)")
    assert "aseta BILLING_TOKEN omaksi tunnukseksesi" in out
