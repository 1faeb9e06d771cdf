"""HTTP API of the customers service (token required): the customer card screen."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from services.customers import erasure, handlers
from services.customers.tables import CustomersUnitOfWork, StoredCard
from shared.api_models import StrictRequest
from shared.auth.http import Caller, require
from shared.events.customers import (
    CUSTOMER_NUMBER_PATTERN,
    BusinessId,
    Channel,
    City,
    CountryCode,
    CustomerData,
    CustomerType,
    EInvoiceAddress,
    Email,
    LanguageCode,
    Name,
    OperatorCode,
    PostalCode,
    ProfileError,
    StreetLine,
)
from shared.http import AUTH_ERRORS, NOT_FOUND, unprocessable
from shared.jobs.api import JobOut, accepted
from shared.runtime import Runtime

router = APIRouter(prefix="/customers", tags=["customers"], responses=AUTH_ERRORS)
ADMIN = require("customers:admin")
READ = require("customers:read")
WRITE = require("customers:write")

_PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]+$"
CustomerNumberPath = Annotated[
    str, Path(min_length=1, max_length=32, pattern=CUSTOMER_NUMBER_PATTERN, description="Customer number")
]


class CardOut(BaseModel):
    customer_number: str
    version: int
    valid: bool
    errors: list[ProfileError]
    data: CustomerData
    updated_at: datetime

    @classmethod
    def of(cls, s: StoredCard) -> CardOut:
        return cls(
            customer_number=s.card.customer_number,
            version=s.card.version,
            valid=s.valid,
            errors=s.errors,
            data=s.card.data,
            updated_at=s.updated_at,
        )


class InvalidList(BaseModel):
    total: int
    items: list[CardOut]


# A field left out stays as it is. ``null`` clears a field that may be empty (name,
# e-mail, ...); for one that may not (customer_type, delivery_channel, language,
# no_reminders, address.street_lines, address.country) it is refused with 422 like any
# wrong type: those are declared with their own type and a default that is never
# validated, so the OpenAPI document does not offer null for them either.
_ABSENT: Any = None


class AddressPatch(StrictRequest):
    model_config = ConfigDict(extra="forbid")

    street_lines: list[StreetLine] = Field(default=_ABSENT, max_length=4)
    postal_code: PostalCode | None = None
    city: City | None = None
    country: CountryCode = Field(default=_ABSENT)


class CardPatch(StrictRequest):
    """Fields to change; fields left out stay as they are. Unknown fields are refused,
    and so are values of the wrong type (no ``"yes"`` for ``true``)."""

    model_config = ConfigDict(extra="forbid")

    customer_type: CustomerType = Field(default=_ABSENT)
    name: Name | None = None
    business_id: BusinessId | None = None
    address: AddressPatch | None = None
    email: Email | None = None
    einvoice_address: EInvoiceAddress | None = None
    einvoice_operator: OperatorCode | None = None
    delivery_channel: Channel = Field(default=_ABSENT)
    language: LanguageCode = Field(default=_ABSENT)
    consumer: StrictBool | None = None
    no_reminders: StrictBool = Field(default=_ABSENT)


def _uow(request: Request) -> CustomersUnitOfWork:
    runtime: Runtime[CustomersUnitOfWork] = request.app.state.runtime
    return runtime.uow()


def _not_found(number: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        detail={
            "code": "customer_not_found",
            "message_fi": f"Asiakasta {number} ei löydy.",
            "message_en": f"Customer {number} not found.",
        },
    )


@router.get("", response_model=list[CardOut], dependencies=[READ])
async def search(
    request: Request,
    q: str = Query(min_length=1, max_length=100, pattern=_PRINTABLE),
    limit: int = Query(50, ge=1, le=500),
) -> Any:
    """Search cards by customer number (exact) or name (contains, case-insensitive)."""
    async with _uow(request) as uow:
        return [CardOut.of(s) for s in await uow.customers.search(q, limit)]


@router.get("/invalid", response_model=InvalidList, dependencies=[READ])
async def list_invalid(
    request: Request, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10_000_000)
) -> Any:
    """Customers whose billing data has errors (*virhe*), with every error."""
    async with _uow(request) as uow:
        total, items = await uow.customers.list_invalid(limit, offset)
    return InvalidList(total=total, items=[CardOut.of(s) for s in items])


@router.get("/{customer_number}", response_model=CardOut, responses=NOT_FOUND, dependencies=[READ])
async def get_card(request: Request, customer_number: CustomerNumberPath) -> Any:
    async with _uow(request) as uow:
        stored = await uow.customers.get(customer_number)
    if stored is None:
        raise _not_found(customer_number)
    return CardOut.of(stored)


@router.patch("/{customer_number}", response_model=CardOut, responses=NOT_FOUND, dependencies=[WRITE])
async def update_card(
    request: Request,
    customer_number: CustomerNumberPath,
    patch: CardPatch,
    caller: Caller,
) -> Any:
    """Fix a card (seed step 10). Returns the card with the errors that remain.

    The correction is also published for the CRM (``customers.corrections.v1``), and
    the fixed fields stay fixed until the CRM itself changes them."""
    fields = patch.model_dump(exclude_unset=True)
    if not fields:
        raise unprocessable(["body"], "No fields to change (Ei muutettavia kenttiä).", "empty_patch")
    try:
        stored = await handlers.update_card(handlers.UpdateCard(customer_number, fields, caller.actor), _uow(request))
    except handlers.CustomerNotFound:
        raise _not_found(customer_number) from None
    except erasure.CustomerErased:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail={
                "code": "customer_erased",
                "message_fi": f"Asiakkaan {customer_number} tiedot on poistettu; korttia ei voi muuttaa.",
                "message_en": f"Customer {customer_number} was erased; the card cannot be changed.",
            },
        ) from None
    except handlers.InvalidCard as invalid:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in invalid.errors]) from None
    return CardOut.of(stored)


class ErasureOut(BaseModel):
    """What an erasure did and what it kept (no personal data)."""

    customer_number: str
    erased_at: datetime
    already_erased: bool
    """True: the customer was erased before; nothing changed now."""
    erased_fields: list[str]
    """The card's fields that held a value and were erased (this request)."""
    history_rows: int
    """Change-history rows whose values were erased (who and when are kept)."""
    dead_letters: int
    """Dead letters of this customer's records deleted here."""
    outbox_rows: int
    """This customer's profile and correction records not yet published, dropped."""
    tombstone: dict[str, str]
    """The tombstone written (topic, key): the other services anonymise their copy."""
    kept: list[str]
    """What is kept, where and why."""


