"""Public holidays on which no zorgtafel is planned.

The dates come from the ``holidays`` package (official public holidays only, no bank or school
holidays). A region near the border can close on the holidays of several countries, e.g.
``("BE", "NL")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=256)
def _country_year(country: str, year: int) -> frozenset[date]:
    try:
        return frozenset(holidays.country_holidays(country, years=year))
    except NotImplementedError as exc:
        raise ValueError(f"public holidays: unknown country code {country!r}") from exc


def closed_dates(first: date, last: date, countries: Sequence[str] = ("BE",)) -> frozenset[date]:
    """Public holidays of the given countries (ISO codes, "BE", "NL") between first and last inclusive."""
    if isinstance(countries, str):  # "BE" instead of ("BE",): a common slip, read it as one code
        countries = (countries,)
    out: set[date] = set()
    for country in countries:
        code = country.strip().upper()
        if not code:
            continue
        for year in range(first.year, last.year + 1):
            out.update(d for d in _country_year(code, year) if first <= d <= last)
    return frozenset(out)
