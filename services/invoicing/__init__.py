"""Invoicing service: billing requests (*laskutuspyyntö*), billing runs (*laskutusajo*),
invoices and their numbering, payments matching.

Foundation stage: the service runs as its own process with its own database (outbox,
inbox and dead-letter tables, Alembic), outbox relay, health and readiness; its
business rules arrive with their issues.
"""
