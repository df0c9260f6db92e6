"""PAdES signing and verification of rendered notices, kept apart from layout.

Build one ``PdfSigner`` per app: it parses the key once and reuses it, and it
reserves a fixed signature size, which together take RSA-2048 signing from
about 72 ms to about 9 ms a document (see docs/performance.md#signing).
For RSA keys it also fills a checked CMS template instead of having pyHanko build
the CMS for every document (about 13 ms down to about 2.5 ms); if the template's check
fails at construction it logs one warning and uses pyHanko's own path throughout.
Everything happens in memory; nothing here touches the network.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID
from pyhanko.keys.internal import translate_pyca_cryptography_key_to_asn1
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params
from reportlab.pdfgen import canvas

__all__ = [
    "DEFAULT_REASON",
    "SIGNATURE_FIELD",
    "PdfSigner",
    "generate_self_signed",
    "verify_signed_pdf",
]

SIGNATURE_FIELD: Final = "PortalSignature"
DEFAULT_REASON: Final = "Issued by the Escalation Portal"
# A CMS blob with one RSA-2048 or P-256 certificate is about 2 KB; 8 KB leaves room
# for a short CA chain later. Fixing it skips pyHanko's dry-run size estimate.
DEFAULT_BYTES_RESERVED: Final = 8192
CERT_LIFETIME: Final = timedelta(days=5 * 365 + 1)
_SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
_T = TypeVar("_T")

# Named, not __name__, so that operators' log filters keep working if the module moves.
logger = logging.getLogger(__name__)


class _KeptKeySigner(signers.SimpleSigner):
    """SimpleSigner that signs with an already-parsed key.

    Stock ``SimpleSigner.sign_raw`` re-loads the key from DER on every call; with
    cryptography 50 an RSA load also validates the key (~28 ms each time).
    """

    def __init__(self, *, private_key: _SigningKey, signing_cert: asn1_x509.Certificate) -> None:
        super().__init__(
            signing_cert=signing_cert,
            signing_key=translate_pyca_cryptography_key_to_asn1(private_key),
            cert_registry=SimpleCertificateStore(),
        )
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        """Sign ``data`` with the kept key using the mechanism pyHanko selected."""
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        algorithm = mechanism.signature_algo
        key = self._private_key
        if algorithm == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if algorithm == "rsassa_pss" and isinstance(key, rsa.RSAPrivateKey):
            padding, hash_algorithm = process_pss_params(mechanism["parameters"])
            return key.sign(data, padding, hash_algorithm)
        if algorithm == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        raise SigningError(f"signature mechanism {algorithm!r} does not match the portal key")


def _load_key(key_pem: bytes) -> _SigningKey:
    key = serialization.load_pem_private_key(key_pem, password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise ValueError("RSA signing keys must be at least 2048 bits")
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("EC signing keys must use P-256")
        return key
    raise ValueError("signing key must be RSA or EC P-256")


def _public_der(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


class PdfSigner:
    """Sign notice PDFs with the portal's key; build once per app and share."""

    def __init__(self, key_pem: bytes, cert_pem: bytes, *, bytes_reserved: int = DEFAULT_BYTES_RESERVED) -> None:
        private_key = _load_key(key_pem)
        certificate = x509.load_pem_x509_certificate(cert_pem)
        # Fail at start-up, not on the first notice, if the key and certificate were mixed up.
        if _public_der(certificate.public_key()) != _public_der(private_key.public_key()):
            raise ValueError("signing key does not match the certificate")
        self._signer = _KeptKeySigner(
            private_key=private_key,
            signing_cert=asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER)),
        )
        self._bytes_reserved = bytes_reserved
        self._private_key = private_key
        self._cert_pem = cert_pem
        # RSA PKCS#1 v1.5 signatures are deterministic and of fixed length, so a template can be checked
        # byte for byte; ECDSA signatures are neither, and P-256 keys always use pyHanko's path.
        self._template: _CmsTemplate | None = None
        if isinstance(private_key, rsa.RSAPrivateKey):
            # Checked now (~45 ms) rather than on the first notice, so a failure is seen at start-up.
            try:
                self._template = _outside_running_loop(_CmsTemplate.build, self)
            except Exception as error:  # noqa: BLE001 - any failure means "use pyHanko's own path"
                # The reason is our own wording or an exception's type, never its message: key
                # material must not reach the log.
                reason = str(error) if isinstance(error, _TemplateRejected) else type(error).__name__
                logger.warning(
                    "CMS template self-check failed (%s); every notice will be signed by pyHanko's own CMS builder",
                    reason,
                )

    def verify(self, pdf_bytes: bytes) -> bool:
        """Whether ``pdf_bytes`` carries this portal's intact signature over the whole file."""
        return verify_signed_pdf(pdf_bytes, self._cert_pem)

    def sign(self, pdf_bytes: bytes, *, reason: str = DEFAULT_REASON) -> bytes:
        """Return ``pdf_bytes`` with a PAdES B-B signature appended as an incremental update."""
        return _outside_running_loop(self._sign, pdf_bytes, reason)

    def _metadata(self, reason: str) -> signers.PdfSignatureMetadata:
        return signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD, subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256", reason=reason
        )

    def _sign(self, pdf_bytes: bytes, reason: str) -> bytes:
        if self._template is not None:
            return asyncio.run(self._sign_from_template(pdf_bytes, reason, self._template))
        return self._sign_with_pyhanko(pdf_bytes, reason)

    def _sign_with_pyhanko(self, pdf_bytes: bytes, reason: str) -> bytes:
        """pyHanko's own path: builds the CMS with asn1crypto on every call (~2/3 of the signing time)."""
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes))
        output = io.BytesIO()
        signers.PdfSigner(self._metadata(reason), signer=self._signer).sign_pdf(
            writer, bytes_reserved=self._bytes_reserved, output=output
        )
        return output.getvalue()

    async def _sign_from_template(self, pdf_bytes: bytes, reason: str, template: _CmsTemplate) -> bytes:
        """pyHanko prepares the PDF and its /ByteRange digest; the CMS comes from the template."""
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes))
        pdf_signer = signers.PdfSigner(self._metadata(reason), signer=self._signer)
        buffer = io.BytesIO()
        prepared, _tbs, output = await pdf_signer.async_digest_doc_for_signing(
            writer, bytes_reserved=self._bytes_reserved, output=buffer
        )
        cms = template.fill(prepared.document_digest, self._private_key)
        await PdfTBSDocument.async_finish_signing(output, prepared, cms)
        # pyHanko writes into a readable, seekable output it is given and hands that same stream back
        # (typed only as IO), so the signed document is in the buffer.
        return buffer.getvalue()


