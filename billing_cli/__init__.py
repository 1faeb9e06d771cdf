"""The ``billing`` command line: run services, migrate, manage topics, and the clerk's
and ops' commands (which call the services' HTTP APIs, like any other client)."""