@router.post("/{customer_number}/erasure", response_model=ErasureOut, responses=NOT_FOUND, dependencies=[ADMIN])
async def erase(
    request: Request,
    customer_number: CustomerNumberPath,
    caller: Caller,
) -> Any:
    """Erase a customer's personal data (a data subject's request, GDPR art. 17).

    Anonymises the card (name, business ID, addresses, e-mail, e-invoice address and
    operator), the values in its change history and the dead letters of its records,
    and writes a tombstone to ``customers.billing-profiles.v1`` so every service that
    copies the profile anonymises its copy. **Keeps** the issued invoices, credit notes
    and reminders (and their PDFs and Finvoice messages) as issued: accounting
    vouchers, kept at least 6 years (kirjanpitolaki 1336/1997, 2:10 §). Open invoices
    stay open. Idempotent: a second request answers ``already_erased``."""
    runtime: Runtime[CustomersUnitOfWork] = request.app.state.runtime
    done = await erasure.erase(
        customer_number, caller.actor, _uow(request), topic_prefix=runtime.settings.kafka_topic_prefix
    )
    if done is None:
        raise _not_found(customer_number)
    return ErasureOut(
        customer_number=done.customer_number,
        erased_at=done.erased_at,
        already_erased=done.already_erased,
        erased_fields=done.fields,
        history_rows=done.history_rows,
        dead_letters=done.dead_letters,
        outbox_rows=done.outbox_rows,
        tombstone={"topic": done.tombstone_topic, "key": done.customer_number},
        kept=[erasure.KEPT_BY_LAW, erasure.KEPT_CARD],
    )


@router.get("/{customer_number}/history", responses=NOT_FOUND, dependencies=[READ])
async def history(request: Request, customer_number: CustomerNumberPath) -> list[dict[str, Any]]:
    """The card's audit trail: who changed what, when, one row per version."""
    async with _uow(request) as uow:
        if await uow.customers.get(customer_number) is None:
            raise _not_found(customer_number)
        return await uow.customers.history(customer_number)


@router.post("/republish-profiles", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut, dependencies=[ADMIN])
async def republish(request: Request, caller: Caller) -> Any:
    """Re-validate every card and publish every billing profile again, as a job: 202
    with the job's URL (``Location``); its result counts ``published`` and ``revalidated``."""
    runtime: Runtime[CustomersUnitOfWork] = request.app.state.runtime
    job, _ = await runtime.jobs.start_job(handlers.REPUBLISH_PROFILES, actor=caller.actor)
    return accepted(job)
