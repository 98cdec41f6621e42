"""Money at the edges: parse what people and clients send into integer cents, show cents in
Dutch/Flemish notation. Inside the core every amount is an ``int`` of euro cents; ``Decimal`` only
at the edges; never ``float``.

Accepted input: a decimal string with a point as the decimal separator ("1234.56", "12.5",
"1234"), a ``Decimal``, or an ``int`` of whole euros. Refused, each with its own code and a Dutch
message: not a number (also ``float``, ``bool``, NaN, infinity, exponents, a comma), a currency
other than EUR, negative, zero (unless allowed), fractional cents (a value that is not a whole
number of cents: "12.345"; "12.50" and "12.500" are fine, they are whole cents) and absurdly large
amounts (more than ``MAX_AMOUNT_CENTS``).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

CURRENCY = "EUR"
# No single booking of a case-bound budget comes near one million euro; anything above is a typo
# (or an attack on the integer columns).
MAX_AMOUNT_CENTS = 100_000_000
_NUMBER = re.compile(r"^[+-]?\d{1,40}(\.\d{1,40})?$")
_CENT = Decimal("0.01")


class MoneyError(ValueError):
    """An amount that cannot be booked; ``field`` is the input it is about (amount or currency)."""

    def __init__(self, code: str, message_nl: str, field: str = "amount") -> None:
        super().__init__(code)
        self.code = code
        self.message_nl = message_nl
        self.field = field


def _as_decimal(value: object) -> Decimal:
    not_a_number = MoneyError(
        "not_a_number", "Geen geldig bedrag: gebruik cijfers met een punt als decimaalteken, bv. 1234.56."
    )
    if isinstance(value, (bool, float)):
        raise not_a_number
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise not_a_number
        return value
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER.match(text):
            raise not_a_number
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
            raise not_a_number from None
    raise not_a_number


def parse_amount(
    value: str | Decimal | int,
    currency: str,
    *,
    allow_zero: bool = False,
    max_cents: int = MAX_AMOUNT_CENTS,
) -> int:
    """The amount in euro cents, or ``MoneyError`` naming the rule it breaks."""
    amount = _as_decimal(value)
    if not isinstance(currency, str) or currency.strip().upper() != CURRENCY:
        raise MoneyError(
            "wrong_currency",
            f"Alleen bedragen in euro (EUR) worden aanvaard, niet '{str(currency)[:10]}'.",
            field="currency",
        )
    if amount < 0:
        raise MoneyError("negative", f"Een bedrag kan niet negatief zijn ({amount}).")
    if amount == 0 and not allow_zero:
        raise MoneyError("zero", "Het bedrag moet groter zijn dan € 0,00.")
    if amount > to_decimal(max_cents):
        raise MoneyError(
            "too_large", f"Het bedrag {amount} is onwaarschijnlijk groot (max. {format_eur(max_cents)})."
        )
    with localcontext() as exact:
        exact.prec = 100  # more than any accepted amount has digits: no rounding hides a fraction
        cents = amount * 100
        fractional = cents != cents.to_integral_value()
    if fractional:
        raise MoneyError(
            "fractional_cents", f"Het bedrag {amount} heeft meer dan 2 decimalen (een deel van een cent)."
        )
    return int(cents)


def format_eur(cents: int) -> str:
    """Dutch/Flemish notation: 123456 -> '€ 1.234,56'; -5 -> '€ -0,05'."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"€ {sign}{euros:,}".replace(",", ".") + f",{rest:02d}"


def to_decimal(cents: int) -> Decimal:
    """Cents as a Decimal of euros with two places (for API answers): 123456 -> Decimal('1234.56')."""
    return (Decimal(cents) / 100).quantize(_CENT)


def share_pct(part_cents: int, whole_cents: int) -> Decimal:
    """``part`` as a percentage of ``whole``, one decimal, rounded half up (0 when whole is 0)."""
    if whole_cents <= 0:
        return Decimal("0.0")
    return (Decimal(part_cents) * 100 / Decimal(whole_cents)).quantize(Decimal("0.1"), ROUND_HALF_UP)
