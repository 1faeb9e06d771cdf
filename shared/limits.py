"""The size limits of billing data: one definition, read by every contract that
carries quantities or amounts (``shared.money``, ``shared.events.sales``,
``shared.events.invoicing``, ``shared.events.bank``) and by the invoicing service's
intake and billing run, so a request intake accepts can always be invoiced.

How they fit together:

- a billing request line: quantity at most :data:`MAX_QUANTITY`, unit price at most
  :data:`MAX_UNIT_PRICE` either sign, at most :data:`MAX_REQUEST_LINES` lines;
- an invoice (one document): every line's net, every VAT row and the totals at most
  :data:`MAX_INVOICE_AMOUNT` either sign, at most :data:`MAX_DOCUMENT_LINES` lines.
  Intake refuses a request that would break this on an invoice of its own (dead
  letter ``amount-over-limit``); a billing run leaves out a customer whose requests
  together would break it, with the reason in the run summary;
- any amount on the wire (:data:`shared.money.Money`): at most :data:`MAX_AMOUNT`,
  ten times an invoice, so what is derived from an invoice (a reminder's fees and
  interest, an overpayment) still fits;
- one reference payment at most :data:`MAX_INVOICE_AMOUNT`: any invoice can be paid
  with one payment.

Pure constants, no I/O: every service may use them.
"""

from __future__ import annotations

from decimal import Decimal

MAX_QUANTITY = Decimal(100_000)
"""Units on one line (hours, copies, millimetres), three decimals."""
MAX_UNIT_PRICE = Decimal(1_000_000)
"""Euros per unit, VAT excluded, either sign (a discount is negative), four decimals."""
MAX_REQUEST_LINES = 200
"""Lines in one billing request."""
MAX_INVOICE_AMOUNT = Decimal(100_000_000)
"""Euros, either sign: the largest line net, VAT row or total one invoice may carry."""
MAX_DOCUMENT_LINES = 10_000
"""Lines on one invoice (the requests of one customer, kind and date together)."""
MAX_AMOUNT = MAX_INVOICE_AMOUNT * 10
"""Euros, either sign: the largest amount any event carries (:data:`shared.money.Money`)."""
MAX_TOTAL_DIGITS = 20
"""Digits of a sum over many documents (a billing run's totals)."""
