"""The *Pankin aineistot / Bank files* page against an invoicing service answered
in-process (what the service does with a file is its own tests'): upload -> preview ->
confirm sends exactly the previewed bytes with their SHA-256, a malformed file shows the
service's refusal and where in the file, nothing is imported without a live preview of
the same clerk, and the list shows each imported file's counts."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from console.app import create_app
from console.config import SERVICES
from console.routes.bank_files_view import (
    UploadRefused,
    check_upload,
    file_name_of,
    outcomes,
    refusal,
    size_text,
)
from console.store import MemoryStore, SessionEnds, Upload
from tests.unit.console.support import Clock, csrf_token, settings, sign_in

FILE = b"3" + b" " * 89 + b"\n"  # the content does not matter here: the service is answered in-process
SHA = hashlib.sha256(FILE).hexdigest()
PREVIEW = {
    "format": "viitesiirto",
    "file_id": "BATCH-0001",
    "file_name": "viitteet.txt",
    "sha256": SHA,
    "already_imported_as": None,
    "count": 2,
    "amount": "150.00",
    "reversals": 1,
    "reversal_amount": "50.00",
    "entries": [
        {"archive_id": "A-1", "kind": "payment", "reference": "1232", "amount": "100.00",
         "payment_date": "2026-12-01", "payer_name": "Maija Maksaja", "outcome": "matched",
         "invoice_number": 10042, "reason": None, "location": "line 2"},
        {"archive_id": "A-2", "kind": "payment", "reference": "9990", "amount": "50.00",
         "payment_date": "2026-12-01", "payer_name": None, "outcome": "unmatched",
         "invoice_number": None, "reason": "reference-unknown", "reason_fi": "Viitteellä ei löydy laskua.",
         "reason_en": "No invoice has this reference.", "location": "line 3"},
        {"archive_id": "A-3", "kind": "reversal", "reference": "1232", "amount": "50.00",
         "payment_date": "2026-12-02", "payer_name": None, "outcome": "reversal",
         "invoice_number": None, "reason": None, "location": "line 4"},
    ],
}  # fmt: skip
LISTED = {
    "id": 7, "file_name": "viitteet.txt", "format": "viitesiirto", "file_id": "BATCH-0001",
    "imported_at": "2026-12-07T08:00:00+00:00", "imported_by": "anna", "count": 2, "amount": "150.00",
    "reversals": 1, "matched": 0, "unmatched": 1, "reversed": 2, "pending": 0, "repeated": 0,
}  # fmt: skip
INVALID = {
    "detail": {
        "code": "bank-file-invalid",
        "message_fi": "Summatietueen maksujen summa ei täsmää.",
        "message_en": "The sum record's total does not match.",
        "where": "line 5",
    }
}

Handler = Callable[[httpx.Request], httpx.Response]


class Invoicing:
    """The invoicing service's /payments/files, answered per path; every request kept."""

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []
        self.answers: dict[tuple[str, str], Handler] = {
            ("GET", "/payments/files"): lambda r: httpx.Response(200, json={"total": 1, "items": [LISTED]}),
            ("POST", "/payments/files/preview"): lambda r: httpx.Response(200, json=PREVIEW),
            ("POST", "/payments/files"): lambda r: httpx.Response(
                201,
                json={
                    "id": 7,
                    "format": "viitesiirto",
                    "file_id": "BATCH-0001",
                    "file_name": "viitteet.txt",
                    "count": 2,
                    "amount": "150.00",
                    "reversals": 1,
                    "recorded": 3,
                    "repeated": 0,
                },
            ),
            ("GET", "/payments/files/7"): lambda r: httpx.Response(
                200, json={**LISTED, "entries": [{**e, "status": "allocated"} for e in PREVIEW["entries"]]}
            ),
        }

    def transport(self, service: str) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            request.read()
            self.seen.append(request)
            answer = self.answers.get((request.method, request.url.path))
            if service != "invoicing" or answer is None:
                return httpx.Response(404, json={"detail": {"code": "x", "message_fi": "ei", "message_en": "no"}})
            return answer(request)

        return httpx.MockTransport(handle)

    def posted(self, path: str) -> list[httpx.Request]:
        return [r for r in self.seen if r.method == "POST" and r.url.path == path]


