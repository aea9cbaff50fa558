"""Which holiday calendars need a region, read from the `holidays` library itself.

A country whose public holidays differ by region (GB: Easter Monday is a bank holiday in
England, Wales and Northern Ireland, not in Scotland; US states; Indian and Australian states)
is listed by the library with subdivisions. Asking `holidays` for such a country without one
gives only the holidays every region shares, so "GB" alone silently loses Easter Monday. The
rule here is therefore the library's own list, not a hand-kept one: a country with
subdivisions needs one, and only the library's codes are accepted.
"""

from __future__ import annotations

from functools import lru_cache

import holidays


@lru_cache(maxsize=1)
def _supported() -> dict[str, tuple[str, ...]]:
    return {code: tuple(subdivisions)
            for code, subdivisions in holidays.list_supported_countries().items()}


def is_supported_country(country: str) -> bool:
    return country.upper() in _supported()


def subdivision_choices(country: str) -> list[tuple[str, str]]:
    """(code, label) of each region of `country` the library knows; empty when it has none.
    Labels use the library's region names where it has them ("ENG – England")."""
    codes = _supported().get(country.upper(), ())
    if not codes:
        return []
    names: dict[str, str] = {}
    aliases = getattr(holidays.country_holidays(country.upper()), "subdivisions_aliases", {})
    for name, code in aliases.items():
        names.setdefault(code, name)
    return [(code, f"{code} – {names[code]}" if code in names else code) for code in codes]


def subdivision_required(country: str) -> bool:
    return bool(_supported().get(country.upper()))


def subdivision_problem(country: str, subdivision: str) -> str | None:
    """Why (country, subdivision) is not a usable holiday calendar, or None when it is."""
    country = country.upper()
    if not is_supported_country(country):
        return f"No public-holiday calendar is known for country code “{country}”."
    codes = {code for code, _label in subdivision_choices(country)}
    if subdivision and subdivision not in codes:
        return f"“{subdivision}” is not a region of {country}; choose one of the list."
    if not subdivision and codes:
        return (f"Public holidays in {country} differ by region: choose the region, or the "
                "calendar would leave out regional holidays.")
    return None
