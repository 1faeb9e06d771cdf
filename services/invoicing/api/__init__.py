"""HTTP API of the invoicing service (token required): the Billing tab (requests, the
error notice, runs, the PDF summary), drafts and invoices, corrective invoices, payments."""

from fastapi import APIRouter

from services.invoicing.api import invoices, payments, requests, runs

ROUTERS: tuple[APIRouter, ...] = (requests.router, runs.router, invoices.router, payments.router)
