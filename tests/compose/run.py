"""``make compose-test``: the whole system from ``docker-compose.yml``, checked as an
outside system and a clerk would.

1. ``docker compose up -d`` (a project of its own, secrets made for the run) -> healthy;
   the topics as deploy/topics/development.toml declares them, the services in
   production mode;
2. the CRM and an order system publish customer upserts and billing requests to the
   inbound topics (our AsyncAPI, CloudEvents binary mode);
3. the clerk's day over the HTTP APIs: billing run preview, confirm, each channel sent;
   the clerk signs in to the console and finds the invoices;
4. the mails at the catcher, the Finvoice files and the print batch in their volumes;
5. ``--scale dispatch-email=3``: the three share the channel's partitions, mails flow;
6. ``docker compose down`` (volumes kept), ``up -d``: every topic, consumer offset and
   row kept, nothing billed or sent twice, the next request gets the next number;
7. ``docker compose down -v`` (also when a check fails).

Each step is printed with its time; any failed check exits 1.
Run: ``uv run python -m tests.compose.run`` (``make compose-test`` builds the images first).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.compose import checks
from tests.compose.outside import BY_CHANNEL, CUSTOMERS, Clerk, submit_requests, upsert_customers, wait_for
from tests.compose.stack import LOCAL_ENV, Compose

SERVICES = ("customers", "invoicing", "reminders", "dispatch")
EMAIL_REPLICAS = 3
CHANNEL_PARTITIONS = 12


class Steps:
    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.timings: list[tuple[str, float]] = []

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        print(f"\n== {title}   [{time.monotonic() - self.t0:.0f} s]", flush=True)
        t = time.monotonic()
        yield
        took = time.monotonic() - t
        self.timings.append((title, took))
        print(f"   done in {took:.1f} s", flush=True)


def preflight() -> None:
    if shutil.which("docker") is None:
        sys.exit("compose-test: no docker CLI (make containers)")
    if subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode:
        sys.exit("compose-test: no `docker compose` plugin (make containers)")
    values = dict(
        line.split("=", 1) for line in LOCAL_ENV.read_text().splitlines() if "=" in line and not line.startswith("#")
    )
    images = [v for k, v in values.items() if k.endswith("_IMAGE") and k != "BASE_IMAGE"]
    missing = [
        i
        for i in images
        if subprocess.run(["docker", "image", "inspect", i], capture_output=True, check=False).returncode
    ]
    if missing:
        sys.exit(f"compose-test: images missing: {', '.join(missing)} (make containers)")


async def scenario(c: Compose, s: Steps) -> None:
    with s.step("docker compose up -d, until every service is healthy"):
        c.up()  # returns once what the console depends on is healthy
        c.wait_healthy()
    with s.step("the topics as deploy/topics/development.toml declares them"):
        checks.topics_as_declared(c)
    with s.step("a credential of the clerk's own (docker compose run --rm credentials billing credentials create)"):
        token = c.create_credential("compose-test", "person", "*:read,customers:write,invoicing:bill,dispatch:send")
    clerk = Clerk({name: c.url(name) for name in (*SERVICES, "console")}, token)
    try:
        await _day(c, s, clerk)
        await _scale(c, s, clerk)
        await _restart(c, s, clerk)
    finally:
        await clerk.close()


async def _day(c: Compose, s: Steps, clerk: Clerk) -> None:
    everyone = list(CUSTOMERS)
    with s.step(f"outside systems publish {len(everyone)} customer upserts and {len(everyone)} billing requests"):
        await upsert_customers(c.kafka, everyone)

        async def all_cards() -> bool:
            return await clerk.cards(everyone) == len(everyone)

        await wait_for("every customer card", all_cards)
        await submit_requests(c.kafka, everyone, "day1")
        await checks.requests_ready(clerk, len(everyone))
    with s.step("the clerk: billing run preview, then confirm"):
        numbers = await checks.billing_runs(clerk, expected=len(everyone), preview=True)
    with s.step("the clerk sends each channel"):
        await checks.send_all(clerk, {ch: len(n) for ch, n in BY_CHANNEL.items()})
    with s.step("the mails at the catcher, Finvoice files and a print batch in their volumes"):
        await checks.mails(c, numbers, count=len(BY_CHANNEL["email"]))
        checks.finvoices(c, numbers)
        checks.print_batch(c, numbers)
    with s.step("the clerk signs in to the console and finds the invoices"):
        await checks.console(c, numbers)


async def _scale(c: Compose, s: Steps, clerk: Clerk) -> None:
    with s.step(f"docker compose up -d --scale dispatch-email={EMAIL_REPLICAS}"):
        others = {r["Name"]: r["ID"] for r in c.ps() if r["Service"] != "dispatch-email"}
        # --no-recreate: podman 4.3 reports a container's network by name where compose
        # expects its id, so compose would otherwise recreate every container on each up
        c.up("--no-recreate", "--scale", f"dispatch-email={EMAIL_REPLICAS}")
        c.wait_healthy({"dispatch-email": EMAIL_REPLICAS})
        kept = {r["Name"]: r["ID"] for r in c.ps() if r["Service"] != "dispatch-email"}
        assert kept == others, f"scaling restarted other containers: {set(kept.items()) ^ set(others.items())}"
        print(f"   the other {len(others)} containers untouched (same ids)", flush=True)
        await checks.shared_partitions(c, "dispatch-email", EMAIL_REPLICAS, CHANNEL_PARTITIONS)
    with s.step("mails still flow through the three e-mail workers"):
        emails = BY_CHANNEL["email"]
        before = await clerk.invoices()
        await submit_requests(c.kafka, emails, "day2")
        await checks.requests_ready(clerk, len(emails))
        numbers = await checks.billing_runs(clerk, expected=len(emails), preview=False, earlier=before)
        await checks.send_all(clerk, {"email": len(emails)})
        await checks.mails(c, numbers, count=2 * len(emails))
        # the first replica has run since the start: between them they delivered every mail, once
        scraper = c.create_credential("compose-prometheus", "system", "metrics")
        by_replica = checks.delivered_by_replica(c, "dispatch-email", EMAIL_REPLICAS, scraper)
        assert sum(by_replica) == 2 * len(emails), f"delivered per replica {by_replica}"
        print(f"   delivered per e-mail worker (their metrics): {by_replica}", flush=True)


async def _restart(c: Compose, s: Steps, clerk: Clerk) -> None:
    with s.step("snapshot: topics, consumer offsets, rows, invoices, mails, files"):
        await checks.settled(c)
        before = await checks.snapshot(c, clerk)
        print(f"   {checks.describe(before)}")
    with s.step("docker compose down (volumes kept), then up -d"):
        t = time.monotonic()
        c.down()
        left = [r["Name"] for r in c.ps()]
        assert not left, f"containers left after down: {left}"
        print(f"   down in {time.monotonic() - t:.1f} s: no containers left; volumes kept", flush=True)
        t = time.monotonic()
        c.up()
        c.wait_healthy()
        print(f"   up and healthy in {time.monotonic() - t:.1f} s", flush=True)
    with s.step("everything kept, nothing billed or sent twice"):
        await checks.settled(c)
        after = await checks.snapshot(c, clerk)
        checks.same(before, after)
    with s.step("a request after the restart gets the next number and is mailed once"):
        await submit_requests(c.kafka, ["E1"], "day3")
        await checks.requests_ready(clerk, 1)
        numbers = await checks.billing_runs(clerk, expected=1, preview=False, earlier=before.invoices)
        (number,) = numbers.values()
        assert number == max(i["number"] for i in before.invoices) + 1, (number, "is not the next number")
        print(f"   invoice {number}: the next number after {max(i['number'] for i in before.invoices)}")
        await checks.send_all(clerk, {"email": 1})
        await checks.mails(c, numbers, count=len(before.mails) + 1)


def main() -> None:
    preflight()
    s = Steps()
    c = Compose(f"billing-ct-{os.getpid()}")
    print(f"compose-test: project {c.project}, ports {c.ports}", flush=True)
    failed: BaseException | None = None
    try:
        asyncio.run(scenario(c, s))
    except Exception as exc:
        failed = exc
        print(f"\nFAILED: {exc}", flush=True)
        for name in ("migrate", "customers", "invoicing", "dispatch", "dispatch-email", "console"):
            print(f"--- logs of {name} ---\n{c.logs(name, tail=25)}", flush=True)
    except BaseException as exc:  # interrupted: still tear down
        failed = exc
        raise
    finally:
        with s.step("docker compose down -v"):
            c.cleanup()
        total = time.monotonic() - s.t0
        print("\ntimings:")
        for title, took in s.timings:
            print(f"  {took:7.1f} s  {title}")
        print(f"  {total:7.1f} s  the whole compose-test")
        print("compose-test: " + ("FAILED" if failed else "PASSED"), flush=True)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
