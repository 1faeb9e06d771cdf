"""The invoicing service's tables (its own database; no other service reads them).

Guarantees held by constraints, not by code paths:
- one invoice per billing request line: ``uq_invoice_lines_request`` (request id and
  line, over the lines of invoices that are not corrective ones);
- gap-free, never reused numbers per series: ``invoice_series`` is a row-locked counter
  advanced in the confirming transaction (a rollback gives the numbers back), and
  ``uq_invoices_number`` makes a reuse impossible; ``numbering_log`` holds the highest
  number of each series on the invoices topic, so a restored database issues none again;
- one payment per bank payment id: ``payments`` primary key;
- one import per bank file (``bank_files.sha256``) and one published entry per archive id
  (``uq_bank_file_entries_archive_id`` over archive id and kind, over the entries that
  are not repeats: a correction may reuse its payment's archive id).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.jobs.tables import job_parts_table, jobs_table
from shared.messaging.tables import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)
jobs = jobs_table(metadata)
job_parts = job_parts_table(metadata)

MONEY = Numeric(15, 2)
REQUEST_STATUSES = ("open", "draft", "invoiced", "cancelled", "non-chargeable")

billing_profiles = Table(
    "billing_profiles",
    metadata,
    Column("customer_number", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("valid", Boolean, nullable=False),
    Column("errors", JSONB, nullable=False),
    Column("snapshot", JSONB, nullable=False),
    Column("consumer", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # the customer was erased (profile tombstone): the copy is anonymised, stays so
    Column("erased_at", DateTime(timezone=True), nullable=True),
)

billing_requests = Table(
    "billing_requests",
    metadata,
    Column("request_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("customer_number", Text, nullable=False),
    Column("order_id", Text, nullable=False),
    Column("invoice_date", Date, nullable=False),
    Column("payment_terms_days", Integer, nullable=False),
    Column("lines", JSONB, nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("net", MONEY, nullable=False),
    # sum of the lines' nets, for the list (the invoice computes its own)
    Column("content_hash", Text, nullable=False),
    Column("status", Text, nullable=False),
    # open | draft | invoiced | cancelled | non-chargeable; "ready" and "error" are
    # open requests whose customer's billing profile is valid or not (read at query time,
    # so a fixed customer's requests are ready the moment its new profile is stored)
    Column("invoice_id", BigInteger, nullable=True),
    Column("origin", Text, nullable=False, server_default="sender"),
    # sender | corrective (quantity returned by a corrective invoice)
    Column("source", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("traceparent", Text, nullable=True),
    Column("tracestate", Text, nullable=True),
    # the W3C trace context the request arrived with (or the one its intake started);
    # the invoice issued from it carries the trace of its oldest request
    CheckConstraint(
        "status IN ('open', 'draft', 'invoiced', 'cancelled', 'non-chargeable')", name="ck_billing_requests_status"
    ),
    CheckConstraint("kind IN ('subscription', 'notice')", name="ck_billing_requests_kind"),
)
Index(
    "ix_billing_requests_open",
    billing_requests.c.kind,
    billing_requests.c.customer_number,
    postgresql_where=text("status = 'open'"),
)
Index("ix_billing_requests_customer", billing_requests.c.customer_number)
Index("ix_billing_requests_order", billing_requests.c.order_id)
Index("ix_billing_requests_invoice", billing_requests.c.invoice_id)

cancelled_orders = Table(
    "cancelled_orders",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("customer_number", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("cancelled_at", DateTime(timezone=True), nullable=False),
    Column("event_id", Text, nullable=False),
)

invoice_series = Table(
    "invoice_series",
    metadata,
    Column("series", Text, primary_key=True),
    Column("last_value", BigInteger, nullable=False, server_default="0"),
)

numbering_log = Table(
    "numbering_log",
    metadata,
    # the highest number of each series seen on invoicing.invoices.v1 at the last start
    # (services/invoicing/numbering.py): a series whose counter is below it issues nothing
    # until ``billing invoicing reconcile`` (a database restored from a backup)
    Column("series", Text, primary_key=True),
    Column("highest", BigInteger, nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

invoices = Table(
    "invoices",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("status", Text, nullable=False),  # draft | confirmed
    Column("document_type", Text, nullable=False),  # invoice | corrective | credit-note
    Column("kind", Text, nullable=False),
    Column("series", Text, nullable=False),
    Column("number", BigInteger, nullable=True),
    Column("customer_number", Text, nullable=False),
    Column("invoice_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("payment_terms_days", Integer, nullable=False),
    Column("reference", Text, nullable=True),
    Column("reference_rf", Text, nullable=True),
    Column("customer", JSONB, nullable=True),
    Column("net", MONEY, nullable=False),
    Column("vat", MONEY, nullable=False),
    Column("gross", MONEY, nullable=False),
    Column("vat_breakdown", JSONB, nullable=False),
    Column("run_id", UUID(as_uuid=True), nullable=True),
    Column("original_invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=True),
    Column("return_mode", Text, nullable=True),  # corrective: ready | non-chargeable
    Column("paid", MONEY, nullable=False, server_default="0"),
    Column("credited", MONEY, nullable=False, server_default="0"),
    Column("payment_status", Text, nullable=False, server_default="open"),
    Column("settled_on", Date, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("created_by", Text, nullable=False),
    Column("confirmed_at", DateTime(timezone=True), nullable=True),
    Column("confirmed_by", Text, nullable=True),
    UniqueConstraint("series", "number", name="uq_invoices_number"),
    UniqueConstraint("reference", name="uq_invoices_reference"),
    CheckConstraint("status IN ('draft', 'confirmed')", name="ck_invoices_status"),
    CheckConstraint("(status = 'draft') = (number IS NULL)", name="ck_invoices_numbered_when_confirmed"),
)
Index("ix_invoices_customer", invoices.c.customer_number)
Index("ix_invoices_run", invoices.c.run_id)
Index("ix_invoices_drafts", invoices.c.kind, postgresql_where=text("status = 'draft'"))
Index("ix_invoices_original", invoices.c.original_invoice_id)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("invoice_id", BigInteger, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("corrective", Boolean, nullable=False),
    Column("request_id", Text, nullable=True),
    Column("request_line", Integer, nullable=True),
    Column("order_id", Text, nullable=True),
    Column("product_code", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("quantity", Numeric(15, 3), nullable=False),
    Column("unit", Text, nullable=False),
    Column("unit_price", Numeric(18, 4), nullable=False),
    Column("vat_rate", Numeric(5, 2), nullable=False),
    Column("net", MONEY, nullable=False),
    Column("service_start", Date, nullable=True),
    Column("service_end", Date, nullable=True),
    Column("chargeable", Boolean, nullable=False, server_default="true"),
    Column("reversal", Boolean, nullable=False, server_default="false"),
    # a corrective draft's line: the quantity the corrected invoice bills now (seed 004)
    Column("original_quantity", Numeric(15, 3), nullable=True),
    PrimaryKeyConstraint("invoice_id", "line_no", name="pk_invoice_lines"),
)
Index(
    "uq_invoice_lines_request",
    invoice_lines.c.request_id,
    invoice_lines.c.request_line,
    unique=True,
    postgresql_where=text("request_id IS NOT NULL AND NOT corrective"),
)

billing_runs = Table(
    "billing_runs",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),  # the job's id
    Column("kind", Text, nullable=False),
    Column("mode", Text, nullable=False),  # preview | draft | confirm
    Column("up_to", Date, nullable=True),
    Column("selected", Integer, nullable=True),  # how many request ids the clerk selected
    Column("actor", Text, nullable=False),
    Column("summary", JSONB, nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)

run_previews = Table(
    "run_previews",
    metadata,
    # what a preview run would create: kept for the clerk to read and print, never
    # business state (no request, number or invoice is touched)
    Column("run_id", UUID(as_uuid=True), ForeignKey("billing_runs.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),  # part * 100,000 + i (run_parts.PREVIEW_STRIDE)
    Column("customer_number", Text, nullable=False),
    Column("invoice", JSONB, nullable=False),
    PrimaryKeyConstraint("run_id", "seq", name="pk_run_previews"),
)

payments = Table(
    "payments",
    metadata,
    Column("payment_id", Text, primary_key=True),
    Column("reference", Text, nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("payment_date", Date, nullable=False),
    Column("payer_name", Text, nullable=True),
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=True),
    # a payment: matched | unmatched | allocated | reversed (the bank took it back);
    # a reversal (kind): reversal (applied to its payment) | unmatched (reversal-unknown)
    Column("status", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("allocated_by", Text, nullable=True),
    Column("event_id", Text, nullable=False),
    Column("kind", Text, nullable=False, server_default=text("'payment'")),
    Column("reverses_payment_id", Text, nullable=True),
    CheckConstraint("kind IN ('payment', 'reversal')", name="ck_payments_kind"),
)
Index("ix_payments_unmatched", payments.c.received_at, postgresql_where=text("status = 'unmatched'"))
Index("ix_payments_invoice", payments.c.invoice_id)

# Payment files from the bank (camt.054, viitesiirto): one row per file (by its sha256),
# one per entry the file brought first (by the bank's archive id, = payments.payment_id).
bank_files = Table(
    "bank_files",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("sha256", Text, nullable=False, unique=True),
    Column("format", Text, nullable=False),
    Column("file_id", Text, nullable=False),
    Column("file_name", Text, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("imported_by", Text, nullable=False),
    Column("count", Integer, nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("reversals", Integer, nullable=False),
    Column("reversal_amount", MONEY, nullable=False),
    Column("recorded", Integer, nullable=False),
    Column("repeated", Integer, nullable=False),
)
Index("ix_bank_files_imported_at", bank_files.c.imported_at)

bank_file_entries = Table(
    "bank_file_entries",
    metadata,
    Column("file_id", BigInteger, ForeignKey("bank_files.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("archive_id", Text, nullable=False),
    # an earlier file (or an earlier entry of this one) brought this archive id: not published
    Column("repeated", Boolean, nullable=False),
    Column("kind", Text, nullable=False),
    Column("reference", Text, nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("payment_date", Date, nullable=False),
    Column("reverses_archive_id", Text, nullable=True),
    Column("location", Text, nullable=False),
    PrimaryKeyConstraint("file_id", "seq", name="pk_bank_file_entries"),
    CheckConstraint("kind IN ('payment', 'reversal')", name="ck_bank_file_entries_kind"),
)
Index(
    "uq_bank_file_entries_archive_id",
    bank_file_entries.c.archive_id,
    bank_file_entries.c.kind,
    unique=True,
    postgresql_where=text("NOT repeated"),
)
