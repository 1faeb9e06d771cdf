"""The base of every request body of every service's HTTP API (issue 16).

A body is taken as JSON says it, not as it could be coerced: a flag is ``true`` or
``false`` (not ``"yes"``, ``"1"`` or ``1``), a count is a JSON integer (not ``"1"``),
and a field the model does not declare is refused rather than silently dropped (a
misspelt ``invoice_id`` must not turn a selection into "all"). Every violation is a 422
in the shared error shape (:mod:`shared.http`), naming the field.

Two kinds of value have a string as their JSON form and stay accepted as one:

- dates: ``"2026-04-14"`` (ISO 8601), declared with :data:`IsoDate`;
- exact decimals (quantities, amounts): ``"1.500"`` as well as ``1.5``, declared with
  :data:`DecimalText` (the console and ``billing`` send quantities as decimal strings
  so that no binary float rounds them on the way).

Text that cannot be stored or sent (NUL, other C0 control characters, lone surrogates)
is refused for every parameter, bodies included, by
:func:`shared.http.refuse_unstorable_text`, the dependency every route has.

``tests/unit/test_strict_requests.py`` walks every service app's routes and checks that
every body model (and every model nested in one) derives from :class:`StrictRequest`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Strict

IsoDate = Annotated[date, Strict(False)]
"""A date given as an ISO 8601 string (``"2026-04-14"``)."""

DecimalText = Annotated[Decimal, Strict(False)]
"""An exact decimal given as a JSON number or a decimal string (``"1.500"``)."""


class StrictRequest(BaseModel):
    """A request body: JSON types taken strictly, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True)
