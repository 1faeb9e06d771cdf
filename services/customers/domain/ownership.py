"""Who owns a field of the card: the CRM or the clerk, whichever changed it last.

The card keeps, beside its data, what the CRM last sent (``crm``). An upsert is
compared with that, not with the card: only the fields the CRM itself changed since
its previous upsert are applied to the card, so a clerk's fix (seed step 10) survives
upserts that leave that field alone, and the CRM wins a field again as soon as it
changes it. The first upsert of a customer applies everything.

The postal address is owned per sub-field (street lines, postal code, city, country):
a clerk's fixed postal code survives an upsert that only moves the city. When either
side has no address at all, the address counts as one field (the CRM adding or
removing it wins).

Replay safety: an upsert older (by ``ce_time``) than the last one applied for the
customer changes nothing; the same time again is applied (a CRM that re-sends).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.customers import CustomerData

PER_SUB_FIELD = frozenset({"address"})


def crm_changed(before: dict[str, Any] | None, now: dict[str, Any]) -> dict[str, Any]:
    """Fields (address: sub-fields) the CRM changed since ``before``, with new values.

    Both arguments are ``CustomerData.model_dump(mode="json")`` forms."""
    if before is None:
        return dict(now)
    out: dict[str, Any] = {}
    for key, value in now.items():
        old = before.get(key)
        if value == old:
            continue
        if key in PER_SUB_FIELD and isinstance(value, dict) and isinstance(old, dict):
            out[key] = {k: v for k, v in value.items() if old.get(k) != v}
        else:
            out[key] = value
    return out


def merge_upsert(card: CustomerData | None, crm_before: CustomerData | None, crm_now: CustomerData) -> CustomerData:
    """The card after an upsert: the CRM's changed fields applied, the rest kept."""
    if card is None or crm_before is None:
        return crm_now
    before, now = crm_before.model_dump(mode="json"), crm_now.model_dump(mode="json")
    changed = crm_changed(before, now)
    if not changed:
        return card
    merged = card.model_dump(mode="json")
    for key, value in changed.items():
        per_sub_field = key in PER_SUB_FIELD and isinstance(before.get(key), dict) and isinstance(now.get(key), dict)
        if per_sub_field and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = now[key]
    return CustomerData.model_validate(merged)


def is_stale(last_applied: datetime | None, sent: datetime) -> bool:
    """Is an upsert sent at ``sent`` older than the last one applied?"""
    return last_applied is not None and sent < last_applied
