"""HTTP API of the customers service (token required): the customer card screen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from services.customers import handlers
from services.customers.tables import CustomersUnitOfWork, StoredCard
from shared.events.customers import Channel, CustomerData, CustomerType, ProfileError
from shared.jobs.api import JobOut, accepted
from shared.runtime import Runtime

router = APIRouter(prefix="/customers", tags=["customers"])


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


class AddressPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street_lines: list[str] | None = Field(default=None, max_length=4)
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None


class CardPatch(BaseModel):
    """Fields to change; fields left out stay as they are. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    customer_type: CustomerType | None = None
    name: str | None = None
    business_id: str | None = None
    address: AddressPatch | None = None
    email: str | None = None
    einvoice_address: str | None = None
    einvoice_operator: str | None = None
    delivery_channel: Channel | None = None
    language: str | None = None
    consumer: bool | None = None
    no_reminders: bool | None = None


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


@router.get("", response_model=list[CardOut])
async def search(request: Request, q: str = Query(min_length=1, max_length=100), limit: int = Query(50, le=500)) -> Any:
    """Search cards by customer number (exact) or name (contains, case-insensitive)."""
    async with _uow(request) as uow:
        return [CardOut.of(s) for s in await uow.customers.search(q, limit)]


@router.get("/invalid", response_model=InvalidList)
async def list_invalid(request: Request, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> Any:
    """Customers whose billing data has errors (*virhe*), with every error."""
    async with _uow(request) as uow:
        total, items = await uow.customers.list_invalid(limit, offset)
    return InvalidList(total=total, items=[CardOut.of(s) for s in items])


@router.get("/{customer_number}", response_model=CardOut)
async def get_card(request: Request, customer_number: str) -> Any:
    async with _uow(request) as uow:
        stored = await uow.customers.get(customer_number)
    if stored is None:
        raise _not_found(customer_number)
    return CardOut.of(stored)


@router.patch("/{customer_number}", response_model=CardOut)
async def update_card(
    request: Request,
    customer_number: str,
    patch: CardPatch,
    x_actor: str = Header("api", max_length=100, description="Who makes the change (audit trail)"),
) -> Any:
    """Fix a card (seed step 10). Returns the card with the errors that remain."""
    fields = patch.model_dump(exclude_unset=True)
    if not fields:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail={
                "code": "empty_patch",
                "message_fi": "Ei muutettavia kenttiä.",
                "message_en": "No fields to change.",
            },
        )
    try:
        stored = await handlers.update_card(handlers.UpdateCard(customer_number, fields, x_actor), _uow(request))
    except handlers.CustomerNotFound:
        raise _not_found(customer_number) from None
    return CardOut.of(stored)


@router.get("/{customer_number}/history")
async def history(request: Request, customer_number: str) -> list[dict[str, Any]]:
    """The card's audit trail: who changed what, when, one row per version."""
    async with _uow(request) as uow:
        if await uow.customers.get(customer_number) is None:
            raise _not_found(customer_number)
        return await uow.customers.history(customer_number)


@router.post("/republish-profiles", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut)
async def republish(
    request: Request,
    x_actor: str = Header("api", max_length=100, description="Who starts the job (audit trail)"),
) -> Any:
    """Re-validate every card and publish every billing profile again, as a job: 202
    with the job's URL (``Location``); its result counts ``published`` and ``revalidated``."""
    runtime: Runtime[CustomersUnitOfWork] = request.app.state.runtime
    job, _ = await runtime.jobs.start_job(handlers.REPUBLISH_PROFILES, actor=x_actor)
    return accepted(job)