def multipart_parts(request: httpx.Request) -> dict[str, bytes]:
    """The parts of a multipart body by name (enough for the console's own requests)."""
    boundary = re.search(r"boundary=([^;]+)", request.headers["content-type"])
    assert boundary
    parts: dict[str, bytes] = {}
    for chunk in request.content.split(b"--" + boundary.group(1).encode())[1:-1]:
        head, _, body = chunk.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]+)"', head)
        assert name
        parts[name.group(1).decode()] = body[: -len(b"\r\n")]
    return parts


@pytest.fixture
def invoicing() -> Invoicing:
    return Invoicing()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _client(invoicing: Invoicing, clock: Clock, store: MemoryStore, user: str = "anna") -> TestClient:
    app = create_app(
        settings(bank_file_max_bytes=2048, bank_file_preview_ttl_s=600),
        transports={s: invoicing.transport(s) for s in SERVICES},
        clock=clock,
        store=store,
    )
    return TestClient(app)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def client(invoicing: Invoicing, clock: Clock, store: MemoryStore) -> Iterator[TestClient]:
    with _client(invoicing, clock, store) as c:
        assert sign_in(c) == 303
        yield c


def _upload(client: TestClient, data: bytes = FILE, name: str = "viitteet.txt") -> httpx.Response:
    token = csrf_token(client.get("/bank-files").text)
    return client.post("/bank-files/preview", data={"csrf_token": token}, files={"file": (name, data, "text/plain")})


def _confirm_token(html: str) -> str:
    found = re.search(r'name="upload" value="([^"]+)"', html)
    assert found, "no confirm form"
    return found.group(1)


def test_the_tab_lists_imported_files_with_their_counts(client: TestClient) -> None:
    page = client.get("/billing").text
    assert re.search(r'<a href="/bank-files" class="tab"\s+data-tab="bank_files">Pankin aineistot</a>', page)
    html = client.get("/bank-files").text
    row = re.search(r'<tr data-file="7">(.*?)</tr>', html, re.S)
    assert row, html
    cells = dict(re.findall(r'data-count="([a-z]+)">([^<]*)<', row.group(1)))
    assert cells == {
        "entries": "2", "amount": "150,00\u00a0€", "matched": "0", "unmatched": "1", "reversed": "2",
        "pending": "0", "repeated": "0", "reversals": "1",
    }  # fmt: skip
    assert '<a href="/bank-files/7">viitteet.txt</a>' in row.group(1)
    assert "Viitesiirtoaineisto" in row.group(1)
    # imported 08:00 UTC on 7 December: a clerk in Finland (UTC+2 in winter) sees 10.00
    assert '<span class="when">7.12.2026 klo 10.00</span>' in row.group(1)


def test_upload_shows_the_preview_and_confirm_imports_exactly_those_bytes(
    client: TestClient, invoicing: Invoicing, store: MemoryStore
) -> None:
    preview = _upload(client)
    assert preview.status_code == 200
    html = preview.text
    sent = invoicing.posted("/payments/files/preview")
    assert len(sent) == 1 and multipart_parts(sent[0])["file"] == FILE
    assert re.search(r"<dd data-file-id>BATCH-0001</dd>", html)
    assert "2 kpl, yhteensä 150,00\u00a0€" in html  # payments
    assert "1 kpl, yhteensä 50,00\u00a0€" in html  # reversals
    assert re.search(r'data-tally="matched">1<', html) and re.search(r'data-tally="unmatched">1<', html)
    matched = re.search(r'<tr data-entry="A-1" data-entry-outcome="matched">(.*?)</tr>', html, re.S)
    assert matched and 'href="/invoices?number=10042"' in matched.group(1) and "laskulle 10042" in matched.group(1)
    unmatched = re.search(r'<tr data-entry="A-2" data-entry-outcome="unmatched">(.*?)</tr>', html, re.S)
    assert unmatched and "Kohdistamaton" in unmatched.group(1) and "Viitteellä ei löydy laskua." in unmatched.group(1)
    assert "Maija Maksaja" not in html  # the payer's name is not needed to confirm a file
    assert "data-outcome" in html and "data-already-imported" not in html
    token = _confirm_token(html)
    assert FILE not in token.encode() and len(store.uploads) == 1  # the bytes stay on the server

    done = client.post("/bank-files/import", data={"csrf_token": csrf_token(html), "upload": token})
    assert done.status_code == 200  # followed the 303 to the list
    imported = invoicing.posted("/payments/files")
    assert len(imported) == 1
    parts = multipart_parts(imported[0])
    assert parts["file"] == FILE and parts["sha256"].decode() == SHA
    assert "Aineisto viitteet.txt tuotu (nro 7): 2 maksua, 3 tapahtumaa kirjattu, 0 jo aiemmin tuotua." in done.text
    assert store.uploads == {}

    again = client.post("/bank-files/import", data={"csrf_token": csrf_token(html), "upload": token})
    assert "Esikatselu on vanhentunut tai jo vahvistettu." in again.text
    assert len(invoicing.posted("/payments/files")) == 1  # nothing imported twice from one preview


