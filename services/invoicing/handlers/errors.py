"""Refusals a clerk reads (code + Finnish and English text); the API maps them to
404 / 409 / 422."""

from __future__ import annotations


class Refused(Exception):
    status = 409

    def __init__(self, code: str, message_fi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_fi = message_fi
        self.message_en = message_en

    def detail(self) -> dict[str, str]:
        return {"code": self.code, "message_fi": self.message_fi, "message_en": self.message_en}


class NotFound(Refused):
    status = 404


class Conflict(Refused):
    status = 409


class Invalid(Refused):
    status = 422


class Busy(Refused):
    """Try again in a moment (503 with ``Retry-After``): the service is busy, or the
    database chose this transaction to give way to another."""

    status = 503


def invoice_not_found(ref: object) -> NotFound:
    return NotFound("invoice-not-found", f"Laskua {ref} ei löydy.", f"Invoice {ref} not found.")


def not_a_draft(ref: object) -> Conflict:
    return Conflict(
        "invoice-confirmed",
        f"Lasku {ref} on jo vahvistettu: sitä ei voi enää muuttaa (tee hyvityslasku).",
        f"Invoice {ref} is confirmed: it can no longer be changed (make a corrective invoice).",
    )
