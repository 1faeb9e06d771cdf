"""The *Laskujen lähetys* tab in Chromium (seed steps 18-25), against the real dispatch
service and its three channel workers as OS processes, on real Kafka and PostgreSQL,
with a real SMTP sink: channel by channel, what waits, select all, the preview with a
sample to open, send, the confirmation with the count, the mails received; two deliveries
refused by the mail server shown with their reason in Finnish: one sent again after the
clerk fixed the e-mail on the card (to the new address), the other moved to print; the
print channel in English. The seed's words are the buttons' (step 21 "Lähetä laskut
sähköpostilla" opens the send step, step 22 the preview switch, on until taken off,
step 23 "Lähetä laskut"); each outcome is focused at the top of the screen, and axe-core
finds nothing serious or critical in any state.

The documents are issued invoices as invoicing publishes them (the default test invoice
of ``tests.support.documents``: 1 x 30.00 at 10 % + 2 x 12.10 at 25.5 % = 54.20 net,
3.00 + 6.17 VAT, 63.37 gross): six by e-mail (two to addresses the mail server
refuses), two e-invoices, two to print.
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from playwright.sync_api import Page, expect

from tests.browser.a11y import assert_accessible, assert_outcome_in_view, tab_presses_to
from tests.browser.conftest import Stack, shot
from tests.browser.tabs_support import dispatch_overrides, wait_until, workers
from tests.support import documents as d
from tests.support.dispatch import publish, publish_profile
from tests.support.finvoice import finvoice
from tests.support.pdf import text as pdf_text
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

XSD = Path(__file__).resolve().parents[2] / "services/dispatch/finvoice/schema/Finvoice3.0.xsd"
REFUSED = "nobody@example.com"
FIXED = "asiakas.5@example.com"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as s:
        yield s


@pytest.fixture
def stack_services() -> tuple[str, ...]:
    return ("dispatch",)


@pytest.fixture
def stack_overrides(sink: SmtpSink, tmp_path: Path) -> dict[str, dict[str, Any]]:
    return {"dispatch": dispatch_overrides(tmp_path, sink.port)}


def documents() -> list[d.InvoiceDocument]:
    def person(k: int, **update: Any) -> d.InvoiceDocument:
        data = d.PERSON.model_copy(update={"email": f"asiakas.{k}@example.com", **update})
        return d.invoice(1000000000 + k, who=d.customer(f"C-{k}", data))

    mails = [person(k) for k in range(1, 5)] + [person(5, email=REFUSED), person(6, email=REFUSED)]
    einvoices = [d.invoice(1000000100 + k, who=d.customer(f"Y-{k}", d.COMPANY)) for k in (1, 2)]
    prints = [person(200 + k, delivery_channel="print") for k in (1, 2)]
    return [*mails, *einvoices, *prints]


def sample(page: Page, base: str, kind: str) -> bytes:
    """Open the preview's first sample of ``kind`` through the console, as the clerk's
    browser does (the signed-in session's cookie; the services are never asked directly)."""
    link = page.locator(f"[data-sample={kind}]").first
    href = link.get_attribute("href")
    assert href is not None and href.startswith("/sending/previews/")
    response = page.request.get(base + href)
    assert response.status == 200
    return response.body()


def pick_all_and_send(
    page: Page, *, preview: bool, step: str, send: str = "Lähetä laskut", select_all: str = "Valitse kaikki"
) -> None:
    """Step 20 *Valitse kaikki*, step 21 ``step`` (e.g. *Lähetä laskut sähköpostilla*),
    step 22 the preview switch (focused, on until the clerk takes it off), step 23 ``send``."""
    page.get_by_role("button", name=select_all).click()
    page.get_by_role("button", name=step, exact=True).click()
    switch = page.locator("[data-preview-switch]")
    expect(switch).to_be_focused()
    switch.check() if preview else switch.uncheck()
    page.get_by_role("button", name=send, exact=True).click()


def test_sending_channel_by_channel(page: Page, stack: Stack, sink: SmtpSink, tmp_path: Path) -> None:
    sink.refuse = {REFUSED: "550 5.1.1 No such user"}
    overrides = dispatch_overrides(tmp_path, sink.port)
    stack.run(publish(stack.sandbox, documents()))

    with workers(stack, overrides, "email", "einvoice", "print"):
        # --- 18. the Sending tab: how many wait on each channel ----------------------------------
        page.click("a.tab[data-tab=sending]")

        def arrived() -> bool:
            page.reload()
            return page.locator("[data-channel-card=print] [data-waiting]").inner_text() == "2"

        wait_until(arrived, what="the documents have arrived at dispatch")
        waiting = {c: page.locator(f"[data-channel-card={c}] [data-waiting]") for c in ("email", "einvoice", "print")}
        expect(waiting["email"]).to_have_text("6")
        expect(waiting["einvoice"]).to_have_text("2")
        expect(waiting["print"]).to_have_text("2")
        assert_accessible(page, "sending: the channels")
        shot(page, "sending-tab.png")

        # --- 19. the e-mail channel; 20. Valitse kaikki; 21-22 preview on -------------------------
        page.click("[data-channel-card=email]")
        expect(page.locator("[data-waiting-table] tbody tr")).to_have_count(6)
        expect(page.locator("[data-send-step=open]")).to_have_text("Lähetä laskut sähköpostilla")
        expect(page.locator("[data-preview-switch]")).to_be_hidden()  # step 22 comes after step 21
        pick_all_and_send(page, preview=True, step="Lähetä laskut sähköpostilla")
        expect(page.locator("[data-selected-count]")).to_have_text("6")
        assert_accessible(page, "sending: the e-mail list, the send step open")
        done = page.locator("[data-preview-done]")
        expect(done).to_have_text(re.compile(r"Esikatselu: 6 laskua muodostettu\."), timeout=60_000)
        assert_outcome_in_view(page, done)
        assert tab_presses_to(page, page.locator("[data-sample]").first, most=5) <= 5
        assert_accessible(page, "sending: the preview's samples")
        shot(page, "sending-email-preview.png")
        mail = email.message_from_bytes(sample(page, stack.url, "eml"), policy=default)
        assert isinstance(mail, EmailMessage)
        attachment = next(mail.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        assert "63,37" in pdf_text(attachment.get_content())  # the gross, as printed
        assert sink.count() == 0  # a preview sends nothing

        # --- 22. preview off; 23. Lähetä; 24. the confirmation ----------------------------------------
        pick_all_and_send(page, preview=False, step="Lähetä laskut sähköpostilla")
        sent = page.locator("[data-sent]")
        # 6 selected: 4 delivered, the two refused addresses failed at once
        expect(sent).to_have_text("4 laskua lähetetty sähköpostilla.", timeout=90_000)
        assert_outcome_in_view(page, sent)
        expect(page.locator("[data-send-failed]")).to_have_attribute("data-send-failed", "2")
        shot(page, "sending-email-sent.png")
        wait_until(lambda: sink.count() == 4, what="4 mails at the SMTP sink")
        recipients = sorted(str(m["To"]) for m in sink.messages())
        assert [re.sub(r".*<|>.*", "", r) for r in recipients] == [f"asiakas.{k}@example.com" for k in range(1, 5)]

        # --- failed deliveries with the reason (the lists are refreshed beside the confirmation) -------
        expect(page.locator("[data-channel-card=email] [data-waiting]")).to_have_text("0")
        expect(page.locator("[data-waiting-total]")).to_have_text("Lähetettäviä 0 kpl.")
        failed = page.locator("[data-failed-table] tbody tr")
        expect(failed).to_have_count(2)
        reasons = failed.locator("[data-reason]")
        expect(reasons.first).to_contain_text("address-refused")
        expect(reasons.first).to_contain_text("Postipalvelin hylkäsi")  # the reason in the clerk's language
        expect(reasons.first).not_to_contain_text("refused the recipient")
        expect(page.locator("[data-failed-notice]")).to_be_visible()
        assert_accessible(page, "sending: sent, with a failed delivery")
        shot(page, "sending-failed.png")

        # the clerk fixes C-5's e-mail on the card (the customers service publishes the new
        # profile) and re-sends: the mail goes to the fixed address, not the refused one
        first = page.locator("[data-failed-table] tbody tr", has_text="C-5")
        fixed = d.PERSON.model_copy(update={"email": FIXED})
        stack.run(publish_profile(stack.sandbox, "C-5", 2, fixed))
        stack.wait_for(
            lambda: stack.scalar("dispatch", "SELECT count(*) FROM billing_profiles WHERE version = 2"), timeout=60
        )
        first.locator("[data-resend]").click()
        expect(page.locator("[data-resend-result] [data-sent]")).to_have_text(
            "1 lasku lähetetty sähköpostilla.", timeout=90_000
        )
        assert_outcome_in_view(page, page.locator("[data-resend-result] [data-sent]"))
        wait_until(lambda: sink.count() == 5, what="the re-sent mail")
        assert re.sub(r".*<|>.*", "", str(sink.messages()[-1]["To"])) == FIXED
        expect(failed).to_have_count(1)

        # C-6 has no e-mail that works: the clerk moves the invoice to print
        other = page.locator("[data-failed-table] tbody tr", has_text="C-6")
        other.locator("[data-move-channel]").select_option("print")
        other.locator("[data-move-submit]").click()
        expect(page.locator("[data-resend-result] [data-moved]")).to_have_attribute("data-moved-channel", "print")
        expect(page.locator("[data-no-failed]")).to_be_visible()
        expect(page.locator("[data-channel-card=email] [data-waiting]")).to_have_text("0")
        expect(page.locator("[data-channel-card=print] [data-waiting]")).to_have_text("3")

        # --- 25. the e-invoice channel ---------------------------------------------------------------
        page.click("[data-channel-card=einvoice]")
        pick_all_and_send(page, preview=True, step="Lähetä laskut verkkolaskuina")
        expect(page.locator("[data-preview-done]")).to_have_text(
            re.compile(r"Esikatselu: 2 laskua muodostettu\."), timeout=60_000
        )
        root = finvoice(sample(page, stack.url, "xml"))
        etree.XMLSchema(etree.parse(str(XSD))).assertValid(root)  # the official Finvoice 3.0 schema
        pick_all_and_send(page, preview=False, step="Lähetä laskut verkkolaskuina")
        expect(page.locator("[data-sent]")).to_have_text("2 laskua lähetetty verkkolaskuina.", timeout=90_000)
        files = sorted((tmp_path / "einvoice").glob("*.xml"))
        assert len(files) == 2

        # --- and print, in English -------------------------------------------------------------------------
        page.click("[data-lang=en]")
        page.click("[data-channel-card=print]")
        expect(page.locator("h2").first).to_have_text("Waiting to be sent: Print")
        expect(page.locator("[data-send-step=open]")).to_have_text("Send invoices to print")
        # one waiting document opened as it would leave (rendered now, through the console)
        href = page.locator("[data-open-rendered]").first.get_attribute("href")
        opened = page.request.get(stack.url + str(href))
        assert (opened.status, opened.headers["content-type"]) == (200, "application/pdf")
        assert "63,37" in pdf_text(opened.body())
        pick_all_and_send(
            page, preview=True, step="Send invoices to print", send="Send invoices", select_all="Select all"
        )
        expect(page.locator("[data-preview-done]")).to_have_text(
            re.compile(r"Preview: 3 invoices rendered\."), timeout=60_000
        )
        assert_accessible(page, "sending (en): the print preview")
        assert "63,37" in pdf_text(sample(page, stack.url, "pdf"))
        shot(page, "sending-print-preview-en.png")
        pick_all_and_send(
            page, preview=False, step="Send invoices to print", send="Send invoices", select_all="Select all"
        )
        expect(page.locator("[data-sent]")).to_have_text("3 invoices sent to print.", timeout=90_000)
        assert_outcome_in_view(page, page.locator("[data-sent]"))
        shot(page, "sending-print-sent-en.png")
        assert list((tmp_path / "print").rglob("*.pdf"))