def test_a_malformed_file_shows_the_refusal_and_where_and_imports_nothing(
    client: TestClient, invoicing: Invoicing, store: MemoryStore
) -> None:
    invoicing.answers[("POST", "/payments/files/preview")] = lambda r: httpx.Response(422, json=INVALID)
    refused = _upload(client, b"not a bank file")
    assert refused.status_code == 422
    notice = re.search(r"<div [^>]*\bdata-refusal\b[^>]*>(.*?)</div>", refused.text, re.S)
    assert notice, refused.text
    assert re.search(r'<div class="notice error" role="alert" tabindex="-1" data-outcome data-refusal', refused.text)
    assert "Aineistoa viitteet.txt ei tuotu: se on virheellinen. Mitään ei kirjattu." in notice.group(1)
    assert "Summatietueen maksujen summa ei täsmää." in notice.group(1)
    assert "Kohta aineistossa: rivi 5" in notice.group(1)
    assert 'name="upload"' not in refused.text and store.uploads == {}
    assert invoicing.posted("/payments/files") == []
    # the language switch on this page comes back to the upload form, in English
    switched = client.get("/lang/en?next=/bank-files/preview")
    assert switched.status_code == 200 and "Import a bank file" in switched.text
    english = _upload(client, b"not a bank file").text
    assert "The sum record&#39;s total does not match." in english and "Where in the file: line 5" in english


def test_too_big_or_empty_is_refused_before_the_service_sees_it(client: TestClient, invoicing: Invoicing) -> None:
    big = _upload(client, b"x" * 2049)
    assert big.status_code == 413
    assert "Tiedosto on liian suuri: enintään 2 kt." in big.text
    empty = _upload(client, b"")
    assert empty.status_code == 400 and "Tiedosto on tyhjä." in empty.text
    assert invoicing.posted("/payments/files/preview") == []


def test_an_already_imported_file_is_a_warning_without_a_confirm_button(
    client: TestClient, invoicing: Invoicing, store: MemoryStore
) -> None:
    invoicing.answers[("POST", "/payments/files/preview")] = lambda r: httpx.Response(
        200, json={**PREVIEW, "already_imported_as": 7}
    )
    html = _upload(client).text
    assert "Tämä aineisto on jo tuotu." in html and 'href="/bank-files/7"' in html
    assert 'name="upload"' not in html and store.uploads == {}


def test_a_changed_file_refused_by_the_service_is_a_message(client: TestClient, invoicing: Invoicing) -> None:
    changed = {
        "detail": {"code": "bank-file-changed", "message_fi": "Tiedosto on muuttunut.", "message_en": "Changed."}
    }
    invoicing.answers[("POST", "/payments/files")] = lambda r: httpx.Response(409, json=changed)
    html = _upload(client).text
    done = client.post("/bank-files/import", data={"csrf_token": csrf_token(html), "upload": _confirm_token(html)})
    assert "Tiedosto on muuttunut." in done.text


def test_only_the_clerk_who_previewed_can_confirm_and_only_before_it_expires(
    invoicing: Invoicing, clock: Clock, store: MemoryStore
) -> None:
    with _client(invoicing, clock, store) as anna, _client(invoicing, clock, store) as ben:
        assert sign_in(anna) == 303 and sign_in(ben, "ben") == 303
        token = _confirm_token(_upload(anna).text)
        ben_page = ben.get("/bank-files").text
        stolen = ben.post("/bank-files/import", data={"csrf_token": csrf_token(ben_page), "upload": token})
        assert "Esikatselu on vanhentunut" in stolen.text
        clock.advance(601)
        page = anna.get("/bank-files").text
        late = anna.post("/bank-files/import", data={"csrf_token": csrf_token(page), "upload": token})
        assert "Esikatselu on vanhentunut" in late.text
    assert invoicing.posted("/payments/files") == []


