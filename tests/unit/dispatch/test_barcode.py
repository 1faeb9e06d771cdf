"""The virtual bar code against the published example and hand-assembled ones."""

from datetime import date
from decimal import Decimal

import pytest

from services.dispatch.domain.barcode import NotCodable, virtual_barcode

IBAN = "FI37 1590 3000 0007 76"


def test_version_4_matches_the_published_example() -> None:
    # Finance Finland's example (the dispatch issue's vector): ref 11112, 12.25 €, due 2016-12-21
    code = virtual_barcode(IBAN, Decimal("12.25"), "11112", date(2016, 12, 21))
    assert code == "437159030000007760000122500000000000000000011112161221"


def test_version_5_carries_the_rf_check_digits_and_a_21_digit_reference() -> None:
    code = virtual_barcode(IBAN, Decimal("12.25"), "RF98 11112", date(2016, 12, 21))
    expected = "5" + "3715903000000776" + "000012" + "25" + "98" + "0" * 16 + "11112" + "161221"
    assert code == expected
    assert len(code) == 54


def test_an_amount_too_large_to_code_and_a_missing_due_date_are_zeros() -> None:
    code = virtual_barcode(IBAN, Decimal("1000000.00"), "11112", None)
    assert code[17:25] == "00000000"
    assert code.endswith("000000")


def test_only_finnish_ibans_and_digit_references_are_coded() -> None:
    with pytest.raises(NotCodable):
        virtual_barcode("SE45 5000 0000 0583 9825 7466", Decimal("1.00"), "11112", None)
    with pytest.raises(NotCodable):
        virtual_barcode(IBAN, Decimal("1.00"), "1111A", None)
    with pytest.raises(NotCodable):
        virtual_barcode(IBAN, Decimal("1.005"), "11112", None)
