"""The verify page's form: a PDF, or its SHA-256 typed or pasted."""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.datastructures import FileStorage
from wtforms import FileField, StringField, SubmitField

from portal.services.verification import normalise_hash
from portal.web.forms.base import PortalForm
from portal.web.forms.stencils import FileInput, SubmitButton, TextInput


class VerifyForm(PortalForm):
    file = FileField("Upload the PDF", widget=FileInput())
    sha256 = StringField(
        "Or enter its SHA-256 fingerprint",
        description="64 letters and numbers, for example from your PDF reader or sha256sum.",
        widget=TextInput(),
    )
    submit = SubmitField("Check", widget=SubmitButton())

    @property
    def upload(self) -> FileStorage | None:
        found = request.files.get(self.file.name)
        return found if found is not None and found.filename else None

    @property
    def digest(self) -> str | None:
        return normalise_hash(self.sha256.data or "") if self.upload is None else None

    def validate(self, extra_validators: Any = None) -> bool:
        ok = bool(super().validate(extra_validators))
        if self.upload is None and not (self.sha256.data or "").strip():
            self.file.errors = [*self.file.errors, "Upload the PDF, or enter its SHA-256 fingerprint"]
            return False
        if self.upload is None and self.digest is None:
            self.sha256.errors = [*self.sha256.errors, "Enter a SHA-256 fingerprint of 64 letters (a to f) and numbers"]
            return False
        return ok