def test_detail_page_shows_the_entries_status_now(client: TestClient) -> None:
    html = client.get("/bank-files/7").text
    assert "<h1 data-file-name>viitteet.txt</h1>" in html
    assert re.search(r'<tr data-entry="A-1" data-entry-outcome="allocated">', html)
    assert re.search(r'<dd data-count="unmatched">1</dd>', html)
    assert "7.12.2026 klo 10.00 · anna" in html  # 08:00 UTC in Helsinki time


def test_the_service_down_is_a_message_not_a_trace(client: TestClient, invoicing: Invoicing) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    invoicing.answers[("GET", "/payments/files")] = down
    html = client.get("/bank-files").text
    assert "Palvelu ei ole käytettävissä: laskutus." in html


# --- the pure parts ---


def test_upload_checks() -> None:
    assert check_upload(FILE, 1024, "fi") == SHA
    with pytest.raises(UploadRefused) as empty:
        check_upload(b"", 1024, "fi")
    assert empty.value.key == "bank_files.error.empty"
    with pytest.raises(UploadRefused) as big:
        check_upload(b"x" * (1024 * 1024 + 1), 1024 * 1024, "en")
    assert (big.value.key, big.value.values) == ("bank_files.error.too_big", {"limit": "1 MB"})
    assert size_text(10 * 1024 * 1024, "fi") == "10 Mt" and size_text(1536 * 1024, "fi") == "1,5 Mt"
    assert size_text(1536 * 1024, "en") == "1.5 MB" and size_text(2048, "fi") == "2 kt"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("viitteet.txt", "viitteet.txt"),
        ("C:\\Users\\anna\\Pankki\\camt054.xml", "camt054.xml"),
        ("../../etc/passwd", "passwd"),
        ("a\r\nb.txt", "ab.txt"),
        ("", "bank-file"),
        (None, "bank-file"),
        ("x" * 300 + ".xml", "x" * 255),
    ],
)
def test_file_names(given: str | None, kept: str) -> None:
    assert file_name_of(given) == kept


def test_outcomes_counted_with_zeros() -> None:
    assert outcomes(PREVIEW["entries"]) == {"matched": 1, "unmatched": 1, "reversal": 1, "repeated": 0}
    assert outcomes([{"outcome": "new-kind"}])["new-kind"] == 1


def test_where_in_the_clerks_language() -> None:
    assert refusal({"where": "line 12"}, "fi") == "rivi 12"
    assert refusal({"where": "line 12"}, "en") == "line 12"
    assert refusal({"where": 3}, "fi") == "rivi 3"
    path = "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry[2]/Amt"
    assert refusal({"where": path}, "fi") == path
    assert refusal({}, "fi") is None
    assert refusal({"where": "file"}, "fi") is None  # the file as a whole: no place to name


@pytest.mark.asyncio
async def test_memory_store_keeps_an_upload_for_its_clerk_until_it_expires() -> None:
    store = MemoryStore()
    await store.put_upload("k", Upload("anna", "f.txt", b"data", "sha", expires_at=100.0))
    assert (await store.get_upload("k", "anna", 99.0)) is not None
    assert await store.get_upload("k", "ben", 99.0) is None
    assert await store.get_upload("k", "anna", 100.0) is None
    ends = SessionEnds(0.0, 0.0, 0.0)
    assert await store.purge(99.0, ends, 0.0) == 0
    assert await store.purge(100.0, ends, 0.0) == 1
    assert store.uploads == {}


def test_preview_payload_is_json_serialisable_as_the_service_answers() -> None:
    # the fixtures above are what the contract (DESIGN21) names; keep them JSON
    assert json.loads(json.dumps(PREVIEW))["entries"][0]["invoice_number"] == 10042


def test_one_finnish_word_for_a_reversal_in_the_console_and_the_cli() -> None:
    from billing_cli.payments import FILE_HEADS, OUTCOMES
    from console import i18n

    word = OUTCOMES["fi"]["reversal"]  # the CLI's "peruutus"
    assert i18n.translate("fi", "bank_files.kinds.reversal").lower() == word
    assert i18n.translate("fi", "bank_files.col.reversals") in FILE_HEADS["fi"]
    bank = {k: v for k, v in i18n.messages("fi").items() if k.startswith("bank_files.")}
    assert not [k for k, v in bank.items() if "palautu" in v.lower() or "oikaisu" in v.lower()]
