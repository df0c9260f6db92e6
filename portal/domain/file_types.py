"""What kind of document a file is, read from its content (its first bytes and structure), never from its name.

Evidence may be a PDF, a Word document (.docx), an Excel workbook (.xlsx), a PNG, JPEG or GIF image, or an
e-mail saved from a mail client (.eml, RFC 5322 text; .msg, Outlook's compound file). Anything else is refused.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

# Stated limits, shown on the upload page: each file, and the number per notice.
MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 20


def limit_label() -> str:
    """The size limit as people read it ("10 MB")."""
    return f"{MAX_BYTES // (1024 * 1024)} MB" if MAX_BYTES >= 1024 * 1024 else f"{MAX_BYTES} bytes"


@dataclass(frozen=True)
class FileKind:
    code: str
    label: str
    mimetype: str
    extension: str


PDF = FileKind("pdf", "PDF", "application/pdf", ".pdf")
DOCX = FileKind(
    "docx", "Word document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"
)
XLSX = FileKind("xlsx", "Excel workbook", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")
PNG = FileKind("png", "PNG image", "image/png", ".png")
JPEG = FileKind("jpeg", "JPEG image", "image/jpeg", ".jpg")
GIF = FileKind("gif", "GIF image", "image/gif", ".gif")
EML = FileKind("eml", "E-mail (.eml)", "message/rfc822", ".eml")
MSG = FileKind("msg", "Outlook e-mail (.msg)", "application/vnd.ms-outlook", ".msg")
KINDS = {k.code: k for k in (PDF, DOCX, XLSX, PNG, JPEG, GIF, EML, MSG)}

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Outlook stores each property of a message in a stream named __substg1.0_…, written in UTF-16 in the directory.
_MSG_STREAM = "__substg1.0_".encode("utf-16-le")
_EML_HEADERS = {"from", "to", "subject", "date", "message-id", "mime-version", "received", "return-path", "cc"}


def sniff(data: bytes) -> FileKind | None:
    """The kind of document ``data`` is, or None if it is none the portal accepts."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if data.startswith(b"PK\x03\x04"):
        return _office(data)
    if data.startswith(_OLE):
        return MSG if _MSG_STREAM in data else None
    return EML if _looks_like_email(data) else None


def _office(data: bytes) -> FileKind | None:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    return None


def _looks_like_email(data: bytes) -> bool:
    """RFC 5322 text: header lines ("Name: value", folded lines indented) up to a blank line, with at least three
    of the headers every saved message has."""
    try:
        head = data[:16384].decode("utf-8")
    except UnicodeDecodeError:
        head = data[:16384].decode("latin-1")
    if "\x00" in head:
        return False
    seen = set()
    for line in head.replace("\r\n", "\n").split("\n"):
        if not line:
            break
        if line[0] in " \t":
            continue
        name, colon, _ = line.partition(":")
        if not colon or not name or any(c in name for c in " \t"):
            return False
        seen.add(name.lower())
    return len(seen & _EML_HEADERS) >= 3 and "from" in seen
