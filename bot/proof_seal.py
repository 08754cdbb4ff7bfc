"""Sealing of the subject proof for the tracker store: encrypted at rest, usable in a turn.

The action server keeps the backend's subject proof in the `subject_proof` slot; with it the
conversation reads and withdraws the customer's tickets for ten minutes, so the tracker store
must not keep it as it is. The store seals the slot's value (Fernet: AES-128-CBC + HMAC-SHA256)
before a row is written or an event streamed, and opens it when the tracker is read back, so
the actions of the next turn still see a working proof. A database dump holds only the sealed
form, useless without the key, which is not in the database.

Key: RASA_TRACKER_SEAL_KEY (any long random string; every Rasa replica needs the same one).
Without it, a key is generated once into var/tracker-seal.key (0600), which serves the single
machine of the embedded run. A value that cannot be opened (another key, tampering) reads back
as no proof: the customer is asked to verify again.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
KEY_ENV = "RASA_TRACKER_SEAL_KEY"
KEY_FILE_ENV = "RASA_TRACKER_SEAL_KEY_FILE"
DEFAULT_KEY_FILE = ROOT / "var" / "tracker-seal.key"
PREFIX = "sealed:v1:"
# Slots whose values are sealed rather than redacted: the next turn needs them.
SEALED_SLOTS = frozenset({"subject_proof"})


def _key_file() -> Path:
    return Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE)


def _generated_key(path: Path) -> str:
    """The key in `path`, created 0600 (exclusively: parallel starts agree on one key)."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    logger.warning("%s not set: generated a tracker seal key in %s", KEY_ENV, path)
    return key


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def _current() -> Fernet:
    return _fernet(os.environ.get(KEY_ENV, "").strip() or _generated_key(_key_file()))


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def opens(value: object) -> bool:
    """Whether `value` is sealed and opens with the current key (not merely prefixed)."""
    if not is_sealed(value):
        return False
    try:
        _current().decrypt(str(value)[len(PREFIX) :].encode())
    except (InvalidToken, ValueError):
        return False
    return True


def seal(value: str) -> str:
    """The sealed form; a value already sealed with the current key is kept as it is."""
    if opens(value):
        return value
    return PREFIX + _current().encrypt(value.encode()).decode()


def unseal(value: str) -> str | None:
    """The original value, or None when it cannot be opened with the current key."""
    if not is_sealed(value):
        return None
    try:
        return _current().decrypt(value[len(PREFIX) :].encode()).decode()
    except (InvalidToken, ValueError):
        logger.warning("a sealed slot could not be opened; it reads back empty")
        return None
