"""``billing invoicing …``: the clerk's Billing tab (*Laskutus*, seed steps 7-17) and the
invoice life cycle (seed 004) from the command line, over the invoicing HTTP API.

The clerk's day, as commands:

- ``requests --kind subscription``: fetch billing requests (*Hae laskutuspyynnöt*); the
  red error notice first, then the list, each erroneous row (*virhe*) with its reasons
  and the command that opens the customer's card;
- ``run --kind subscription --mode preview --all``: the billing run (*laskutusajo*) over
  all ready requests (*Valitse kaikki*) or a selection, with a progress bar, then its
  summary; ``--pdf`` saves the summary PDF;
- ``invoices`` / ``show`` / ``edit-line`` / ``remove-line`` / ``delete`` / ``confirm``: drafts and invoices;
- ``corrective``: a corrective invoice (*hyvityslasku* / *korjauslasku*) of a confirmed one;
- ``payments`` / ``allocate``: payments, the unmatched ones allocated by hand;
- ``reconcile`` (operators, after a restore): rebuild from the invoice log what the
  database lacks (talks to the database and Kafka directly, not the API).

The services record who acted from the credential (``BILLING_TOKEN``: your own);
``--actor`` is deprecated. A refusal (4xx) prints the service's fi/en message and exits 1; a service that
cannot be reached exits 2 (:func:`billing_cli.http.call`).
"""

# isort: off
# Importing a module registers its commands; `--help` lists them in the clerk's order.
from billing_cli.invoicing import requests, runs
from billing_cli.invoicing import invoices, payments
from billing_cli.invoicing import reconcile
from billing_cli.invoicing.common import app

# isort: on

__all__ = ["app", "invoices", "payments", "reconcile", "requests", "runs"]
