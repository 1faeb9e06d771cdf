"""The compose test's checks: what the clerk sees in the APIs and the console, what
arrived at the mail catcher and in the drop folders, how the consumer groups share the
partitions, and a snapshot of everything that must survive ``down``/``up``.

The expected numbers are worked out by hand: every request is one month at 30.00 net,
10 % VAT, so 3.00 VAT and 33.00 gross an invoice."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from tests.compose.outside import BY_CHANNEL, CUSTOMERS, Clerk, wait_for
from tests.compose.stack import Compose, ComposeError

DATABASES = ("customers", "invoicing", "reminders", "dispatch")
NET, VAT, GROSS = Decimal("30.00"), Decimal("3.00"), Decimal("33.00")


def say(text: str) -> None:
    print(f"   {text}", flush=True)


# ------------------------------------------------------------------ the clerk's day
async def requests_ready(clerk: Clerk, n: int) -> None:
    async def ready() -> bool:
        page = await clerk.requests()
        assert page["errors"] == 0, f"billing requests in error: {page}"
        return bool(page["ready"] == n)

    await wait_for(f"{n} billing requests ready", ready)
    say(f"{n} billing requests ready, none in error")


def _check_summary(run: dict[str, Any], n: int, mode: str) -> None:
    s = run["summary"]
    assert (s["invoices"], s["requests"]) == (n, n), f"{mode}: {s}"
    totals = {k: Decimal(str(s["totals"][k])) for k in ("net", "vat", "gross")}
    assert totals == {"net": n * NET, "vat": n * VAT, "gross": n * GROSS}, f"{mode}: {totals}"


async def billing_runs(
    clerk: Clerk, expected: int, *, preview: bool, earlier: list[dict[str, Any]] | None = None
) -> dict[str, int]:
    """(Preview, then) confirm a run over every ready request; the new invoices'
    numbers by customer. Numbers are gap-free: they follow the earlier ones."""
    earlier = earlier or []
    if preview:
        run = await clerk.billing_run("preview")
        _check_summary(run, expected, "preview")
        assert len(await clerk.invoices()) == len(earlier), "a preview issued invoices"
        say(f"preview: {expected} invoices, gross {expected * GROSS}; nothing issued")
    run = await clerk.billing_run("confirm")
    _check_summary(run, expected, "confirm")
    seen = {i["number"] for i in earlier}
    new = [i for i in await clerk.invoices() if i["number"] not in seen]
    assert len(new) == expected, f"{len(new)} new invoices, expected {expected}"
    numbers = sorted(i["number"] for i in new)
    first = max(seen) + 1 if seen else numbers[0]
    assert numbers == list(range(first, first + expected)), (
        f"numbers not consecutive after {max(seen, default=None)}: {numbers}"
    )
    by_customer = {i["customer_number"]: i["number"] for i in new}
    assert len(by_customer) == expected, "two invoices for one customer"
    say(f"confirmed: invoices {numbers[0]}..{numbers[-1]} ({expected}), gross {expected * GROSS}")
    return by_customer


async def send_all(clerk: Clerk, counts: dict[str, int]) -> None:
    """Wait until each channel has its documents waiting, send all, wait until delivered."""

    async def waiting() -> dict[str, dict[str, Any]] | None:
        rows = await clerk.sending()
        return rows if all(rows[ch]["waiting"] == n for ch, n in counts.items()) else None

    rows = await wait_for(f"documents waiting {counts}", waiting)
    delivered = {ch: rows[ch]["delivered"] for ch in counts}
    for channel, n in counts.items():
        job = await clerk.send(channel)
        assert job["failures"] == 0, f"{channel}: {job}"
        say(f"{channel}: sent {n} (job {job['state']}, {job['done']} done, no failures)")

    async def all_delivered() -> bool:
        now = await clerk.sending()
        bad = {ch: now[ch] for ch in counts if now[ch]["failed"] or now[ch]["retry"]}
        assert not bad, f"failed or retrying documents: {bad}"
        return all(now[ch]["delivered"] == delivered[ch] + n for ch, n in counts.items())

    await wait_for("every document delivered", all_delivered)


async def mails(c: Compose, numbers: dict[str, int], count: int) -> None:
    """Exactly ``count`` mails at the catcher; one for each e-mail invoice in ``numbers``,
    to its customer; no invoice mailed twice."""

    async def arrived() -> list[str] | None:
        names = c.files("mailcatcher", "/mail", ".eml")
        assert len(names) <= count, f"{len(names)} mails at the catcher, expected {count}"
        return names if len(names) == count else None

    names = await wait_for(f"{count} mails at the catcher", arrived, timeout=60)
    subjects: dict[str, str] = {}
    for name in names:
        msg = email.message_from_bytes(c.read("mailcatcher", f"/mail/{name}"), policy=email.policy.default)
        subject = str(msg["Subject"])
        assert subject not in subjects, f"mailed twice: {subject!r} ({subjects[subject]} and {msg['To']})"
        subjects[subject] = str(msg["To"])
        assert any(p.get_content_type() == "application/pdf" for p in msg.walk()), f"{name}: no PDF attached"
    for customer, number in numbers.items():
        if CUSTOMERS[customer]["delivery_channel"] != "email":
            continue
        mine = [s for s in subjects if re.search(rf"\b{number}\b", s)]
        assert len(mine) == 1, f"invoice {number}: {len(mine)} mails"
        assert CUSTOMERS[customer]["email"] in subjects[mine[0]], (number, subjects[mine[0]])
    say(f"{count} mails at the catcher (/mail), each once, to its customer, the invoice PDF attached")


def finvoices(c: Compose, numbers: dict[str, int]) -> None:
    names = c.files("dispatch-einvoice", "/data/einvoice", ".xml")
    want = {numbers[n] for n in BY_CHANNEL["einvoice"]}
    assert len(names) == len(want), f"{len(names)} Finvoice files, expected {len(want)}: {names}"
    found = set()
    for name in names:
        xml = c.read("dispatch-einvoice", f"/data/einvoice/{name}").decode("iso-8859-15")  # Finvoice's encoding
        assert "<Finvoice" in xml, f"{name} is not a Finvoice message"
        got = re.search(r"<InvoiceNumber>(\d+)</InvoiceNumber>", xml)
        assert got, f"{name}: no InvoiceNumber"
        found.add(int(got.group(1)))
    assert found == want, f"Finvoice numbers {found}, expected {want}"
    say(f"{len(names)} Finvoice files in the drop folder (/data/einvoice): invoices {sorted(found)}")


def print_batch(c: Compose, numbers: dict[str, int]) -> None:
    pdfs = c.files("dispatch-print", "/data/print", ".pdf")
    csvs = c.files("dispatch-print", "/data/print", ".csv")
    assert len(pdfs) == 1 and len(csvs) == 1, f"print folder: {pdfs} {csvs}"
    batch = pdfs[0].removesuffix(".pdf")
    manifest = json.loads(c.read("dispatch-print", f"/data/print/{batch}.json"))
    printed = {int(d["document_number"]) for d in manifest["documents"]}
    want = {numbers[n] for n in BY_CHANNEL["print"]}
    assert printed == want, f"print batch has {printed}, expected {want}"
    assert c.read("dispatch-print", f"/data/print/{pdfs[0]}").startswith(b"%PDF"), "the print file is no PDF"
    say(f"print batch {batch} (PDF + JSON + CSV) in /data/print: invoices {sorted(printed)}")


async def console(c: Compose, numbers: dict[str, int]) -> None:
    """Sign in as the clerk, open the Invoices tab: every invoice number is listed."""
    async with httpx.AsyncClient(base_url=c.url("console"), timeout=30) as web:
        page = await web.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page.status_code == 200 and token, f"login page: {page.status_code}"
        form = {"username": c.user, "password": c.password, "csrf_token": token.group(1), "next": "/invoices"}
        signed = await web.post("/login", data=form)
        assert signed.status_code == 303, f"sign-in: {signed.status_code}"
        tab = await web.get("/invoices", params={"status": "confirmed"})  # the tab's search: confirmed ones
        assert tab.status_code == 200, f"/invoices: {tab.status_code}"
        missing = [n for n in numbers.values() if f">{n}</a>" not in tab.text]
        assert not missing, f"the Invoices tab does not list {missing}"
        # production mode: the session is a row in the console's own database, not in the process
        rows = c.psql("console", f"SELECT count(*) FROM console_sessions WHERE user_name = '{c.user}'")
        assert int(rows) >= 1, f"no session of {c.user} in the console's database"
        fresh = re.search(r'name="csrf_token" value="([^"]+)"', tab.text)  # the signed-in session's own
        assert fresh, "no CSRF token in the signed-in page"
        signed_out = await web.post("/logout", data={"csrf_token": fresh.group(1)})
        assert signed_out.status_code == 303, f"sign-out: {signed_out.status_code}"
        after = c.psql("console", f"SELECT count(*) FROM console_sessions WHERE user_name = '{c.user}'")
        assert int(after) == int(rows) - 1, f"sign-out left the session row ({rows} -> {after})"
    say(
        f"signed in as {c.user}; the Invoices tab lists all {len(numbers)} invoices; the session row in the "
        "console's database, gone after sign-out"
    )


# --------------------------------------------------------------------- scaling
def _table(text: str) -> list[dict[str, str]]:
    """The rows of a kafka-consumer-groups table (header row, whitespace-separated)."""
    rows: list[dict[str, str]] = []
    header: list[str] = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "GROUP":
            header = parts
        elif header and len(parts) >= len(header) - 2:
            rows.append(dict(zip(header, parts, strict=False)))
    return rows


async def shared_partitions(c: Compose, group: str, replicas: int, partitions: int) -> None:
    async def balanced() -> list[dict[str, str]] | None:
        rows = _table(c.kafka_tool("kafka-consumer-groups.sh", "--describe", "--group", group, "--members"))
        counts = [int(r["#PARTITIONS"]) for r in rows]
        ok_ = len(rows) == replicas and sum(counts) == partitions and min(counts, default=0) >= 1
        return rows if ok_ else None

    rows = await wait_for(f"{replicas} members sharing {partitions} partitions of {group}", balanced, timeout=120)
    for r in rows:
        say(f"{group}: member on {r['HOST']} holds {r['#PARTITIONS']} partitions")
    say(f"{replicas} members share all {partitions} partitions of the channel")


def delivered_by_replica(c: Compose, service: str, replicas: int, token: str) -> list[int]:
    """Each replica's ``billing_dispatch_delivered_total`` (its /metrics, inside the
    network, with ``token``: a credential holding the ``metrics`` scope)."""
    fetch = (
        "import urllib.request as u; r = u.Request('http://127.0.0.1:8000/metrics',"
        f" headers={{'Authorization': 'Bearer {token}'}}); print(u.urlopen(r, timeout=10).read().decode())"
    )
    counts = []
    for index in range(1, replicas + 1):
        text = c.exec(service, "python", "-c", fetch, index=index)
        lines = [ln for ln in text.splitlines() if ln.startswith("billing_dispatch_delivered_total{")]
        counts.append(sum(int(float(ln.rsplit(" ", 1)[1])) for ln in lines))
    return counts


# --------------------------------------------------------------- down and up
@dataclass
class Snapshot:
    topics: dict[str, int]
    """topic:partition -> end offset (every topic's records)."""
    offsets: dict[tuple[str, str, str], int]
    """(group, topic, partition) -> committed offset."""
    rows: dict[str, int]
    """database.table -> rows."""
    invoices: list[dict[str, Any]]
    mails: list[str]
    files: list[str]
    sending: dict[str, dict[str, Any]] = field(default_factory=dict)


def _end_offsets(c: Compose) -> dict[str, int]:
    out = c.kafka_tool("kafka-get-offsets.sh", "--time", "-1")
    ends = {}
    for line in out.splitlines():
        if line.count(":") == 2:
            topic, part, off = line.rsplit(":", 2)
            ends[f"{topic}:{part}"] = int(off)
    return ends


def _committed(c: Compose) -> tuple[dict[tuple[str, str, str], int], list[dict[str, str]]]:
    rows = _table(c.kafka_tool("kafka-consumer-groups.sh", "--describe", "--all-groups"))
    offsets = {
        (r["GROUP"], r["TOPIC"], r["PARTITION"]): int(r["CURRENT-OFFSET"])
        for r in rows
        if r.get("CURRENT-OFFSET", "-").isdigit()
    }
    return offsets, rows


WRITTEN_AT_START = {"invoicing.numbering_log"}
"""Tables a start writes by design: invoicing records the highest number of each series
it found on invoicing.invoices.v1 (the restore guard), so a start after invoices were
issued adds that series' row. Checked on its own: one row per series on the log."""


def _row_counts(c: Compose) -> dict[str, int]:
    counts = {}
    for db in DATABASES:
        tables = c.psql(
            db,
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        ).split()
        if not tables:
            continue
        sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in sorted(tables))
        for line in c.psql(db, sql).splitlines():
            table, n = line.split("|")
            counts[f"{db}.{table}"] = int(n)
    return counts


