"""Pure rules of the reminders service: no I/O, no framework."""
