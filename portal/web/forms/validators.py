"""Small validators with GOV.UK-style messages that tell the user how to put things right."""

from __future__ import annotations

import re
import unicodedata

from wtforms import Field, Form, ValidationError

from portal.domain.nhs_number import nhs_number_digits, nhs_number_is_valid


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
