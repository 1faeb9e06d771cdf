"""HTTP API of the invoicing service (token required): the Billing tab (requests, the
error notice, runs, the PDF summary), drafts and invoices, corrective invoices, payments
and the bank's payment files."""

from fastapi import APIRouter

from services.invoicing.api import bank_files, invoices, payments, requests, runs

ROUTERS: tuple[APIRouter, ...] = (requests.router, runs.router, invoices.router, bank_files.router, payments.router)
