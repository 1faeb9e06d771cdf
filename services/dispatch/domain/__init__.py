"""Pure rules of the dispatch service: no I/O, no framework."""
