"""The reference-rate table as the clerk and ops need it: which half-years up to a date
have no rate (so reminders made that day charge no interest for their days), and how
ops add the Bank of Finland's figure. One answer for every client: the console's
Invoices tab and ``billing reminders candidates`` show it, they never work it out.

- ``GET /reminders/reference-rates?date=`` - the table's coverage and the gaps up to the date
- the candidate and collection lists carry the same gaps (``reference_rates_missing``)
"""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from services.reminders.domain.messages import half_year_name, missing_rate_row, missing_rate_text
from services.reminders.domain.rates import DATA_FILE, SETTING, RateTable
from services.reminders.runtime import RemindersRuntime
from shared.auth.http import require
from shared.http import AUTH_ERRORS

router = APIRouter(tags=["reminders"], responses=AUTH_ERRORS)
READ = require("reminders:read")

Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2099, 12, 31))]


class MissingRateOut(BaseModel):
    """A half-year without a reference rate: its days bear no interest on a reminder."""

    start: date
    end: date
    half_year: str = Field(description="e.g. `2026 H2`")
    file: str = Field(description="The data file ops add the row to")
    row: str = Field(description="The TOML row to add, `reference` left for the Bank of Finland's figure")
    setting: str = Field(description="The stopgap setting, until the row is released")
    message_fi: str
    message_en: str


class RatesOut(BaseModel):
    date: date
    covered_until: dt.date | None = Field(description="The last day the table has a rate for")
    missing: list[MissingRateOut]


def missing_rates(rates: RateTable, on: date) -> list[MissingRateOut]:
    """The gaps a reminder made on ``on`` meets, each with the clerk's warning (fi/en)
    and what ops add where."""
    out: list[MissingRateOut] = []
    for start, end in rates.missing(on):
        text = missing_rate_text(start, end, on, DATA_FILE)
        out.append(
            MissingRateOut(
                start=start,
                end=end,
                half_year=half_year_name(start),
                file=DATA_FILE,
                row=missing_rate_row(start, end),
                setting=f'{SETTING}=\'{{"{start.isoformat()}": "…"}}\'',
                message_fi=text.fi,
                message_en=text.en,
            )
        )
    return out


@router.get("/reminders/reference-rates", response_model=RatesOut, dependencies=[READ])
async def reference_rates(
    request: Request, on: Annotated[Day | None, Query(alias="date", description="Default: today")] = None
) -> Any:
    """Half-years up to the date without the Bank of Finland's reference rate: a
    reminder made on the date charges no penalty interest for their days until ops add
    the row (``file``, ``row``) and restart the service."""
    runtime: RemindersRuntime = request.app.state.runtime
    day = on or runtime.rules.clock.today()
    rates = runtime.rules.rates
    return RatesOut(date=day, covered_until=rates.last_day, missing=missing_rates(rates, day))
