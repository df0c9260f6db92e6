"""PAdES signing of rendered notices: verification by pyHanko and poppler's pdfsig, and tamper detection."""

from __future__ import annotations

import asyncio
import builtins
import io
import logging
import os
import random
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, TypeVar

import pypdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic, incremental_writer
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata import info as pdf_info
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import attributes
from pyhanko.sign.signers import pdf_cms, pdf_signer
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

import portal.infrastructure.pdf.signing as signing
from portal.infrastructure.pdf import NoticeContext
from portal.infrastructure.pdf.signing import (
    DEFAULT_REASON,
    SIGNATURE_FIELD,
    PdfSigner,
    generate_self_signed,
    verify_signed_pdf,
)
from portal.services.documents import render_notice

PDFSIG = shutil.which("pdfsig")
needs_pdfsig = pytest.mark.skipif(PDFSIG is None, reason="poppler-utils pdfsig is not installed")

CANARY_NAME = "Zyxqoria Canarytest"
CANARY_DOB = "29 February 2016"
CANARY_NHS = "999 000 0018"


@pytest.fixture(scope="module")
def keypair() -> tuple[bytes, bytes]:
    return generate_self_signed()


@pytest.fixture(scope="module")
def signer(keypair: tuple[bytes, bytes]) -> PdfSigner:
    return PdfSigner(*keypair)


def _context(reference: str = "ROC-2026-0001") -> NoticeContext:
    return NoticeContext(
        reference=reference,
        form_title="Professional Challenge / Outcome Resolution Notice",
        version=1,
        issued_at=datetime(2026, 11, 23, 14, 5, tzinfo=UTC),
        partnership_name="Rochdale Borough Safeguarding Children Partnership",
        fields={
            "child_name": CANARY_NAME,
            "child_dob": CANARY_DOB,
            "nhs_number": CANARY_NHS,
            "summary_of_disagreement": "Threshold for a strategy discussion.",
        },
    )


@pytest.fixture(scope="module")
def unsigned_pdf() -> bytes:
    return render_notice("rochdale-appendix-1", _context())


@pytest.fixture(scope="module")
def signed_pdf(signer: PdfSigner, unsigned_pdf: bytes) -> bytes:
    return signer.sign(unsigned_pdf)


def tamper_in_first_range(pdf: bytes) -> bytes:
    """Flip one byte mid-way through the first stream (page 1's content), inside the first /ByteRange part."""
    byte_range = re.search(rb"/ByteRange\s*\[\s*0\s+(\d+)\s+\d+\s+\d+\s*\]", pdf)
    first_stream = re.search(rb"/Length (\d+)\s*>>\s*stream\r?\n", pdf)
    assert byte_range is not None and first_stream is not None
    position = first_stream.end() + int(first_stream.group(1)) // 2
    assert position < int(byte_range.group(1))
    tampered = bytearray(pdf)
    tampered[position] ^= 0x01
    return bytes(tampered)


