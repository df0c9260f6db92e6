"""Time notice rendering, signing and verification; print medians.

Run: .venv/bin/python bench/bench_pdf.py [runs]

The reference figures to compare with are in docs/performance.md#bench.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pyhanko.keys.pemder import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator.registry import SimpleCertificateStore

from portal.infrastructure.pdf import NoticeContext, StageRecord
from portal.infrastructure.pdf.signing import SIGNATURE_FIELD, PdfSigner, generate_self_signed, verify_signed_pdf
from portal.services.documents import render_notice

FORM = "rochdale-appendix-1"


def sample_context() -> NoticeContext:
    """Return a typical one-to-two page notice."""
    paragraph = "The agencies disagree about whether the threshold for a strategy discussion is met. " * 6
    return NoticeContext(
        reference="ROC-2026-0001",
        form_title="Professional Challenge / Outcome Resolution Notice",
        version=1,
        issued_at=datetime(2026, 11, 23, 14, 5, tzinfo=UTC),
        partnership_name="Rochdale Borough Safeguarding Children Partnership",
        fields={
            "date_of_notification": "23 November 2026",
            "child_name": "Zyxqoria Canarytest",
            "child_dob": "29 February 2016",
            "nhs_number": "999 000 0018",
            "completed_by_name": "Jo Practitioner",
            "completed_by_role": "Named Nurse",
            "completed_by_agency_team": "Pennine Care Foundation Trust",
            "completed_by_contact": "jo.practitioner@nhs.net\n0161 716 0000",
            "sent_to_1": "Head of Service - First Response Team",
            "sent_to_2": "Rochdale Safeguarding Children Unit",
            "summary_of_disagreement": paragraph,
            "informal_challenge_evidence": f"{paragraph}\n\n{paragraph}",
            "desired_outcome": paragraph,
        },
        stages=(
            StageRecord(
                code="stage-3",
                name="Stage 3: formal challenge",
                started="23 November 2026",
                due="7 December 2026",
                status="Open",
                sent_to="Rochdale Children's Social Care: Head of Service - First Response Team",
                acknowledged="24 November 2026",
                responded="",
                response=paragraph,
            ),
        ),
    )


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """Return the median wall time of ``fn`` in milliseconds after one warm-up call."""
    fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def stock_signer(key_pem: bytes, cert_pem: bytes) -> Callable[[bytes], bytes]:
    """Return pyHanko's untuned path (key re-parsed per signature, dry-run size estimate)."""
    simple = signers.SimpleSigner(
        signing_cert=next(load_certs_from_pemder_data(cert_pem)),
        signing_key=load_private_key_from_pemder_data(key_pem, passphrase=None),
        cert_registry=SimpleCertificateStore(),
    )

    def sign(pdf: bytes) -> bytes:
        meta = signers.PdfSignatureMetadata(field_name=SIGNATURE_FIELD, subfilter=SigSeedSubFilter.PADES)
        out = io.BytesIO()
        signers.PdfSigner(meta, signer=simple).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), output=out)
        return out.getvalue()

    return sign


def main(runs: int = 50) -> None:
    """Print render, sign and verify medians."""
    context = sample_context()
    key_pem, cert_pem = generate_self_signed()
    signer = PdfSigner(key_pem, cert_pem)
    pdf = render_notice(FORM, context)
    signed = signer.sign(pdf)
    stock = stock_signer(key_pem, cert_pem)
    print(f"document: {len(pdf)} bytes unsigned, {len(signed)} bytes signed")
    print(f"render (ReportLab):            {median_ms(lambda: render_notice(FORM, context), runs):7.1f} ms")
    print(f"sign (PdfSigner, RSA-2048):    {median_ms(lambda: signer.sign(pdf), runs):7.1f} ms")
    print(f"sign (stock pyHanko, 10 runs): {median_ms(lambda: stock(pdf), 10):7.1f} ms")
    verify_ms = median_ms(lambda: verify_signed_pdf(signed, cert_pem), runs)
    print(f"verify (pyHanko):              {verify_ms:7.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
