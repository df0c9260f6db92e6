"""PAdES signing of rendered notices: verification by pyHanko and poppler's pdfsig, and tamper detection."""

from __future__ import annotations

import builtins
import io
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pypdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import pdf_signer

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


def test_a_template_that_fails_its_self_check_falls_back_to_pyhanko(
    keypair: tuple[bytes, bytes], unsigned_pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    import portal.infrastructure.pdf.signing as signing

    monkeypatch.setattr(signing, "_verify_signed_pdf", lambda _pdf, _cert: False)
    signer = PdfSigner(*keypair)
    signed = signer.sign(unsigned_pdf)
    assert signer._template is None
    monkeypatch.undo()
    assert verify_signed_pdf(signed, keypair[1])
