"""Signs a PDF with pyHanko's CSCSigner through the crpki sandbox's CSC v1
API, then validates it with pyHanko's own validator. Driven by
tests/interop_pyhanko.rs, which installs the pinned pyHanko into a venv
first; not a user tool.

The service token comes from `auth/login` with HTTP Basic; the credential
is authorized with `credentials/authorize` and its PIN. pyHanko reads the
credential as any CSC v1 client would (`credentials/info` with
`certificates: chain`, `certInfo: false`, `multisign`, `SCAL`).

The MOJ critical extensions: pyhanko-certvalidator refuses certificates
with critical extensions it does not know, and has no setting for it. Its
module-level `SUPPORTED_EXTENSIONS` is read at validation time, so the
three MOJ OIDs are added to it here, and only those: any other unknown
critical extension is still refused.

Prints one JSON object on stdout: what was signed and what the validator
said. Exits non-zero on any failure.
"""

import argparse
import asyncio
import base64
import io
import json
import ssl
import sys

import aiohttp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import csc_signer
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
import pyhanko_certvalidator.validate as certvalidate

# 1.2.392.100300.1.1.1-3: the MOJ extensions of the commercial-registration
# certificate (critical; see shared reference verifiers-and-moj-extensions).
MOJ_EXTENSIONS = frozenset(
    {"1.2.392.100300.1.1.1", "1.2.392.100300.1.1.2", "1.2.392.100300.1.1.3"}
)


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    content = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, xref)
    )
    return out.getvalue()


class PinAuthorizationManager(csc_signer.CSCAuthorizationManager):
    """`credentials/authorize` with the PIN, bound to the hashes when the
    credential asks for hash pinning (SCAL 2)."""

    def __init__(self, session, session_info, credential_info, pin):
        super().__init__(session_info, credential_info)
        self.session = session
        self.pin = pin

    async def authorize_signature(self, hash_b64s):
        pinned = self.credential_info.hash_pinning_required
        req = self.format_csc_auth_request(
            num_signatures=len(hash_b64s),
            pin=self.pin,
            hash_b64s=hash_b64s if pinned else None,
        )
        url = self.csc_session_info.endpoint_url("credentials/authorize")
        async with self.session.post(
            url, headers=self.auth_headers, json=req, raise_for_status=True
        ) as resp:
            return self.parse_csc_auth_response(await resp.json())


async def login(session, base, user, password):
    basic = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    headers = {"Authorization": f"Basic {basic}"}
    async with session.post(
        f"{base}/csc/v1/auth/login", json={}, headers=headers, raise_for_status=True
    ) as resp:
        return (await resp.json())["access_token"]


async def run(args):
    tls = ssl.create_default_context(cafile=args.tls_ca)
    connector = aiohttp.TCPConnector(ssl=tls)
    async with aiohttp.ClientSession(connector=connector) as session:
        token = await login(session, args.base, args.user, args.password)
        info = csc_signer.CSCServiceSessionInfo(
            service_url=args.base,
            credential_id=args.credential,
            oauth_token=token,
            api_ver="v1",
        )
        cred = await csc_signer.fetch_certs_in_csc_credential(session, info)
        auth = PinAuthorizationManager(session, info, cred, args.pin)
        signer = csc_signer.CSCSigner(session, auth, prefer_pss=args.pss)

        writer = IncrementalPdfFileWriter(io.BytesIO(minimal_pdf("crpki pyHanko interop")))
        meta = signers.PdfSignatureMetadata(field_name="Signature1")
        pdf_signer = signers.PdfSigner(
            meta,
            signer=signer,
            new_field_spec=fields.SigFieldSpec(sig_field_name="Signature1"),
        )
        out = await pdf_signer.async_sign_pdf(writer)
        signed = out.getvalue()
    with open(args.out, "wb") as f:
        f.write(signed)

    certvalidate.SUPPORTED_EXTENSIONS = certvalidate.SUPPORTED_EXTENSIONS | MOJ_EXTENSIONS
    with open(args.root, "rb") as f:
        root_bytes = f.read()
    if root_bytes.startswith(b"-----"):
        root_bytes = base64.b64decode(
            b"".join(line for line in root_bytes.splitlines() if not line.startswith(b"-----"))
        )
    root = asn1_x509.Certificate.load(root_bytes)
    reader = PdfFileReader(io.BytesIO(signed))
    embedded = reader.embedded_signatures[0]
    vc = ValidationContext(trust_roots=[root], allow_fetching=False)
    status = await async_validate_pdf_signature(embedded, vc)
    alg = embedded.signer_info["signature_algorithm"]
    params = alg["parameters"].native if alg["algorithm"].native == "rsassa_pss" else None
    result = {
        "intact": status.intact,
        "valid": status.valid,
        "trusted": status.trusted,
        "bottom_line": status.bottom_line,
        "coverage": str(status.coverage),
        "signature_algorithm": alg["algorithm"].native,
        "pss_salt_length": params["salt_length"] if params else None,
        "signer_subject": embedded.signer_cert.subject.human_friendly,
        "summary": status.summary(),
    }
    print(json.dumps(result))
    return 0 if status.bottom_line else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True, help="https://127.0.0.1:PORT (before /csc/v1/)")
    p.add_argument("--tls-ca", required=True)
    p.add_argument("--root", required=True, help="the registrar root (PEM or DER)")
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--credential", required=True)
    p.add_argument("--pin", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--pss", action="store_true")
    args = p.parse_args()
    try:
        sys.exit(asyncio.run(run(args)))
    except (SigningError, aiohttp.ClientError) as e:
        cause = e.__cause__
        print(f"pyHanko CSC signing failed: {e} ({cause!r})", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
