"""The error shapes every service's API answers with (shared/http.py)."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI, Query
from sqlalchemy.exc import DataError

from shared.http import install_error_handlers


class _PgError(Exception):
    sqlstate = "22021"


def app_that_fails() -> FastAPI:
    app = FastAPI()

    @app.get("/fail")
    async def fail() -> None:
        raise DataError(
            "INSERT INTO customers (name, email) VALUES ($1, $2)",
            ("Maija Meikäläinen", "maija@example.fi"),
            _PgError("invalid byte sequence for encoding UTF8: 0x00 in 'Maija Meikäläinen'"),
        )

    @app.get("/limit")
    async def limit(n: int = Query(ge=1)) -> int:
        return n

    install_error_handlers(app)
    return app


async def test_unhandled_database_error_answers_500_and_logs_no_parameters(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    transport = httpx.ASGITransport(app=app_that_fails())
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        response = await client.get("/fail")
    assert response.status_code == 500
    assert response.json()["detail"]["code"] == "internal_error"
    assert "Maija" not in response.text
    assert "DataError" in caplog.text and "22021" in caplog.text
    assert "Maija" not in caplog.text
    assert "maija@example.fi" not in caplog.text


async def test_validation_error_has_the_declared_shape_without_the_input() -> None:
    transport = httpx.ASGITransport(app=app_that_fails())
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        response = await client.get("/limit", params={"n": "-12345"})
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert set(item) == {"loc", "msg", "msg_fi", "type"}
    assert item["loc"] == ["query", "n"]
    assert (item["type"], item["msg_fi"]) == ("greater_than_equal", "Arvo on liian pieni.")
    assert "-12345" not in response.text


async def test_an_unknown_address_answers_404_in_the_error_shape() -> None:
    transport = httpx.ASGITransport(app=app_that_fails())
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        response = await client.get("/no/such/route")
    assert response.status_code == 404
    assert response.json() == {
        "detail": {"code": "not_found", "message_fi": "Osoitetta ei löydy.", "message_en": "No such address."}
    }