class _TemplateRejected(Exception):
    """The CMS template cannot be used; the message says why and holds no key material."""


# Signed attributes whose values depend only on the certificate, the key and the algorithms, plus the
# messageDigest the template rewrites. Anything else (signingTime, a timestamp, a future attribute) may
# vary per document, so its presence rejects the template rather than freezing a stale value.
_TEMPLATE_SIGNED_ATTRIBUTES: Final = frozenset(
    {"content_type", "message_digest", "signing_certificate_v2", "cms_algorithm_protection"}
)
# Two reasons give the same sample document two different /ByteRange digests.
_CHECK_REASONS: Final = ("Escalation Portal signing self-test: template", "Escalation Portal signing self-test: check")


@dataclass(frozen=True)
class _CmsTemplate:
    """The PAdES CMS container for this key and certificate, with its two per-document fields located.

    For PAdES B-B every signed attribute except messageDigest depends only on the certificate (PAdES
    forbids signingTime in the CMS: the time is /M in the PDF), and an RSA PKCS#1 v1.5 signature is
    deterministic and of fixed length. So the container pyHanko builds for one document is reused: each
    document gets its own digest written into the signed attributes, and a fresh signature over them, at
    fixed offsets. The template proves itself when built: filled with a second document's digest it must
    reproduce, byte for byte, the CMS pyHanko itself built for that document, or ``build`` raises and
    the portal signs every document with pyHanko's own path.
    """

    der: bytes
    attrs_start: int
    attrs_end: int
    digest_offset: int
    digest_length: int
    signature_offset: int
    signature_length: int

    @classmethod
    def build(cls, owner: PdfSigner) -> _CmsTemplate:
        """Build the template from pyHanko's CMS for a sample document and check it against a second one."""
        sample = _sample_pdf()
        source_der, _ = _embedded_cms(owner._sign_with_pyhanko(sample, _CHECK_REASONS[0]))
        check_der, check_digest = _embedded_cms(owner._sign_with_pyhanko(sample, _CHECK_REASONS[1]))
        template = cls.parse(source_der)
        if template.fill(check_digest, owner._private_key) != check_der:
            raise _TemplateRejected("the filled template differs from pyHanko's CMS for the same document")
        return template

    @classmethod
    def parse(cls, der: bytes) -> _CmsTemplate:
        """Locate the digest and signature in a CMS built by pyHanko, or raise ``_TemplateRejected``."""
        content_info = cms.ContentInfo.load(der)
        signed_data = content_info["content"]
        if content_info["content_type"].native != "signed_data" or len(signed_data["signer_infos"]) != 1:
            raise _TemplateRejected("the CMS is not SignedData with one signer")
        signer_info = signed_data["signer_infos"][0]
        if signer_info["unsigned_attrs"].native is not None:
            raise _TemplateRejected("the CMS has unsigned attributes")
        attrs = signer_info["signed_attrs"]
        if unexpected := {a["type"].native for a in attrs} - _TEMPLATE_SIGNED_ATTRIBUTES:
            raise _TemplateRejected(f"unexpected signed attributes: {', '.join(sorted(map(str, unexpected)))}")
        digests = [a["values"][0].native for a in attrs if a["type"].native == "message_digest"]
        if len(digests) != 1:
            raise _TemplateRejected("the CMS has no single message digest")
        digest = digests[0]
        signature = signer_info["signature"].native
        attrs_der = attrs.dump()
        if der.count(attrs_der) != 1 or attrs_der.count(digest) != 1 or der.count(signature) != 1:
            raise _TemplateRejected("the digest or signature cannot be located unambiguously")
        attrs_start = der.index(attrs_der)
        return cls(
            der=der,
            attrs_start=attrs_start,
            attrs_end=attrs_start + len(attrs_der),
            digest_offset=attrs_start + attrs_der.index(digest),
            digest_length=len(digest),
            signature_offset=der.index(signature),
            signature_length=len(signature),
        )

    def fill(self, document_digest: bytes, key: _SigningKey) -> bytes:
        """Return the CMS for a document with this /ByteRange digest."""
        # Only RSA keys get a template (PdfSigner.__init__); an EC signature would not have a fixed length.
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SigningError("the CMS template is for RSA keys only")
        if len(document_digest) != self.digest_length:
            raise SigningError("unexpected digest length")
        der = bytearray(self.der)
        der[self.digest_offset : self.digest_offset + self.digest_length] = document_digest
        # The signature covers the signed attributes DER-encoded as a SET (tag 0x31), not as the
        # [0] IMPLICIT field they are stored in (RFC 5652 §5.4).
        to_sign = b"\x31" + bytes(der[self.attrs_start + 1 : self.attrs_end])
        signature = key.sign(to_sign, PKCS1v15(), hashes.SHA256())
        if len(signature) != self.signature_length:
            raise SigningError("unexpected signature length")
        der[self.signature_offset : self.signature_offset + self.signature_length] = signature
        return bytes(der)


