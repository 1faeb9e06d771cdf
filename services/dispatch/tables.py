"""The dispatch service's tables."""

from sqlalchemy import MetaData

from shared.db.uow import UnitOfWork
from shared.jobs.tables import jobs_table
from shared.messaging.tables import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)
jobs = jobs_table(metadata)


class DispatchUnitOfWork(UnitOfWork):
    """Repositories of the dispatch service are added here as its tables arrive."""