def run_pdfsig(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf)
    # -nocert: judge the signature itself without NSS trust stores or OCSP look-ups;
    # a self-signed certificate is never trusted by pdfsig anyway.
    result = subprocess.run(
        [PDFSIG or "pdfsig", "-nocert", str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    return result.stdout + result.stderr


def test_signature_verifies(signed_pdf: bytes, keypair: tuple[bytes, bytes]) -> None:
    assert verify_signed_pdf(signed_pdf, keypair[1])


def test_unsigned_pdf_does_not_verify(unsigned_pdf: bytes, keypair: tuple[bytes, bytes]) -> None:
    assert not verify_signed_pdf(unsigned_pdf, keypair[1])


def test_garbage_does_not_verify(keypair: tuple[bytes, bytes]) -> None:
    assert not verify_signed_pdf(b"not a pdf", keypair[1])


def test_signature_is_pades_in_the_portal_field(signed_pdf: bytes) -> None:
    (signature,) = PdfFileReader(io.BytesIO(signed_pdf)).embedded_signatures
    assert signature.field_name == SIGNATURE_FIELD
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.sig_object["/Reason"] == DEFAULT_REASON
    signed_attrs = {attr["type"].native for attr in signature.signer_info["signed_attrs"]}
    # PAdES B-B: ESS signing-certificate-v2 present; the CMS signing-time attribute must be absent.
    assert "signing_certificate_v2" in signed_attrs
    assert "signing_time" not in signed_attrs


def test_custom_reason_is_recorded(signer: PdfSigner, unsigned_pdf: bytes) -> None:
    signed = signer.sign(unsigned_pdf, reason="Re-issued after correction")
    (signature,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    assert signature.sig_object["/Reason"] == "Re-issued after correction"


def test_flipped_byte_fails_verification(signed_pdf: bytes, keypair: tuple[bytes, bytes]) -> None:
    assert not verify_signed_pdf(tamper_in_first_range(signed_pdf), keypair[1])


def test_other_trust_root_fails(signed_pdf: bytes) -> None:
    _, other_cert = generate_self_signed("Someone else")
    assert not verify_signed_pdf(signed_pdf, other_cert)


def test_signature_by_other_key_fails(unsigned_pdf: bytes, keypair: tuple[bytes, bytes]) -> None:
    impostor = PdfSigner(*generate_self_signed("Escalation Portal (development)"))
    assert not verify_signed_pdf(impostor.sign(unsigned_pdf), keypair[1])


def test_later_incremental_update_fails(signed_pdf: bytes, keypair: tuple[bytes, bytes]) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    writer.add_object(generic.TextStringObject("appended after signing"))
    out = io.BytesIO()
    writer.write(out)
    assert not verify_signed_pdf(out.getvalue(), keypair[1])


def test_signed_metadata_holds_no_child_data(signed_pdf: bytes) -> None:
    reader = pypdf.PdfReader(io.BytesIO(signed_pdf))
    metadata_text = " ".join(str(value) for value in (reader.metadata or {}).values())
    if reader.xmp_metadata is not None:
        metadata_text += reader.xmp_metadata.stream.get_data().decode("utf-8", "replace")
    for canary in (CANARY_NAME, *CANARY_NAME.split(), CANARY_DOB, CANARY_NHS, CANARY_NHS.replace(" ", "")):
        assert canary.lower() not in metadata_text.lower()


@needs_pdfsig
def test_pdfsig_reports_valid_signature(signed_pdf: bytes, tmp_path: Path) -> None:
    output = run_pdfsig(signed_pdf, tmp_path)
    assert "Signature Field Name: PortalSignature" in output
    assert "Signature Type: ETSI.CAdES.detached" in output
    assert "Total document signed" in output
    assert "Signature Validation: Signature is Valid." in output


@needs_pdfsig
def test_pdfsig_rejects_flipped_byte(signed_pdf: bytes, tmp_path: Path) -> None:
    output = run_pdfsig(tamper_in_first_range(signed_pdf), tmp_path)
    assert "Signature Validation:" in output
    assert "Signature is Valid." not in output
    assert "Digest Mismatch." in output


def test_signing_reuses_the_parsed_key(
    signer: PdfSigner, unsigned_pdf: bytes, keypair: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_reload(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("private key re-loaded while signing")

    monkeypatch.setattr(serialization, "load_der_private_key", no_reload)
    monkeypatch.setattr(serialization, "load_pem_private_key", no_reload)
    signed = signer.sign(unsigned_pdf)
    monkeypatch.undo()
    assert verify_signed_pdf(signed, keypair[1])


def test_signing_skips_the_dry_run(signer: PdfSigner, unsigned_pdf: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_estimate(*_args: object, **_kwargs: object) -> int:
        raise AssertionError("signature size estimated by a dry run")

    monkeypatch.setattr(pdf_signer.PdfSigningSession, "estimate_signature_container_size", no_estimate)
    assert signer.sign(unsigned_pdf).startswith(b"%PDF-")


def test_signing_writes_no_files(signer: PdfSigner, unsigned_pdf: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = builtins.open

    def guarded_open(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if any(flag in mode for flag in "wax+"):
            raise AssertionError(f"signing opened {file!r} for writing")
        return real_open(file, mode, *args, **kwargs)  # type: ignore[call-overload]

    def no_temp(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("signing used a temporary file")

    monkeypatch.setattr(builtins, "open", guarded_open)
    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile"):
        monkeypatch.setattr(tempfile, name, no_temp)
    assert signer.sign(unsigned_pdf).startswith(b"%PDF-")


def test_generated_certificate_suits_document_signing(keypair: tuple[bytes, bytes]) -> None:
    key = serialization.load_pem_private_key(keypair[0], password=None)
    cert = x509.load_pem_x509_certificate(keypair[1])
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Escalation Portal (development)"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.content_commitment
    assert not usage.key_cert_sign
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=5 * 365) <= lifetime <= timedelta(days=5 * 366)


def p256_keypair() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Portal P-256")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def test_p256_keys_sign_and_verify(unsigned_pdf: bytes) -> None:
    key_pem, cert_pem = p256_keypair()
    assert verify_signed_pdf(PdfSigner(key_pem, cert_pem).sign(unsigned_pdf), cert_pem)


def test_mismatched_key_and_certificate_are_refused(keypair: tuple[bytes, bytes]) -> None:
    _, other_cert = p256_keypair()
    with pytest.raises(ValueError, match="does not match"):
        PdfSigner(keypair[0], other_cert)


def test_rsa_signing_reuses_a_checked_cms_template(keypair: tuple[bytes, bytes], unsigned_pdf: bytes) -> None:
    signer = PdfSigner(*keypair)
    first = signer.sign(unsigned_pdf)
    assert signer._template is not None  # the fast path is in use for RSA keys
    second = signer.sign(unsigned_pdf, reason="Second copy")
    for pdf in (first, second):
        assert verify_signed_pdf(pdf, keypair[1])
    # Each document gets its own signature value: the template is not reused verbatim.
    contents = [PdfFileReader(io.BytesIO(p)).embedded_signatures[0].pkcs7_content for p in (first, second)]
    other_pdf = render_notice("rochdale-appendix-1", _context(reference="ROC-2026-0099"))
    third = signer.sign(other_pdf)
    assert verify_signed_pdf(third, keypair[1])
    assert PdfFileReader(io.BytesIO(third)).embedded_signatures[0].pkcs7_content != contents[0]


def test_the_template_is_built_and_checked_at_construction(
    keypair: tuple[bytes, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="portal.infrastructure.pdf.signing")
    assert PdfSigner(*keypair)._template is not None
    assert not [r for r in caplog.records if r.name == "portal.infrastructure.pdf.signing"]


def test_p256_keys_use_pyhankos_path_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="portal.infrastructure.pdf.signing")
    assert PdfSigner(*p256_keypair())._template is None  # ECDSA is not deterministic: nothing to template
    assert not [r for r in caplog.records if r.name == "portal.infrastructure.pdf.signing"]


def test_a_signer_can_be_built_inside_a_running_event_loop(keypair: tuple[bytes, bytes], unsigned_pdf: bytes) -> None:
    # pyHanko's sync API calls asyncio.run(); the check at construction must work under an async server too.
    async def build() -> PdfSigner:
        return PdfSigner(*keypair)

    signer = run(build())
    assert signer._template is not None
    assert verify_signed_pdf(signer.sign(unsigned_pdf), keypair[1])


# --- The template against pyHanko's own CMS, byte for byte ------------------------------------------

T = TypeVar("T")

PINNED_SIGNING_TIME = datetime(2026, 11, 23, 14, 5, 7, tzinfo=UTC)


def pyhanko_cms(signer: PdfSigner, document_digest: bytes) -> bytes:
    """The CMS pyHanko's own PDF path builds for this /ByteRange digest, DER-encoded.

    These are the arguments pyHanko 0.38's PdfTBSDocument.perform_signature passes (PAdES, SHA-256, no
    timestamper, the session's time as signing_time, no revocation info or CAdES attributes); with PAdES
    pyHanko leaves signingTime out of the CMS, so the time is pinned only to make that plain.
    """
    attrs = PdfCMSSignedAttributes(signing_time=PINNED_SIGNING_TIME, adobe_revinfo_attr=None, cades_signed_attrs=None)
    coroutine = signer._signer.async_sign(
        document_digest, "sha256", use_pades=True, timestamper=None, signed_attr_settings=attrs
    )
    return run(coroutine).dump()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, from a thread of its own when this one already runs a loop (Playwright's, in a full run)."""
    return signing._outside_running_loop(asyncio.run, coroutine)


def test_template_cms_equals_pyhankos_byte_for_byte_for_200_random_digests(signer: PdfSigner) -> None:
    """RSA PKCS#1 v1.5 is deterministic and PAdES B-B has no signing time in the CMS, so the filled
    template must be exactly the bytes pyHanko builds, not merely a CMS that verifies."""
    template = signer._template
    assert template is not None
    rng = random.Random(20261123)
    for i in range(200):
        digest = rng.randbytes(32)
        assert template.fill(digest, signer._private_key) == pyhanko_cms(signer, digest), f"digest {i}: {digest.hex()}"  # type: ignore[arg-type]


class _PinnedDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _PinnedDatetime:  # type: ignore[override]
        pinned = PINNED_SIGNING_TIME.astimezone(tz)
        return cls.combine(pinned.date(), pinned.timetz())


class _OsWithFixedUrandom:
    """``os`` for pyHanko's incremental writer, whose new trailer /ID is otherwise random."""

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)

    @staticmethod
    def urandom(n: int) -> bytes:
        return bytes(range(n))


@pytest.fixture
def deterministic_pyhanko(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin what differs between two signings of one document: /M, the trailer /ID, and the document's ModDate
    (pyHanko stamps "now" into the info dictionary: two signings a second apart, as under load, differ there)."""
    monkeypatch.setattr(pdf_signer, "datetime", _PinnedDatetime)
    monkeypatch.setattr(pdf_info, "datetime", _PinnedDatetime)
    monkeypatch.setattr(incremental_writer, "os", _OsWithFixedUrandom())


@pytest.mark.usefixtures("deterministic_pyhanko")
def test_template_signed_pdfs_equal_pyhankos_byte_for_byte(
    signer: PdfSigner, unsigned_pdf: bytes, keypair: tuple[bytes, bytes]
) -> None:
    """The whole signed file, for a few random documents and reasons: the template path differs from
    pyHanko's own only in who builds the CMS, so with the time and /ID pinned the files are identical."""
    rng = random.Random(7)
    documents = [(unsigned_pdf, DEFAULT_REASON)]
    for _ in range(3):
        context = _context(reference=f"ROC-2026-{rng.randrange(10_000):04d}")
        words = ("".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(80))
        context = replace(context, fields={**context.fields, "summary_of_disagreement": " ".join(words)})
        documents.append((render_notice("rochdale-appendix-1", context), f"Issued {rng.getrandbits(64):x}"))
    for pdf, reason in documents:
        from_template = signer.sign(pdf, reason=reason)
        assert b"/M (D\\07220261123140507Z)" in from_template  # the pinned time took effect
        assert b"/ModDate (D\\07220261123140507" in from_template  # and in the document's information
        assert from_template == signing._outside_running_loop(signer._sign_with_pyhanko, pdf, reason)
        assert verify_signed_pdf(from_template, keypair[1])


# --- Falling back to pyHanko's own path ------------------------------------------------------------


def _corrupt_the_fill(monkeypatch: pytest.MonkeyPatch) -> None:
    real_fill = signing._CmsTemplate.fill

    def corrupted(self: signing._CmsTemplate, document_digest: bytes, key: rsa.RSAPrivateKey) -> bytes:
        der = bytearray(real_fill(self, document_digest, key))
        der[-1] ^= 0x01
        return bytes(der)

    monkeypatch.setattr(signing._CmsTemplate, "fill", corrupted)


def _add_a_signed_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    # As a future pyHanko might: a per-document attribute (here signingTime) in PAdES signatures.
    real_providers = pdf_cms.CAdESSignedAttributeProviderSpec.signed_attr_providers

    def with_signing_time(self: object, data_digest: bytes, digest_algorithm: str) -> Iterator[object]:
        yield from real_providers(self, data_digest, digest_algorithm)  # type: ignore[arg-type]
        yield attributes.SigningTimeProvider(timestamp=datetime.now(UTC))

    monkeypatch.setattr(pdf_cms.CAdESSignedAttributeProviderSpec, "signed_attr_providers", with_signing_time)


def _break_pyhanko_api(monkeypatch: pytest.MonkeyPatch) -> None:
    def moved(_signed_pdf: bytes) -> tuple[bytes, bytes]:
        raise AttributeError("'EmbeddedPdfSignature' object has no attribute 'pkcs7_content'")

    monkeypatch.setattr(signing, "_embedded_cms", moved)


FAILURES: dict[str, tuple[Callable[[pytest.MonkeyPatch], None], str]] = {
    "filled template differs": (_corrupt_the_fill, "the filled template differs from pyHanko's CMS"),
    "new signed attribute": (_add_a_signed_attribute, "unexpected signed attributes: signing_time"),
    "pyHanko API changed": (_break_pyhanko_api, "(AttributeError)"),
}


@pytest.fixture(params=sorted(FAILURES))
def fallback(
    request: pytest.FixtureRequest,
    keypair: tuple[bytes, bytes],
    unsigned_pdf: bytes,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> tuple[PdfSigner, bytes, list[logging.LogRecord], str]:
    """A signer whose template check failed, the document it signed, its log records and the expected reason."""
    break_it, reason = FAILURES[request.param]
    caplog.set_level(logging.DEBUG, logger="portal.infrastructure.pdf.signing")
    break_it(monkeypatch)
    signer = PdfSigner(*keypair)
    constructed = [r for r in caplog.records if r.name == "portal.infrastructure.pdf.signing"]
    signed = signer.sign(unsigned_pdf)
    monkeypatch.undo()
    # Nothing more is logged per notice.
    assert [
        r for r in caplog.records if r.name == "portal.infrastructure.pdf.signing"
    ] == constructed  # nothing more per notice
    return signer, signed, constructed, reason


def test_a_template_that_fails_its_self_check_falls_back_to_pyhanko(
    fallback: tuple[PdfSigner, bytes, list[logging.LogRecord], str], keypair: tuple[bytes, bytes]
) -> None:
    signer, signed, records, reason = fallback
    assert signer._template is None
    (record,) = records
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert message.startswith("CMS template self-check failed")
    assert reason in message
    assert "pyHanko's own CMS builder" in message
    assert "\n" not in message
    key_lines = [line.decode() for line in keypair[0].splitlines() if not line.startswith(b"-----")]
    assert "PRIVATE" not in message and not any(line in message for line in key_lines)
    assert verify_signed_pdf(signed, keypair[1])


@needs_pdfsig
def test_pdfsig_accepts_what_the_fallback_signs(
    fallback: tuple[PdfSigner, bytes, list[logging.LogRecord], str], tmp_path: Path
) -> None:
    output = run_pdfsig(fallback[1], tmp_path)
    assert "Signature Type: ETSI.CAdES.detached" in output
    assert "Total document signed" in output
    assert "Signature Validation: Signature is Valid." in output
