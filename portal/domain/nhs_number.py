"""The NHS number: ten digits whose last is a modulus 11 check digit (docs/nhs-number.md)."""

from __future__ import annotations

import re

NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_number_digits(value: str) -> str:
    """Strip the spaces and hyphens people type in NHS numbers ("943 476 5919")."""
    return re.sub(r"[\s-]", "", value)


def nhs_number_is_valid(value: str) -> bool:
    """Check a 10-digit NHS number with the modulus 11 check digit."""
    digits = nhs_number_digits(value)
    if not re.fullmatch(r"\d{10}", digits):
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], NHS_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def format_nhs_number(value: str) -> str:
    """Display an NHS number as 3 3 4 digits."""
    d = nhs_number_digits(value)
    return f"{d[:3]} {d[3:6]} {d[6:]}"
