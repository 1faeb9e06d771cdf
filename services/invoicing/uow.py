"""The invoicing service's unit of work: one transaction, its repositories."""

from __future__ import annotations

from services.invoicing.store.bank_files import BankFileStore
from services.invoicing.store.invoices import InvoiceStore
from services.invoicing.store.payments import PaymentStore
from services.invoicing.store.profiles import ProfileStore
from services.invoicing.store.requests import RequestStore
from services.invoicing.store.runs import RunStore
from shared.db.uow import UnitOfWork


class InvoicingUnitOfWork(UnitOfWork):
    requests: RequestStore
    profiles: ProfileStore
    invoices: InvoiceStore
    payments: PaymentStore
    runs: RunStore
    bank_files: BankFileStore

    def _open(self) -> None:
        self.requests = RequestStore(self.session)
        self.profiles = ProfileStore(self.session)
        self.invoices = InvoiceStore(self.session)
        self.payments = PaymentStore(self.session)
        self.runs = RunStore(self.session)
        self.bank_files = BankFileStore(self.session)
