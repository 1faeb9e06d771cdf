"""Dispatch service: outgoing documents and their channel queues (e-mail, e-invoice
*verkkolasku*, print), delivery attempts and results.

Foundation stage: the service runs as its own process with its own database (outbox,
inbox and dead-letter tables, Alembic), outbox relay, health and readiness; its
business rules arrive with their issues.
"""