async def settled(c: Compose) -> None:
    """Every consumer group has taken what is on its topics (one record of slack: the
    commit marker ending a transaction), and stays so for a few seconds."""

    async def caught_up() -> bool:
        _, rows = _committed(c)
        behind = [r for r in rows if r.get("LAG", "-").isdigit() and int(r["LAG"]) > 1]
        return not behind and bool(rows)

    await wait_for("every consumer group caught up", caught_up, timeout=120)
    await asyncio.sleep(5)
    await wait_for("every consumer group caught up", caught_up, timeout=60)


async def snapshot(c: Compose, clerk: Clerk) -> Snapshot:
    offsets, _ = _committed(c)
    files = [f"einvoice/{n}" for n in c.files("dispatch-einvoice", "/data/einvoice", ".xml")]
    files += [f"print/{n}" for n in c.files("dispatch-print", "/data/print", "")]
    return Snapshot(
        topics=_end_offsets(c),
        offsets=offsets,
        rows=_row_counts(c),
        invoices=[{k: i[k] for k in ("number", "customer_number", "reference")} for i in await clerk.invoices()],
        mails=c.files("mailcatcher", "/mail", ".eml"),
        files=files,
        sending=await clerk.sending(),
    )


def describe(s: Snapshot) -> str:
    return (
        f"{len({k.split(':')[0] for k in s.topics})} topics ({sum(s.topics.values())} records),"
        f" {len(s.offsets)} committed offsets in {len({g for g, _, _ in s.offsets})} groups,"
        f" {sum(s.rows.values())} rows in {len(s.rows)} tables, {len(s.invoices)} invoices,"
        f" {len(s.mails)} mails, {len(s.files)} files"
    )


