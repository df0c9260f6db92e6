"""Small validators with GOV.UK-style messages that tell the user how to put things right."""

from __future__ import annotations

import re
import unicodedata

from wtforms import Field, Form, ValidationError

NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_number_digits(value: str) -> str:
    """Strip the spaces and hyphens people type in NHS numbers ("943 476 5919")."""
    return re.sub(r"[\s-]", "", value)


def nhs_number_is_valid(value: str) -> bool:
    """Check a 10-digit NHS number with the modulus 11 check digit (docs/nhs-number.md#check-digit)."""
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


class NhsNumber:
    """An optional NHS number: 10 digits passing the modulus 11 check."""

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            return
        digits = nhs_number_digits(field.data)
        if not digits.isdigit():
            raise ValidationError("NHS number must only include numbers, spaces and hyphens")
        if len(digits) != 10:
            raise ValidationError("NHS number must be 10 digits, like 943 476 5919")
        if not nhs_number_is_valid(digits):
            raise ValidationError("Enter a valid NHS number: check the 10 digits against the child's record")


class LocalIdentifier:
    """A local case-system identifier (Rochdale's "P Number"): letters, numbers, hyphens and slashes."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(self, form: Form, field: Field) -> None:
        if field.data and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 /-]{0,29}", field.data):
            raise ValidationError(
                f"{self.label} must be 30 characters or fewer and use only letters, numbers, "
                "spaces, hyphens and slashes"
            )


class PlainText:
    """Refuse control characters (other than new lines and tabs in long answers) and enforce a length."""

    def __init__(self, label: str, max_length: int, *, multiline: bool = False) -> None:
        self.label, self.max_length, self.multiline = label, max_length, multiline

    def __call__(self, form: Form, field: Field) -> None:
        value = field.data or ""
        allowed = {"\n", "\r", "\t"} if self.multiline else set()
        if any(unicodedata.category(ch) in {"Cc", "Cs", "Co"} and ch not in allowed for ch in value):
            raise ValidationError(f"{self.label} must not contain control characters; retype it rather than paste")
        if len(value) > self.max_length:
            raise ValidationError(f"{self.label} must be {self.max_length:,} characters or fewer")
