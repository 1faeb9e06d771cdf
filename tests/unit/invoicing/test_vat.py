"""The dated VAT table: the shipped rows at every boundary the law moved, and the loader
refusing a broken file. Expected rates come from the sources cited in the data file
(HE 61/2024, HE 141/2024, HE 93/2025, 345/2019, Vero.fi guidance), not from the code."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.invoicing.domain.vat import (
    DEFAULT_PATH,
    UnknownVatRate,
    VatRate,
    VatTable,
    VatTableError,
    load_vat_table,
)


@pytest.fixture(scope="module")
def table() -> VatTable:
    return load_vat_table()


# --- the shipped table, boundary by boundary ---------------------------------------------


@pytest.mark.parametrize(
    ("category", "day", "rate"),
    [
        # general: 24 % through 31.8.2024, 25.5 % from 1.9.2024 (HE 61/2024)
        ("general", date(2013, 1, 1), "24"),
        ("general", date(2024, 8, 31), "24"),
        ("general", date(2024, 9, 1), "25.5"),
        ("general", date(2026, 11, 23), "25.5"),
        # the 14 % group: 14 % through 31.12.2025, 13.5 % from 1.1.2026 (HE 93/2025)
        ("reduced", date(2025, 12, 31), "14"),
        ("reduced", date(2026, 1, 1), "13.5"),
        # books and medicines: 10 % -> 14 % on 1.1.2025 (HE 141/2024) -> 13.5 % on 1.1.2026
        ("books", date(2024, 12, 31), "10"),
        ("books", date(2025, 1, 1), "14"),
        ("books", date(2025, 12, 31), "14"),
        ("books", date(2026, 1, 1), "13.5"),
        ("medicines", date(2024, 12, 31), "10"),
        ("medicines", date(2025, 1, 1), "14"),
        ("medicines", date(2026, 1, 1), "13.5"),
        # single copies: general rate until 30.6.2019, 10 % from 1.7.2019 (345/2019)
        ("periodical-single-copy", date(2019, 6, 30), "24"),
        ("periodical-single-copy", date(2019, 7, 1), "10"),
        ("periodical-digital", date(2019, 6, 30), "24"),
        ("periodical-digital", date(2019, 7, 1), "10"),
    ],
)
def test_rate_for_a_category_follows_the_law_on_each_side_of_a_change(
    table: VatTable, category: str, day: date, rate: str
) -> None:
    assert table.rate_for(category, day).rate == Decimal(rate)


@pytest.mark.parametrize(
    "day",
    [
        date(2013, 1, 1),
        date(2019, 6, 30),
        date(2019, 7, 1),
        date(2024, 8, 31),
        date(2024, 9, 1),
        date(2024, 12, 31),
        date(2025, 1, 1),
        date(2025, 12, 31),
        date(2026, 1, 1),
        date(2030, 6, 1),
    ],
)
def test_periodical_subscriptions_are_10_percent_throughout(table: VatTable, day: date) -> None:
    assert table.check(Decimal("10"), day, "periodical-subscription") is None
    assert table.rate_for("periodical-subscription", day).rate == Decimal(10)


def test_general_rate_boundary_2024_08_31_vs_2024_09_01(table: VatTable) -> None:
    assert table.check(Decimal("24"), date(2024, 8, 31), "general") is None
    assert table.check(Decimal("24"), date(2024, 8, 31)) is None
    assert table.check(Decimal("25.5"), date(2024, 8, 31)) is not None  # not yet in force for anything
    assert table.check(Decimal("25.5"), date(2024, 9, 1), "general") is None


def test_24_percent_on_2024_09_01_is_refused_with_or_without_a_category(table: VatTable) -> None:
    problem = table.check(Decimal("24"), date(2024, 9, 1))
    assert problem is not None
    assert problem.code == "vat-rate-invalid"
    # the rates in force that day: 10 (periodicals, books, medicines), 14 (reduced), 25.5 (general)
    assert problem.message_fi == "ALV-kanta 24 % ei ole voimassa 1.9.2024 (voimassa olevat: 10 %, 14 %, 25,5 %)."
    assert problem.message_en == "VAT rate 24% is not in force on 2024-09-01 (rates in force: 10%, 14%, 25.5%)."

    with_category = table.check(Decimal("24"), date(2024, 9, 1), "general")
    assert with_category is not None
    assert with_category.code == "vat-rate-invalid"
    assert "25,5 %" in with_category.message_fi
    assert "25.5%" in with_category.message_en


def test_reduced_rate_boundary_2025_12_31_vs_2026_01_01(table: VatTable) -> None:
    assert table.check(Decimal("14"), date(2025, 12, 31), "reduced") is None
    assert table.check(Decimal("13.5"), date(2025, 12, 31), "reduced") is not None
    assert table.check(Decimal("13.5"), date(2026, 1, 1), "reduced") is None
    refused = table.check(Decimal("14"), date(2026, 1, 1), "reduced")
    assert refused is not None
    assert refused.code == "vat-rate-invalid"  # nothing is at 14 % in 2026
    assert table.check(Decimal("14"), date(2026, 1, 1)) is not None


def test_a_rate_of_another_category_is_refused_for_the_given_one(table: VatTable) -> None:
    # 2025-06-01: books 14 %, periodical subscriptions 10 %; 10 % is a valid rate that
    # day, only not for books
    day = date(2025, 6, 1)
    assert table.check(Decimal("10"), day) is None
    problem = table.check(Decimal("10"), day, "books")
    assert problem is not None
    assert problem.code == "vat-rate-category-mismatch"
    assert problem.message_fi == "ALV-kanta 10 % ei kuulu luokkaan books 1.6.2025: luokan verokanta on silloin 14 %."
    assert "14%" in problem.message_en


def test_a_single_copy_at_the_general_rate_after_june_2019_is_refused(table: VatTable) -> None:
    problem = table.check(Decimal("25.5"), date(2024, 9, 1), "periodical-single-copy")
    assert problem is not None
    assert problem.code == "vat-rate-category-mismatch"
    assert table.check(Decimal("24"), date(2019, 6, 30), "periodical-single-copy") is None


def test_rates_are_compared_as_numbers_not_text(table: VatTable) -> None:
    assert table.check(Decimal("25.50"), date(2025, 1, 1), "general") is None
    assert table.check(Decimal("10.00"), date(2025, 1, 1), "periodical-subscription") is None


def test_unknown_category_and_a_day_before_the_table(table: VatTable) -> None:
    unknown = table.check(Decimal("25.5"), date(2025, 1, 1), "lottery")
    assert unknown is not None
    assert unknown.code == "vat-category-unknown"
    early = table.check(Decimal("23"), date(2012, 12, 31), "general")
    assert early is not None
    assert early.code == "vat-category-not-in-force"
    with pytest.raises(UnknownVatRate) as raised:
        table.rate_for("lottery", date(2025, 1, 1))
    assert raised.value.problem.code == "vat-category-unknown"


@pytest.mark.parametrize("weird", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-10")])
def test_a_non_finite_or_negative_rate_is_invalid(table: VatTable, weird: Decimal) -> None:
    problem = table.check(weird, date(2025, 1, 1))
    assert problem is not None
    assert problem.code == "vat-rate-invalid"
    assert table.check(weird, date(2025, 1, 1), "general") is not None


def test_rates_on_a_day_lists_each_category_once(table: VatTable) -> None:
    rates = {r.category: r.rate for r in table.rates_on(date(2024, 9, 1))}
    assert rates == {
        "general": Decimal("25.5"),
        "periodical-subscription": Decimal(10),
        "periodical-single-copy": Decimal(10),
        "periodical-digital": Decimal(10),
        "reduced": Decimal(14),
        "books": Decimal(10),
        "medicines": Decimal(10),
    }


def test_every_shipped_row_cites_a_public_source(table: VatTable) -> None:
    # general 2 + subscription 1 + single copy 2 + digital 2 + reduced 2 + books 3 + medicines 3
    assert len(table.rows) == 15
    for row in table.rows:
        assert row.description_fi and row.description_en
        assert any(mark in row.source for mark in ("Vero.fi", "HE ", "345/2019")), row


# --- the loader ------------------------------------------------------------------------

_ROW = """
[[rate]]
category = "{category}"
rate = {rate}
valid_from = {valid_from}
{valid_to}
description_fi = "Testi"
description_en = "Test"
source = "Test source"
"""


def _row(category: str = "general", rate: str = '"24"', valid_from: str = "2013-01-01", valid_to: str = "") -> str:
    to = f"valid_to = {valid_to}" if valid_to else ""
    return _ROW.format(category=category, rate=rate, valid_from=valid_from, valid_to=to)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "vat.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_path_is_the_shipped_file() -> None:
    assert DEFAULT_PATH.name == "vat_rates.toml"
    assert DEFAULT_PATH.is_file()


def test_adjacent_periods_and_gaps_load(tmp_path: Path) -> None:
    text = (
        _row(valid_to="2024-08-31")
        + _row(rate='"25.5"', valid_from="2024-09-01", valid_to="2024-12-31")
        + _row(rate='"30"', valid_from="2026-01-01")  # a gap in 2025 is allowed
    )
    table = load_vat_table(_write(tmp_path, text))
    assert table.rate_for("general", date(2024, 12, 31)).rate == Decimal("25.5")
    assert table.check(Decimal("25.5"), date(2025, 6, 1), "general") is not None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        # the second period starts on the last day of the first
        (_row(valid_to="2024-09-01") + _row(rate='"25.5"', valid_from="2024-09-01"), "overlap"),
        # an open first period swallows every later one
        (_row() + _row(rate='"25.5"', valid_from="2024-09-01"), "overlap"),
        # the same row twice
        (_row() + _row(), "overlap"),
        (_row(valid_from="2024-09-01", valid_to="2024-08-31"), "before valid_from"),
        (_row(rate="24.0"), "TOML float"),
        (_row(rate='"24,5"'), "not a decimal"),
        (_row(rate='"12.345"'), "more than two decimals"),
        (_row(rate='"101"'), "between 0 and 100"),
        (_row(rate='"-1"'), "between 0 and 100"),
        (_row(rate='"NaN"'), "between 0 and 100"),
        (_row(rate="true"), "decimal string"),
        (_row(valid_from='"2013-01-01"'), "plain TOML date"),
        (_row(valid_from="2013-01-01T00:00:00"), "plain TOML date"),
        (_row(category="General Rate"), "lower-case code"),
        (_row().replace('source = "Test source"', ""), "missing ['source']"),
        (_row().replace('source = "Test source"', 'source = "  "'), "source must be a non-empty string"),
        (_row() + 'colour = "red"\n', "unknown keys ['colour']"),
        ("version = 1\n" + _row(), "unknown top-level keys"),
        ("", "no [[rate]] rows"),
        ("[[rate]\n", "not valid TOML"),
    ],
)
def test_loader_refuses_a_broken_file_with_a_clear_reason(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(VatTableError) as raised:
        load_vat_table(_write(tmp_path, text))
    assert says in str(raised.value)
    assert "vat.toml" in str(raised.value)


def test_overlap_message_names_the_category_and_both_periods(tmp_path: Path) -> None:
    text = _row(valid_to="2024-09-30") + _row(rate='"25.5"', valid_from="2024-09-01")
    with pytest.raises(VatTableError) as raised:
        load_vat_table(_write(tmp_path, text))
    assert "general periods overlap: 24% 2013-01-01..2024-09-30 and 25.5% from 2024-09-01" in str(raised.value)


def test_the_table_itself_refuses_overlaps_built_in_code() -> None:
    def row(rate: str, start: date, end: date | None) -> VatRate:
        return VatRate("general", Decimal(rate), start, end, "Yleinen", "General", "test")

    with pytest.raises(VatTableError, match="overlap"):
        VatTable([row("24", date(2013, 1, 1), None), row("25.5", date(2024, 9, 1), None)])
    with pytest.raises(VatTableError, match="before it starts"):
        VatTable([row("24", date(2013, 1, 2), date(2013, 1, 1))])
    with pytest.raises(VatTableError, match="no rates"):
        VatTable([])