def same(before: Snapshot, after: Snapshot) -> None:
    # Kafka's own topics grow on every start (groups joining, producers registering);
    # ours must hold exactly what they held
    ours = {k: v for k, v in before.topics.items() if not k.startswith("__")}
    assert {k: after.topics.get(k) for k in ours} == ours, _diff("topic end offsets", before.topics, after.topics)
    assert set(after.topics) == set(before.topics), _diff("topics", set(before.topics), set(after.topics))
    internal = [k for k in before.topics if k.startswith("__")]
    assert all(after.topics[k] >= before.topics[k] for k in internal), "Kafka's internal topics lost records"
    topics = len({k.split(":")[0] for k in ours})
    say(f"every topic and its records kept: {topics} topics, {len(ours)} partitions, the same end offsets")
    missing = set(before.offsets) - set(after.offsets)
    assert not missing, f"committed offsets lost: {sorted(missing)[:10]}"
    back = {k: (v, after.offsets[k]) for k, v in before.offsets.items() if after.offsets[k] < v}
    assert not back, f"committed offsets went back: {back}"
    equal = sum(after.offsets[k] == v for k, v in before.offsets.items())
    say(f"every committed offset kept: {equal} of {len(before.offsets)} the same, none behind")
    kept = {k: v for k, v in before.rows.items() if k not in WRITTEN_AT_START}
    assert {k: after.rows.get(k) for k in kept} == kept, _diff("rows", before.rows, after.rows)
    assert set(after.rows) == set(before.rows), _diff("tables", set(before.rows), set(after.rows))
    say(f"every row kept: {sum(kept.values())} rows in {len(kept)} tables, the same counts")
    # the start's own record: the highest invoice number on the log, seen by this start
    assert after.rows["invoicing.numbering_log"] == len({str(i["number"])[:1] for i in after.invoices}), _diff(
        "the numbering log (one row per series on the invoice log)", before.rows, after.rows
    )
    assert after.invoices == before.invoices, "the invoices changed over the restart"
    assert after.mails == before.mails, _diff("mails", set(before.mails), set(after.mails))
    assert after.files == before.files, _diff("files", set(before.files), set(after.files))
    assert after.sending == before.sending, _diff("sending", before.sending, after.sending)
    say(
        f"nothing billed or sent twice: {len(before.invoices)} invoices, {len(before.mails)} mails,"
        f" {len(before.files)} files, the channels' counts as before"
    )


