"""The invoicing service's tables."""

from sqlalchemy import MetaData

from shared.db.uow import UnitOfWork
from shared.messaging.tables import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)


class InvoicingUnitOfWork(UnitOfWork):
    """Repositories of the invoicing service are added here as its tables arrive."""
