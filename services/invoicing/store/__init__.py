"""Repositories of the invoicing service: SQL over its tables, one module per table group."""