def _embedded_cms(signed_pdf: bytes) -> tuple[bytes, bytes]:
    """Return the DER CMS pyHanko embedded in a signed PDF and its messageDigest."""
    embedded = PdfFileReader(io.BytesIO(signed_pdf)).embedded_signatures[0]
    content_info = cms.ContentInfo.load(embedded.pkcs7_content)
    attrs = content_info["content"]["signer_infos"][0]["signed_attrs"]
    digest = next(a["values"][0].native for a in attrs if a["type"].native == "message_digest")
    return content_info.dump(), digest


def _sample_pdf() -> bytes:
    """A one-page PDF to build and check the CMS template with (no case data)."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, invariant=1)
    page.drawString(72, 720, "Escalation Portal signing self-test")
    page.save()
    return buffer.getvalue()


def generate_self_signed(common_name: str = "Escalation Portal (development)") -> tuple[bytes, bytes]:
    """Return ``(key_pem, cert_pem)``: a new RSA-2048 key and a 5-year self-signed certificate.

    The certificate allows digitalSignature and nonRepudiation only, which is
    what PDF validators (pyHanko by default) expect of a document signer.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Escalation Portal"),
        ]
    )
    # Backdate slightly so a validator on a machine with a lagging clock still accepts it.
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CERT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def _outside_running_loop(function: Callable[..., _T], *args: Any) -> _T:
    """Call a function that uses asyncio.run() (pyHanko's sync API does), even from a thread whose
    event loop is already running (an async server, or Playwright's sync API in tests)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


def verify_signed_pdf(pdf_bytes: bytes, cert_pem: bytes) -> bool:
    """Return True only if the PDF's one signature is intact, valid, trusted and covers the whole file.

    ``cert_pem`` is the only trust root, so a signature by any other key fails.
    Never fetches revocation data or anything else over the network.
    """
    return _outside_running_loop(_verify_signed_pdf, pdf_bytes, cert_pem)


def _verify_signed_pdf(pdf_bytes: bytes, cert_pem: bytes) -> bool:
    try:
        root = asn1_x509.Certificate.load(
            x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
        )
        signatures = PdfFileReader(io.BytesIO(pdf_bytes)).embedded_signatures
        if len(signatures) != 1:
            return False
        context = ValidationContext(trust_roots=[root], allow_fetching=False)
        status = validate_pdf_signature(signatures[0], signer_validation_context=context)
    except Exception:  # noqa: BLE001 - any parse or validation failure means "not verified"
        return False
    return bool(
        status.intact and status.valid and status.trusted and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    )
