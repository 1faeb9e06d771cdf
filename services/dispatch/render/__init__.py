"""Document renderers of the dispatch service: the PDF a customer receives, the e-mail
that carries it, and the print house's batch file.

    render_pdf(doc) -> bytes
    compose_email(doc, pdf, *, document_id, sender, reply_to, message_id_domain) -> EmailMessage
    wire_bytes(msg) -> bytes   # what to hand the SMTP client (see mail.wire_bytes)
    write_print_batch(items, folder, batch_id) -> PrintBatch
    stream_print_batch(ids, items, folder, batch_id) -> PrintBatch   # any size, PDFs read one by one

All three start from the same :class:`Sheet` (what the document says, in the customer's
language), so the PDF, the e-mail body and the manifest never disagree.
"""

from services.dispatch.render.mail import BadAddress, NoEmailAddress, addr_spec, compose_email, message_id, wire_bytes
from services.dispatch.render.pdf import render_pdf
from services.dispatch.render.print_batch import (
    BatchConflict,
    ManifestEntry,
    PrintBatch,
    PrintBatchWriter,
    stream_print_batch,
    write_print_batch,
)
from services.dispatch.render.sheet import Doc, Sheet, build_sheet

__all__ = [
    "BadAddress",
    "BatchConflict",
    "Doc",
    "ManifestEntry",
    "NoEmailAddress",
    "PrintBatch",
    "PrintBatchWriter",
    "Sheet",
    "addr_spec",
    "build_sheet",
    "compose_email",
    "message_id",
    "render_pdf",
    "stream_print_batch",
    "wire_bytes",
    "write_print_batch",
]
