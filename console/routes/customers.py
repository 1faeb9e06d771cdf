"""The customer card (seed step 10): open it from a customer number on the billing
list, fix the billing data, save. Only the fields the clerk changed are sent (a PATCH of
the customers service's ``/customers/{n}``), so a save never overwrites what the CRM
changed meanwhile in another field; the service's 422 field errors are shown beside
their fields, in the clerk's language."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from console.auth import User
from console.backend import ServiceError, call
from console.i18n import translate
from console.urls import safe_url
from console.web import flash, lang_of, render

router = APIRouter()

CustomerNumber = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
TEXT_FIELDS = ("name", "business_id", "email", "einvoice_address", "einvoice_operator")
CHOICE_FIELDS = ("customer_type", "delivery_channel", "language")
ADDRESS_FIELDS = ("postal_code", "city", "country")
Back = Annotated[str | None, Query(max_length=500, description="The list to go back to")]


def form_values(card: dict[str, Any]) -> dict[str, str]:
    """The card's data as the form shows it (strings; street lines one per line)."""
    data = card.get("data") or {}
    address = data.get("address") or {}
    values = {f: data.get(f) or "" for f in (*TEXT_FIELDS, *CHOICE_FIELDS)}
    values["street_lines"] = "\n".join(address.get("street_lines") or [])
    values.update({f: address.get(f) or "" for f in ADDRESS_FIELDS})
    values["no_reminders"] = "true" if data.get("no_reminders") else ""
    return values


def patch_of(before: dict[str, str], form: dict[str, str]) -> dict[str, Any]:
    """What changed, as the PATCH body: an emptied text field is ``null`` (cleared)."""
    patch: dict[str, Any] = {}
    for f in TEXT_FIELDS:
        new = form.get(f, "").strip()
        if new != before[f]:
            patch[f] = new or None
    for f in CHOICE_FIELDS:
        new = form.get(f, "").strip()
        if new and new != before[f]:
            patch[f] = new
    address: dict[str, Any] = {}
    lines = [line.strip() for line in form.get("street_lines", "").splitlines() if line.strip()]
    if "\n".join(lines) != before["street_lines"]:
        address["street_lines"] = lines
    for f in ADDRESS_FIELDS:
        new = form.get(f, "").strip()
        if new != before[f]:
            if f == "country":
                if new:
                    address[f] = new.upper()
            else:
                address[f] = new or None
    if address:
        patch["address"] = address
    no_reminders = form.get("no_reminders") == "true"
    if no_reminders != (before["no_reminders"] == "true"):
        patch["no_reminders"] = no_reminders
    return patch


def card_field_errors(card: dict[str, Any], lang: str) -> dict[str, str]:
    """The card's billing-data errors by form field (``address.postal_code`` ->
    ``postal_code``), so each shows beside its field as well as in the list above."""
    found: dict[str, str] = {}
    for e in card.get("errors") or []:
        name = str(e.get("field") or "").rsplit(".", 1)[-1]
        if name:
            found.setdefault(name, str(e.get(f"message_{lang}") or e.get("message_en") or ""))
    return found


FORM_FIELDS = frozenset((*TEXT_FIELDS, *CHOICE_FIELDS, *ADDRESS_FIELDS, "street_lines", "no_reminders"))


def _unsaved(exc: ServiceError, lang: str) -> str:
    """ "Correct the marked fields", plus the service's own words for anything the form
    cannot mark (an error on no field of the form)."""
    message = translate(lang, "customers.fix_fields")
    if any(name not in FORM_FIELDS for name in exc.fields):
        message += " " + exc.message
    return message


def _change(entry: dict[str, Any]) -> dict[str, Any]:
    """One audit-trail row: when, who, which fields (not their values: the trail is for
    who-did-what; the values are on the card)."""
    changes = entry.get("changes")
    fields = sorted(changes) if isinstance(changes, dict) else []
    return {
        "version": entry.get("version"),
        "changed_at": entry.get("changed_at"),
        "actor": entry.get("actor"),
        "fields": fields,
    }


def _back(back: str | None) -> str | None:
    return safe_url(back, None)


@router.get("/customers/{customer_number}")
async def card(
    request: Request,
    user: User,
    customer_number: CustomerNumber,
    back: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    found = await call(request, "customers", "GET", f"/customers/{customer_number}")
    try:
        history = await call(request, "customers", "GET", f"/customers/{customer_number}/history")
    except ServiceError:
        history = []  # the card is what the clerk came for; its trail is extra
    return render(
        request,
        "customers/card.html",
        active_tab="billing",
        card=found,
        history=[_change(h) for h in reversed(history[-20:])],
        values=form_values(found),
        field_errors=card_field_errors(found, lang_of(request)),
        back=_back(back),
    )


@router.post("/customers/{customer_number}")
async def save(
    request: Request,
    user: User,
    customer_number: CustomerNumber,
    back: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    form = await request.form()
    submitted = {k: v for k, v in form.items() if isinstance(v, str)}
    current = await call(request, "customers", "GET", f"/customers/{customer_number}")
    patch = patch_of(form_values(current), submitted)
    back = _back(back)
    target = f"/customers/{customer_number}" + (f"?back={quote(back, safe='')}" if back else "")
    if not patch:
        flash(request, "customers.unchanged")
        return RedirectResponse(target, status_code=303)
    try:
        saved = await call(request, "customers", "PATCH", f"/customers/{customer_number}", json=patch)
    except ServiceError as exc:
        if not exc.fields:
            raise
        values = {**form_values(current), **{k: submitted.get(k, "") for k in form_values(current)}}
        return render(
            request,
            "customers/card.html",
            status_code=422,
            active_tab="billing",
            card=current,
            values=values,
            field_errors={**card_field_errors(current, lang_of(request)), **exc.fields},
            error=_unsaved(exc, lang_of(request)),
            back=_back(back),
        )
    flash(request, "customers.saved" if saved.get("valid") else "customers.saved_with_errors")
    return RedirectResponse(target, status_code=303)
