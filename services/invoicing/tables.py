"""The invoicing service's tables."""

from sqlalchemy import MetaData

from shared.db.uow import UnitOfWork
from shared.jobs.tables import jobs_table
from shared.messaging.tables import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)
jobs = jobs_table(metadata)


class InvoicingUnitOfWork(UnitOfWork):
    """Repositories of the invoicing service are added here as its tables arrive."""
