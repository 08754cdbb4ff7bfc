"""Hashing: phone passwords (scrypt), keyed lookups and code hashes (HMAC), token fingerprints."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt parameters: about 16 MiB and a few tens of milliseconds per hash.
_SCRYPT: dict[str, int] = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        _scheme, salt_b64, digest_b64 = stored.split("$")
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
    except ValueError:
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return hmac.compare_digest(digest, expected)


# Hashed when no customer matches, so unknown numbers cost the same work.
DUMMY_PASSWORD_HASH = hash_password("000000", salt=b"\x00" * 16)


def keyed_hash(pepper: str, *parts: str) -> str:
    """HMAC-SHA256: lookup hash of a mobile number, hash of an SMS code bound to its challenge."""
    msg = "\x1f".join(parts).encode()
    return hmac.new(pepper.encode(), msg, hashlib.sha256).hexdigest()


def token_fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]
