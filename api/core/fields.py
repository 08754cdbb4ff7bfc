"""Field-level encryption at rest: AES-256-GCM under keys kept outside the database.

`RIGHTS_FIELD_KEYS` lists the secrets, newest first: the first seals, every one opens, so a new
key is put in front, `python -m api.cli rotate-field-key` re-seals every row under it, and the
old one can then go. A sealed value reads `fe1:<key id>:<base64 of nonce and ciphertext>`; the
key id is derived from the key, so a list in any order opens what any of its keys sealed. The
associated data binds a value to its column (and row where the row's id is known), so a
ciphertext copied into another row does not open there.

The cipher travels with the session factory (`Session.info["field_cipher"]`) like the audit key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from api.core.crypto import keyed_hash
from api.core.settings import Settings

PREFIX = "fe1"
CIPHER_KEY = "field_cipher"
_NONCE_BYTES = 12


class FieldKeyError(ValueError):
    """A sealed value that no configured key opens (unknown key id, or altered)."""


def _derive(secret: str) -> bytes:
    # The setting is any long random string; HKDF turns it into a 256-bit AES key.
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"rights-field-key")
    return hkdf.derive(secret.encode())


def _key_id(key: bytes) -> str:
    return hmac.new(key, b"field-key-id", hashlib.sha256).hexdigest()[:8]


class FieldCipher:
    """Seals and opens fields; `lookup` is the keyed hash (HMAC) that finds a sealed value."""

    def __init__(self, secrets: Sequence[str], lookup_pepper: str) -> None:
        keys = [_derive(s) for s in secrets if s]
        if not keys:
            raise ValueError("at least one field key is needed")
        self._keys = {_key_id(k): AESGCM(k) for k in keys}
        self.current_id = _key_id(keys[0])
        self._pepper = lookup_pepper

    @classmethod
    def from_settings(cls, settings: Settings) -> FieldCipher:
        secrets = [s.strip() for s in settings.field_keys.split(",") if s.strip()]
        return cls(secrets, settings.lookup_pepper)

    def lookup(self, *parts: str) -> str:
        return keyed_hash(self._pepper, *parts)

    def _aad(self, key_id: str, context: str) -> bytes:
        return f"{PREFIX}\x1f{key_id}\x1f{context}".encode()

    def seal(self, plain: str, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        kid = self.current_id
        sealed = self._keys[kid].encrypt(nonce, plain.encode(), self._aad(kid, context))
        return f"{PREFIX}:{kid}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, value: str, context: str) -> str:
        kid = key_id_of(value)
        aes = self._keys.get(kid)
        if aes is None:
            raise FieldKeyError(f"no configured field key has the id {kid}")
        raw = base64.urlsafe_b64decode(value.split(":", 2)[2])
        try:
            plain = aes.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], self._aad(kid, context))
        except InvalidTag as exc:
            raise FieldKeyError("the sealed value does not open here (altered or moved)") from exc
        return plain.decode()

    def reseal(self, value: str, context: str) -> str | None:
        """The value sealed under the current key, or None when it already is."""
        if key_id_of(value) == self.current_id:
            return None
        return self.seal(self.open(value, context), context)


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX + ":")


def key_id_of(value: str) -> str:
    parts = value.split(":", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        raise FieldKeyError("not a sealed value")
    return parts[1]


def cipher_of(session: Session) -> FieldCipher:
    cipher = session.info.get(CIPHER_KEY)
    if not isinstance(cipher, FieldCipher):
        raise RuntimeError("sessions must come from make_session_factory(..., cipher=...)")
    return cipher
