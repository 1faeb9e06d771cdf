"""Benchmark: Finvoice build + check, beside the floor of parsing and XSD-validating.

    uv run python -m tests.bench.finvoice                 # 20,000 documents
    uv run python -m tests.bench.finvoice --count 5000

The documents (made before timing, as they arrive in events): a mix of company and
consumer e-invoice customers — invoices with 1 to 6 lines, credit notes, reminders.

Measured in the same run, single-threaded, on the same documents:

- **floor**: lxml parses each pre-built file's Finvoice part and validates it against the
  official XSD, nothing else (what any validating sender must at least spend);
- **build + check**: :func:`build_finvoice` then :func:`check_finvoice` per document (what
  the e-invoice worker does before a file may leave);
- where the time goes: build alone; check alone, and within it the SOAP frame's rules
  and the rules the XSD does not enforce (on pre-parsed trees); the rest of check is
  parsing, the XSD and the file-form checks.

Rates are printed from wall time and from this process's CPU time: on a shared machine
the CPU figure is the steadier one.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from collections.abc import Callable
from decimal import Decimal

from lxml import etree

from services.dispatch.finvoice import build_finvoice, check_finvoice
from services.dispatch.finvoice.arithmetic import check_arithmetic
from services.dispatch.finvoice.consistency import check_consistency
from services.dispatch.finvoice.frame import check_frame
from services.dispatch.finvoice.schema import finvoice_schema
from services.dispatch.finvoice.tree import Findings
from shared.events.invoicing import InvoiceDocument
from shared.events.reminders import ReminderDocument
from tests.bench.targets import Target, report
from tests.support.documents import COMPANY, PERSON, credit_note, customer, invoice, reminder
from tests.support.finvoice import frame

PRODUCTS = (
    ("HS-1KK", "Helsingin Sanomat 1 kk", "1", "30.00", "10"),
    ("KUVA", "Kuvaliite", "2", "12.10", "25.5"),
    ("DIGI", "Digilehti 12 kk", "1", "119.40", "10"),
    ("ILM", "Ilmoitus 2 x 3 palstaa", "3", "48.3333", "25.5"),
    ("NOUTO", "Noutopiste", "1", "0.00", "0"),
    ("JAKELU", "Jakelulisä", "12", "1.15", "25.5"),
)
CONSUMER = PERSON.model_copy(
    update={"einvoice_address": "FI3715903000000776", "einvoice_operator": "NDEAFIHH", "delivery_channel": "einvoice"}
)


def documents(count: int) -> list[InvoiceDocument | ReminderDocument]:
    out: list[InvoiceDocument | ReminderDocument] = []
    for i in range(count):
        who = customer(f"C-{i}", COMPANY if i % 2 else CONSUMER)
        spec = PRODUCTS[: 1 + i % len(PRODUCTS)]
        doc = invoice(1_000_000_000 + i, who=who, spec=spec)
        if i % 10 == 7:
            out.append(credit_note(doc, 3_000_000_000 + i))
        elif i % 10 == 9:
            out.append(reminder(doc, fee="5.00", interest=str(Decimal(i % 300) / 100)))
        else:
            out.append(doc)
    return out


def timed(label: str, count: int, work: Callable[[], None]) -> tuple[float, float]:
    """Run ``work`` once; print and return (wall seconds, CPU seconds of this process).
    The CPU figure is the one to compare when other processes share the machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {label:<36} {count / wall:>8,.0f} docs/s wall  {count / cpu:>8,.0f} docs/s CPU  ({wall:6.2f} s)")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000)
    args = parser.parse_args()
    count: int = args.count

    docs = documents(count)
    frames = [frame(f"doc-{i}") for i in range(count)]
    schema = finvoice_schema()
    files = [build_finvoice(doc, f) for doc, f in zip(docs, frames, strict=True)]
    bodies = [data[data.index(b"<?xml") :] for data in files]
    frames_only = [data[: data.index(b"<?xml")] for data in files]
    invalid = sum(1 for data in files if check_finvoice(data))
    size = sum(len(b) for b in files) / count
    load = os.getloadavg()[0]
    print(f"Finvoice: {count:,} documents (invoices, credit notes, reminders), {size:,.0f} bytes each on average")
    print(f"  load average at start: {load:.2f} on {os.cpu_count()} CPUs")
    if invalid:
        raise SystemExit(f"{invalid} built files did not pass the check: the benchmark measures nothing useful")

    def floor() -> None:
        for body in bodies:
            if not schema.validate(etree.fromstring(body)):
                raise SystemExit("the floor found an invalid file")

    def build_and_check() -> None:
        for doc, f in zip(docs, frames, strict=True):
            if check_finvoice(build_finvoice(doc, f)):
                raise SystemExit("a built file did not pass the check")

    def build_only() -> None:
        for doc, f in zip(docs, frames, strict=True):
            build_finvoice(doc, f)

    def check_only() -> None:
        for data in files:
            check_finvoice(data)

    def frame_only() -> None:
        for envelope in frames_only:
            check_frame(envelope, "ISO-8859-15")

    roots = [etree.fromstring(body) for body in bodies]

    def rules_only() -> None:
        for root in roots:
            found = Findings(root)
            check_arithmetic(found)
            check_consistency(found)

    # The prepared documents, files and trees stay in memory for the whole run; frozen, the
    # collector does not rescan them on every full collection (a worker holds one batch).
    gc.collect()
    gc.freeze()
    floor_wall, floor_cpu = timed("floor: parse + XSD (pre-built)", count, floor)
    total_wall, total_cpu = timed("build + check", count, build_and_check)
    print("  where the time goes (CPU shares of build + check):")
    _, build_cpu = timed("  build (draft, write, encode)", count, build_only)
    _, check_cpu = timed("  check, whole", count, check_only)
    _, frame_cpu = timed("    SOAP frame rules", count, frame_only)
    _, rules_cpu = timed("    rules beyond the XSD", count, rules_only)
    parts = build_cpu + check_cpu
    rest = check_cpu - frame_cpu - rules_cpu
    print(
        f"  build {build_cpu / parts:.0%} | parse + XSD + file form {rest / parts:.0%}"
        f" (the floor alone: {floor_cpu / parts:.0%}) | frame {frame_cpu / parts:.0%} | rules {rules_cpu / parts:.0%}"
    )
    print(
        f"build + check: {count / total_wall:,.0f} docs/s wall, {count / total_cpu:,.0f} docs/s CPU;"
        f" floor {count / floor_wall:,.0f} wall, {count / floor_cpu:,.0f} CPU;"
        f" build + check costs {total_cpu / floor_cpu:.1f} x the floor; target >= 1,000 docs/s"
    )
    report(
        [
            Target("Finvoice build + check, docs/s (wall, one core)", count / total_wall, 1000, "/s"),
            Target("Finvoice build + check, docs per CPU second", count / total_cpu, 1000, "/s"),
            Target("build + check beside the floor (parse + XSD), CPU", floor_cpu / total_cpu, 0.5, "%"),
        ],
        title="targets (issue 20: Finvoice; the worker's own figure: make bench-dispatch)",
    )


if __name__ == "__main__":
    main()
