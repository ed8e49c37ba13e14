"""A certificate file: the rule for a .cer file, and reading the DER certificate it holds
(DER as it is, or Base-64 between PEM markers). The build reads certificates through
``certificate_der`` too, so the rules and the package agree on what a certificate file is.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path

from tui.project.fieldrules import readable_file

MAX_CERTIFICATE_BYTES = 1 << 20  # a .cer is a few KB


def certificate_file(path: str, *, for_build: bool) -> str | None:
    if not path.strip():
        return "must not be empty; choose a .cer file."
    if Path(path).suffix.lower() != ".cer":
        return f"{Path(path).name} is not a .cer file (DER or Base-64 encoded X.509 certificate)."
    if not for_build:
        return None
    if problem := readable_file(path, ".cer file"):
        return problem
    file = Path(os.path.expanduser(path))
    try:
        if file.stat().st_size > MAX_CERTIFICATE_BYTES:
            return f"{file.name} is too large to be a certificate."
        data = file.read_bytes()
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror})."
    if not _looks_like_certificate(data):
        return f"{Path(path).name} does not hold an X.509 certificate in DER or Base-64 form."
    return None


def _pem_body(data: bytes) -> bytes | None:
    match = re.search(
        rb"-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----", data
    )
    if not match:
        return None
    try:
        return base64.b64decode(b"".join(match.group(1).split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def certificate_der(data: bytes) -> bytes | None:
    """The DER bytes of a certificate file's content, or None when it has no certificate."""
    return data if data[:1] == b"\x30" else _pem_body(data)


def _looks_like_certificate(data: bytes) -> bool:
    der = certificate_der(data)
    if der is None:
        return False
    try:
        from cryptography import x509  # optional: a stricter check when it is installed
    except ImportError:
        return _der_sequence_shape(der)
    try:
        x509.load_der_x509_certificate(der)
    except ValueError:
        return False
    return True


def _der_sequence_shape(der: bytes) -> bool:
    """A DER SEQUENCE whose length covers the whole input and which opens with another SEQUENCE."""
    if len(der) < 4 or der[0] != 0x30:
        return False
    first = der[1]
    if first < 0x80:
        length, start = first, 2
    else:
        count = first & 0x7F
        if not 1 <= count <= 4 or len(der) < 2 + count:
            return False
        length, start = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    return start + length == len(der) and der[start] == 0x30
