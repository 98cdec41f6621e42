"""Parsing amounts into cents and showing cents the Flemish way."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zorgtafel.rules.money import (
    MAX_AMOUNT_CENTS,
    MoneyError,
    format_eur,
    parse_amount,
    share_pct,
    to_decimal,
)


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        ("1234.56", 123456),
        ("12.5", 1250),
        ("12.50", 1250),
        ("12.500", 1250),  # whole cents, written with a trailing zero
        ("0.01", 1),
        ("7", 700),
        (" 99.99 ", 9999),
        ("+5", 500),
        (Decimal("10.10"), 1010),
        (3, 300),
        ("1000000.00", MAX_AMOUNT_CENTS),
    ],
)
def test_parses_euros_into_cents(value, cents):
    assert parse_amount(value, "EUR") == cents


def test_currency_code_is_case_insensitive():
    assert parse_amount("1", "eur") == 100


@pytest.mark.parametrize(
    ("value", "currency", "code", "field"),
    [
        ("abc", "EUR", "not_a_number", "amount"),
        ("", "EUR", "not_a_number", "amount"),
        ("1,50", "EUR", "not_a_number", "amount"),
        ("1.234,56", "EUR", "not_a_number", "amount"),
        ("1e3", "EUR", "not_a_number", "amount"),
        ("NaN", "EUR", "not_a_number", "amount"),
        ("Infinity", "EUR", "not_a_number", "amount"),
        (Decimal("NaN"), "EUR", "not_a_number", "amount"),
        (Decimal("Infinity"), "EUR", "not_a_number", "amount"),
        (12.5, "EUR", "not_a_number", "amount"),  # never float
        (True, "EUR", "not_a_number", "amount"),
        ("1" * 41, "EUR", "not_a_number", "amount"),
        ("10.00", "USD", "wrong_currency", "currency"),
        ("10.00", "", "wrong_currency", "currency"),
        ("10.00", "EURO", "wrong_currency", "currency"),
        ("-0.01", "EUR", "negative", "amount"),
        ("-100", "EUR", "negative", "amount"),
        (-1, "EUR", "negative", "amount"),
        ("0", "EUR", "zero", "amount"),
        ("0.00", "EUR", "zero", "amount"),
        ("-0", "EUR", "zero", "amount"),
        ("12.345", "EUR", "fractional_cents", "amount"),
        ("0.001", "EUR", "fractional_cents", "amount"),
        (Decimal("1.005"), "EUR", "fractional_cents", "amount"),
        ("1000000.01", "EUR", "too_large", "amount"),
        ("999999999999999", "EUR", "too_large", "amount"),
        ("1" * 40, "EUR", "too_large", "amount"),
        ("1" * 39 + ".5", "EUR", "too_large", "amount"),
        ("999999.505", "EUR", "fractional_cents", "amount"),
        ("0." + "0" * 39 + "1", "EUR", "fractional_cents", "amount"),
        (Decimal("1E-999999"), "EUR", "fractional_cents", "amount"),
        (Decimal("9E+999999"), "EUR", "too_large", "amount"),
        (Decimal("1E+30"), "EUR", "too_large", "amount"),
    ],
)
def test_refusals_name_the_rule_in_dutch(value, currency, code, field):
    with pytest.raises(MoneyError) as exc:
        parse_amount(value, currency)
    assert exc.value.code == code
    assert exc.value.field == field
    assert exc.value.message_nl and exc.value.message_nl[0].isupper()


def test_zero_where_allowed():
    assert parse_amount("0.00", "EUR", allow_zero=True) == 0


def test_messages():
    with pytest.raises(MoneyError, match="zero") as exc:
        parse_amount("0", "EUR")
    assert exc.value.message_nl == "Het bedrag moet groter zijn dan € 0,00."
    with pytest.raises(MoneyError) as exc:
        parse_amount("1.001", "EUR")
    assert exc.value.message_nl == "Het bedrag 1.001 heeft meer dan 2 decimalen (een deel van een cent)."
    with pytest.raises(MoneyError) as exc:
        parse_amount("5", "USD")
    assert exc.value.message_nl == "Alleen bedragen in euro (EUR) worden aanvaard, niet 'USD'."


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "€ 0,00"),
        (5, "€ 0,05"),
        (100, "€ 1,00"),
        (123456, "€ 1.234,56"),
        (500000, "€ 5.000,00"),
        (123456789, "€ 1.234.567,89"),
        (-20000, "€ -200,00"),
    ],
)
def test_format_eur(cents, text):
    assert format_eur(cents) == text


def test_to_decimal_and_share():
    assert to_decimal(123456) == Decimal("1234.56")
    assert str(to_decimal(5)) == "0.05"
    assert share_pct(500000, 1000000) == Decimal("50.0")
    assert share_pct(1, 3) == Decimal("33.3")
    assert share_pct(2, 3) == Decimal("66.7")
    assert share_pct(1, 0) == Decimal("0.0")


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_CENTS))
def test_round_trip(cents):
    assert parse_amount(str(to_decimal(cents)), "EUR") == cents
    assert parse_amount(to_decimal(cents), "EUR") == cents
