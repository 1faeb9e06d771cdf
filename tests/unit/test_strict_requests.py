"""Every service's API takes its input strictly (issue 16, "Every service's API"), and
no route can forget it: walked over every service app's routes, not a list kept by hand.

- every request body model, and every model nested in one, derives from
  ``shared.api_models.StrictRequest`` (JSON types strictly, unknown fields refused);
- every route refuses a NUL (and the other unstorable characters) in any parameter
  with 422 before its own code runs (``shared.http.refuse_unstorable_text``): checked
  by calling each route of each app, in-process, without a database or Kafka (the
  refusal comes before anything would need them).
"""

from __future__ import annotations

import importlib
import re
import types
import typing
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError

from shared.api_models import DecimalText, IsoDate, StrictRequest
from tests.support.credentials import SYSTEM, credentials

SERVICES = ("customers", "invoicing", "reminders", "dispatch")
TOKEN = credentials().token(SYSTEM)


def service_app(service: str) -> FastAPI:
    config = importlib.import_module(f"services.{service}.config")
    app = importlib.import_module(f"services.{service}.app")
    settings = config.Settings(
        kafka_bootstrap_servers="localhost:1",
        database_url="postgresql+asyncpg://nobody:nothing@localhost:1/none",
        **credentials().settings(),
    )
    built: FastAPI = app.create_app(settings)
    return built


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every route of an app, in included routers too (at any depth)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)
        elif isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "routes"):  # a mounted router
            yield from api_routes(route.routes)


def models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The pydantic models an annotation holds (``X | None``, ``list[X]``, ``Annotated``...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from models_in(field.annotation)
        return
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            yield from models_in(arg)


@pytest.fixture(scope="module")
def apps() -> dict[str, FastAPI]:
    return {service: service_app(service) for service in SERVICES}


def test_every_request_body_of_every_service_is_a_strict_request(apps: dict[str, FastAPI]) -> None:
    seen: dict[str, set[str]] = {}
    lax: list[str] = []
    for service, app in apps.items():
        for route in api_routes(app.routes):
            if route.body_field is None:
                continue
            for model in models_in(route.body_field.field_info.annotation):
                seen.setdefault(service, set()).add(model.__name__)
                if not issubclass(model, StrictRequest):
                    lax.append(f"{service} {sorted(route.methods)} {route.path}: {model.__module__}.{model.__name__}")
    assert not lax, "request bodies not derived from shared.api_models.StrictRequest:\n" + "\n".join(lax)
    # the walk found the bodies (a walk that finds none would pass anything)
    assert {"ReplayIn", "CardPatch", "AddressPatch"} <= seen["customers"]
    assert {"ReplayIn", "RunIn", "LineEdit", "BulkConfirm", "CorrectiveIn", "AllocateIn"} <= seen["invoicing"]
    assert {"ReplayIn", "CreateIn", "DisputeIn", "HandoverIn"} <= seen["reminders"]
    assert {"ReplayIn", "SendRequest"} <= seen["dispatch"]


def _filled(path: str) -> str:
    """A path with each ``{parameter}`` filled in (a value its pattern takes)."""
    return re.sub(r"\{([^}:]+)(?::path)?\}", "1", path)


JSON_CONTENT = {"Content-Type": "application/json"}
UNGUARDED = {"/healthz", "/readyz", "/readyz/all", "/metrics"}
"""Routes without parameters (the probes, Prometheus')."""


async def test_every_route_of_every_service_refuses_a_nul_before_its_own_code(apps: dict[str, FastAPI]) -> None:
    checked = 0
    for service, app in apps.items():
        transport = httpx.ASGITransport(app=app)  # no lifespan: no database, no Kafka
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://{service}", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as client:
            for route in api_routes(app.routes):
                if route.path in UNGUARDED:
                    continue
                for method in route.methods:
                    what = f"{service} {method} {route.path}"
                    answer = await client.request(method, _filled(route.path), params={"q": "a\x00b"})
                    assert answer.status_code == 422, f"{what}: {answer.status_code} {answer.text[:200]}"
                    assert answer.json()["detail"][0]["loc"] == ["query", "q"], what
                    assert answer.json()["detail"][0]["type"] == "invalid_character", what
                    if method in ("POST", "PUT", "PATCH"):
                        lone_surrogate = b'{"x": ["ok", "\\ud800"]}'
                        answer = await client.request(
                            method, _filled(route.path), content=lone_surrogate, headers=JSON_CONTENT
                        )
                        assert answer.status_code == 422, f"{what}: {answer.status_code} {answer.text[:200]}"
                        assert answer.json()["detail"][0]["loc"] == ["body", "x", 1], what
                    checked += 1
    assert checked >= 40, checked


class _Example(StrictRequest):
    count: int = 0
    flag: bool = False
    day: IsoDate | None = None
    quantity: DecimalText | None = None
    ids: list[int] = Field(default_factory=list)


@pytest.mark.parametrize(
    "body",
    [{"count": "1"}, {"count": 1.0}, {"count": True}, {"flag": "yes"}, {"flag": "true"}, {"flag": 1}, {"ids": ["1"]}],
)
def test_a_strict_request_refuses_strings_for_numbers_and_flags(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as refused:
        _Example.model_validate(body)
    assert refused.value.errors()[0]["type"] in ("int_type", "bool_type")


def test_a_strict_request_refuses_unknown_fields_and_takes_dates_and_decimals_as_json_writes_them() -> None:
    with pytest.raises(ValidationError) as refused:
        _Example.model_validate({"count": 1, "conut": 2})
    assert [e["type"] for e in refused.value.errors()] == ["extra_forbidden"]
    taken = _Example.model_validate({"day": "2026-04-15", "quantity": "1.500", "count": 2, "flag": True})
    assert (taken.day, taken.quantity, taken.count, taken.flag) == (date(2026, 4, 15), Decimal("1.500"), 2, True)
    assert _Example.model_validate({"quantity": 2.5}).quantity == Decimal("2.5")
