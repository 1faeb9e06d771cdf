"""A clerk's actions on one failed document, against the customer's current billing data.

- :func:`resend_check`: before a failed document is sent again, whether the customer's
  current data (see :mod:`services.dispatch.domain.recipients`) can go on its channel:
  a card still in error, or data without what the channel needs, is refused with the
  reason instead of failing the same way again.
- :func:`move`: a failed document moved to another channel (e-mail refused → print).
  The document on the old channel becomes ``moved`` (never sent again); a new one waits
  on the target channel, addressed to the customer's current data, naming the old one
  in ``moved_from``. A document id stays a function of (source document, channel), so
  a redelivered issued event still finds the old one and adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, func, select, text, update

from services.dispatch.domain.documents import State, document_id, parse_payload
from services.dispatch.domain.recipients import CardInvalid, Current, current_data
from services.dispatch.domain.requirements import Problem, channel_problem
from services.dispatch.repositories import DispatchUnitOfWork
from services.dispatch.tables import documents
from shared.events.customers import Channel, CustomerData


@dataclass(frozen=True)
class Refusal:
    """Why the clerk's action is refused: a stable code and the texts (fi, en, sv)."""

    status: int
    code: str
    message_fi: str
    message_en: str
    message_sv: str
    errors: list[dict[str, Any]] | None = None

    def detail(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "message_fi": self.message_fi,
            "message_en": self.message_en,
            "message_sv": self.message_sv,
        }
        if self.errors is not None:
            out["errors"] = self.errors
        return out


def not_failed(state: str) -> Refusal:
    return Refusal(
        409,
        "not_failed",
        f"Vain epäonnistunut asiakirja lähetetään uudelleen tai siirretään toiseen kanavaan (tila: {state}).",
        f"Only a failed document is sent again or moved to another channel (state: {state}).",
        f"Endast ett misslyckat dokument skickas igen eller flyttas till en annan kanal (status: {state}).",
    )


def card_invalid(invalid: CardInvalid) -> Refusal:
    fields = ", ".join(dict.fromkeys(str(e.get("field", "")) for e in invalid.errors if e.get("field"))) or "-"
    return Refusal(
        409,
        "customer-card-invalid",
        f"Asiakaskortissa on virheitä ({fields}); korjaa ne ensin.",
        f"The customer card has errors ({fields}); fix them first.",
        f"Kundkortet har fel ({fields}); rätta dem först.",
        errors=invalid.errors,
    )


def channel_lacks(channel: str, problem: Problem) -> Refusal:
    return Refusal(
        409,
        problem.code,
        f"{problem.message_fi} Korjaa asiakaskortti ennen kuin asiakirja lähetetään kanavaan {channel}.",
        f"{problem.message_en} Fix the customer card before the document goes on the {channel} channel.",
        f"{problem.message_sv} Rätta kundkortet innan dokumentet skickas i kanalen {channel}.",
    )


def already_there(channel: str) -> Refusal:
    return Refusal(
        409,
        "already_on_channel",
        f"Asiakirja on jo kanavassa {channel}.",
        f"The document is already on the {channel} channel.",
        f"Dokumentet finns redan i kanalen {channel}.",
    )


@dataclass(frozen=True)
class _Failed:
    id: str
    source: str
    source_id: str
    channel: str
    state: str
    customer_number: str
    payload: str
    recipient: dict[str, Any] | None
    recipient_version: int | None


async def _locked(uow: DispatchUnitOfWork, document_id_: str) -> _Failed | None:
    c = documents.c
    row = (
        await uow.session.execute(
            select(
                c.id,
                c.source,
                c.source_id,
                c.channel,
                c.state,
                c.customer_number,
                cast(c.payload, Text).label("payload"),
                c.recipient,
                c.recipient_version,
            )
            .where(c.id == document_id_)
            .with_for_update()
        )
    ).first()
    return _Failed(**row._mapping) if row else None


async def _current(uow: DispatchUnitOfWork, doc: _Failed) -> Current | CardInvalid:
    issued = parse_payload(doc.source, doc.payload).customer
    have = None
    if doc.recipient is not None and doc.recipient_version is not None:
        have = Current(CustomerData.model_validate(doc.recipient), doc.recipient_version, from_profile=True)
    return current_data(issued.data, issued.profile_version, have, await uow.profiles.get(doc.customer_number))


async def resend_check(uow: DispatchUnitOfWork, document_id_: str) -> Refusal | bool | None:
    """None: the document may be re-sent; False: no such document; else why not."""
    doc = await _locked(uow, document_id_)
    if doc is None:
        return False
    if doc.state != State.FAILED:
        return not_failed(doc.state)
    current = await _current(uow, doc)
    if isinstance(current, CardInvalid):
        return card_invalid(current)
    problem = channel_problem(doc.channel, current.data)  # type: ignore[arg-type]
    return channel_lacks(doc.channel, problem) if problem else None


@dataclass(frozen=True)
class Moved:
    old_id: str
    new_id: str
    channel: Channel
    version: int


_MOVE = text(
    """
    INSERT INTO documents (id, source, source_id, channel, kind, number, reminder_level, customer_number,
                           document_date, due_date, amount, language, payload, state, recipient,
                           recipient_version, moved_from)
    SELECT :new_id, source, source_id, :channel, kind, number, reminder_level, customer_number,
           document_date, due_date, amount, language, payload, 'waiting', CAST(:recipient AS jsonb),
           :version, id
    FROM documents WHERE id = :old_id
    ON CONFLICT DO NOTHING
    RETURNING id
    """
)


async def move(uow: DispatchUnitOfWork, document_id_: str, target: Channel, actor: str) -> Moved | Refusal | None:
    """Move a failed document to ``target`` (the caller commits). None: no such document."""
    doc = await _locked(uow, document_id_)
    if doc is None:
        return None
    if doc.state != State.FAILED:
        return not_failed(doc.state)
    if doc.channel == target:
        return already_there(target)
    current = await _current(uow, doc)
    if isinstance(current, CardInvalid):
        return card_invalid(current)
    problem = channel_problem(target, current.data)
    if problem is not None:
        return channel_lacks(target, problem)
    new_id = document_id(doc.source, doc.source_id, target)  # type: ignore[arg-type]
    inserted = await uow.session.execute(
        _MOVE,
        {
            "new_id": new_id,
            "channel": target,
            "recipient": current.data.model_dump_json(),
            "version": current.version,
            "old_id": doc.id,
        },
    )
    if inserted.first() is None:  # the source document is on that channel already
        return already_there(target)
    await uow.session.execute(
        update(documents)
        .where(documents.c.id == doc.id)
        .values(state=State.MOVED.value, moved_to=new_id, moved_by=actor, updated_at=func.now())
    )
    return Moved(doc.id, new_id, target, current.version)
