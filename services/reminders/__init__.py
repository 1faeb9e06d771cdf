"""Reminders service: open items, payment reminders #1 and #2 (*maksumuistutus*), hand-over to collection.

Foundation stage: the service runs as its own process with its own database (outbox,
inbox and dead-letter tables, Alembic), outbox relay, health and readiness; its
business rules arrive with their issues.
"""