def _diff(what: str, before: Any, after: Any) -> str:
    if isinstance(before, dict):
        keys = sorted(set(before) | set(after), key=str)
        changed = {k: (before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)}
        return f"{what} changed over the restart: {changed}"
    return f"{what} changed over the restart: gone {sorted(before - after)}, new {sorted(after - before)}"


# ------------------------------------------------------------------ topics as declared
def _plan_topics(c: Compose, attempts: int = 5) -> str:
    """``billing topics plan`` inside the customers container. A fresh ``exec`` process
    sometimes cannot resolve ``kafka`` for a moment on a loaded machine (podman's DNS),
    while the services' long-lived connections are fine: that one error is tried again."""
    for attempt in range(attempts):
        try:
            return c.exec("customers", "billing", "topics", "plan", "--file", "deploy/topics/development.toml")
        except ComposeError as exc:
            if "Unable to bootstrap" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def topics_as_declared(c: Compose) -> None:
    """The migrate one-shot applied deploy/topics/development.toml; a plan from inside the
    image now finds nothing to do, and the services run in production mode (they created
    nothing and checked their topics against that file at start)."""
    migrate = c.logs("migrate", tail=200)
    assert "applied: 21 created" in migrate or "nothing to apply" in migrate, migrate[-2000:]
    plan = _plan_topics(c)
    last = plan.strip().splitlines()[-1]
    assert last == (
        "21 topic(s) declared: 0 to create, 0 to change, 0 with only refused changes, 21 in sync; 0 refused"
    ), plan[-2000:]
    mode = c.exec("invoicing", "sh", "-c", 'echo "$INVOICING_MODE $INVOICING_KAFKA_TOPICS_FILE"').strip()
    assert mode == "production /app/deploy/topics/development.toml", mode
    say(f"migrate applied deploy/topics/development.toml; `billing topics plan`: {last}")
    say("the services run in production mode against that file (they create no topics)")
