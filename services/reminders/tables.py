"""The reminders service's tables."""

from sqlalchemy import MetaData

from shared.db.uow import UnitOfWork
from shared.jobs.tables import jobs_table
from shared.messaging.tables import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)
jobs = jobs_table(metadata)


class RemindersUnitOfWork(UnitOfWork):
    """Repositories of the reminders service are added here as its tables arrive."""
