"""The clerk's web console: server-rendered pages over the four services' HTTP APIs.

It owns no business data; its own database holds only its sessions and sign-in failures
(``CONSOLE_DATABASE_URL``). Every page needs a signed-in clerk, and every call it makes
to a service carries the console's own credential and a short-lived assertion signed for
that clerk (``X-Actor-Assertion``), so the services' audit trails name the person who
acted, not the console.
"""
