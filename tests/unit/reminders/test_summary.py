"""The answer a clerk reads after creating reminders, from the job's counts."""

from __future__ import annotations

from services.reminders.handlers import summary


def test_created_and_skipped_per_level_in_finnish_and_english() -> None:
    result = summary(
        {"created:1": 40, "skipped:1:paid": 2, "skipped:1:disputed": 1, "created:2": 1, "skipped:2:too_early": 40}
    )
    one, two = result["levels"]
    assert (one["level"], one["created"], two["created"]) == (1, 40, 1)
    assert one["message_fi"] == "Maksumuistutuksia #1 luotiin 40 kpl. Ohitettiin 3: riitautettu 1, maksettu 2."
    assert one["message_en"] == "40 payment reminders #1 created. 3 skipped: disputed 1, paid 2."
    assert two["message_en"] == "1 payment reminder #2 created. 40 skipped: too early 40."
    assert one["skipped"] == [
        {
            "reason": "disputed",
            "count": 1,
            "message_fi": "Lasku on riitautettu.",
            "message_en": "The invoice is disputed.",
        },
        {"reason": "paid", "count": 2, "message_fi": "Maksettu.", "message_en": "Paid."},
    ]
    assert result["message_fi"] == one["message_fi"] + " " + two["message_fi"]


def test_nothing_created() -> None:
    assert summary({"created:1": 0})["message_fi"] == "Maksumuistutuksia #1 luotiin 0 kpl."
