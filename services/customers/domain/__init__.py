"""Pure rules of the customers service: no I/O, no framework."""
