"""Signing a bundle's manifest: Ed25519 over its canonical JSON. Needs no database.

The signing key is ``GATEHOUSE_EVIDENCE_KEY`` (a 32-byte seed from the environment); the
trusted public keys are its own and ``GATEHOUSE_EVIDENCE_OLD_PUBLIC_KEYS``, or exactly the
ones a verifier names. A key is known by its id: the first 16 hex digits of the SHA-256 of
the raw public key, with a label, so an id tells nothing of the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALGORITHM = "Ed25519"
SIGNATURE = "signature"


def canonical(value) -> bytes:
    """The one byte form of a JSON value that is signed and hashed: sorted keys, no
    spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def private_key(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def raw_public(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public: bytes) -> str:
    return hashlib.sha256(b"gatehouse-evidence-key\0" + public).hexdigest()[:16]


def public_text(public: bytes) -> str:
    """A public key as people copy it: standard base64 of its 32 raw bytes."""
    return base64.b64encode(public).decode()


def parse_public(text: str) -> bytes:
    """The 32 raw bytes of a public key given as base64 (standard or URL-safe); raises
    ValueError saying what is wrong."""
    value = text.strip()
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"Not a base64 public key: {value[:60]!r}.") from None
    if len(raw) != 32:
        raise ValueError(f"An Ed25519 public key is 32 bytes, not {len(raw)}.")
    return raw


def configured_keys() -> tuple[Ed25519PrivateKey, dict[str, bytes]]:
    """The signing key, and every trusted public key by id (the signing key's first)."""
    from django.conf import settings

    signing = private_key(settings.GATEHOUSE_EVIDENCE_KEY)
    trusted = {key_id(raw_public(signing)): raw_public(signing)}
    for text in settings.GATEHOUSE_EVIDENCE_OLD_PUBLIC_KEYS:
        raw = parse_public(text)
        trusted.setdefault(key_id(raw), raw)
    return signing, trusted


def sign(manifest: dict, key: Ed25519PrivateKey) -> dict:
    """``manifest`` with its signature: over the canonical JSON of everything else."""
    body = {k: v for k, v in manifest.items() if k != SIGNATURE}
    public = raw_public(key)
    return {
        **body,
        SIGNATURE: {
            "algorithm": ALGORITHM,
            "key_id": key_id(public),
            "public_key": public_text(public),
            "value": base64.b64encode(key.sign(canonical(body))).decode(),
        },
    }


def signature_problem(manifest: dict, trusted: dict[str, bytes]) -> str | None:
    """Why the manifest's signature does not hold under one of the ``trusted`` public
    keys (by id), or None. The public key in the manifest itself is never trusted: it
    only says which key signed."""
    signature = manifest.get(SIGNATURE)
    if not isinstance(signature, dict):
        return "manifest.json has no signature"
    if signature.get("algorithm") != ALGORITHM:
        return f"manifest.json is signed with {signature.get('algorithm')!r}, not {ALGORITHM}"
    key = trusted.get(str(signature.get("key_id", "")))
    if key is None:
        known = ", ".join(sorted(trusted)) or "none"
        return (
            f"manifest.json is signed with key {signature.get('key_id')!r}, which is not "
            f"trusted (trusted: {known})"
        )
    try:
        value = base64.b64decode(str(signature.get("value", "")), validate=True)
        body = {k: v for k, v in manifest.items() if k != SIGNATURE}
        Ed25519PublicKey.from_public_bytes(key).verify(value, canonical(body))
    except (InvalidSignature, binascii.Error, ValueError):
        return f"the signature of manifest.json does not match its content (key {key_id(key)})"
    return None
