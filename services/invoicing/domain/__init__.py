"""Pure rules of the invoicing service: no I/O, no framework."""
