"""``/dead-letters``: what a service could not use, why, and replay once fixed (ops).

Every service has these routes: listing and showing need ``<service>:read``, replaying
``<service>:replay`` (the replay records the caller's actor). ``billing dlq list|show|replay``
calls them. See :mod:`shared.messaging.dead_letters` for what a replay does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.api_models import StrictRequest
from shared.auth.http import Caller, require
from shared.auth.scopes import scope
from shared.db.uow import UnitOfWork


class DeadLetterOut(BaseModel):
    id: int
    topic: str
    partition: int
    offset: int
    error_code: str
    reason: str
    received_at: datetime
    replays: int
    replayed_at: datetime | None
    replayed_by: str | None


class DeadLetterDetail(DeadLetterOut):
    key: str | None
    headers: list[list[str]]
    value: str | None = Field(description="The record's value as text (cut at 64 KiB)")
    value_bytes: int


class DeadLetterList(BaseModel):
    total: int
    items: list[DeadLetterOut]


class ReplayIn(StrictRequest):
    """Which dead letters to publish again: by id, or all of a topic and/or error code."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(default_factory=list, max_length=10_000)
    topic: str | None = Field(default=None, min_length=1, max_length=255)
    error_code: str | None = Field(default=None, min_length=1, max_length=100)
    include_replayed: bool = Field(default=False, description="also those replayed before")

    @model_validator(mode="after")
    def _chosen(self) -> ReplayIn:
        if not self.ids and self.topic is None and self.error_code is None:
            raise ValueError("choose dead letters by ids, topic or error_code")
        return self


class ReplayOut(BaseModel):
    replayed: int
    skipped: int
    replayed_ids: list[int]
    skipped_ids: list[int]
    message_fi: str
    message_en: str


def dead_letter_router(uow_factory: Callable[[], UnitOfWork], service: str) -> APIRouter:
    """``service``: whose scopes guard the routes (``customers`` -> ``customers:read`` …)."""
    router = APIRouter(prefix="/dead-letters", tags=["ops"])
    read, replay = require(scope(service, "read")), require(scope(service, "replay"))

    @router.get("", response_model=DeadLetterList, dependencies=[read])
    async def list_dead_letters(
        topic: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
        error_code: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
        replayed: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> Any:
        """Inbound records this service could not use, with the reason (newest first)."""
        async with uow_factory() as uow:
            total, items = await uow.dead_letters.list(
                limit=limit, offset=offset, topic=topic, error_code=error_code, replayed=replayed
            )
        return DeadLetterList(total=total, items=[DeadLetterOut.model_validate(i) for i in items])

    @router.get("/{dead_letter_id}", response_model=DeadLetterDetail, dependencies=[read])
    async def show_dead_letter(dead_letter_id: Annotated[int, Path(ge=1, le=2**62)]) -> Any:
        """One dead letter: reason, key, headers and value."""
        async with uow_factory() as uow:
            found = await uow.dead_letters.get(dead_letter_id)
        if found is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                detail={
                    "code": "dead_letter_not_found",
                    "message_fi": f"Virheviestiä {dead_letter_id} ei löydy.",
                    "message_en": f"Dead letter {dead_letter_id} not found.",
                },
            )
        return DeadLetterDetail.model_validate(found)

    @router.post("/replay", response_model=ReplayOut, dependencies=[replay])
    async def replay_dead_letters(choice: Annotated[ReplayIn, Body()], caller: Caller) -> Any:
        """Publish the chosen dead letters again to their topic, once the cause is fixed."""
        async with uow_factory() as uow:
            replayed, skipped = await uow.dead_letters.replay(
                ids=choice.ids,
                topic=choice.topic,
                error_code=choice.error_code,
                include_replayed=choice.include_replayed,
                actor=caller.actor,
            )
            await uow.commit()
        return ReplayOut(
            replayed=len(replayed),
            skipped=len(skipped),
            replayed_ids=replayed,
            skipped_ids=skipped,
            message_fi=f"{len(replayed)} viestiä lähetetty uudelleen, {len(skipped)} ohitettu (jo lähetetty).",
            message_en=f"{len(replayed)} record(s) replayed, {len(skipped)} skipped (replayed before).",
        )

    return router
