"""Checkpoints of the audit chain head, kept outside the database.

Each checkpoint is one JSON line `{"id", "hash", "at", "sig"}` appended (O_APPEND, one write,
fsync) to a file the database cannot reach; `sig` is an HMAC with the audit key, which is not
in the database either. `verify` checks every entry against the checkpoints, so deleting the
newest entries (truncation) or rewriting entries and recomputing the chain is detected as far
as the last checkpoint reaches. Several instances share one directory (RIGHTS_AUDIT_ANCHOR_DIR),
each appending to its own file and reading them all (`read_all`). See the "Audit anchor"
section of api/README.md for what this does not protect against.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Checkpoint:
    entry_id: int
    hash: str
    at: str


@dataclass(frozen=True)
class Anchors:
    checkpoints: dict[int, str]  # entry id -> the entry's hash when it was anchored
    first_forged: int | None  # a line whose signature does not hold (its id, or 0)

    @property
    def authentic(self) -> bool:
        return self.first_forged is None

    @property
    def last_id(self) -> int:
        return max(self.checkpoints, default=0)


def _signature(key: str, entry_id: int, entry_hash: str, at: str) -> str:
    msg = f"audit-checkpoint\x1f{entry_id}\x1f{entry_hash}\x1f{at}".encode()
    return hmac.new(key.encode(), msg, hashlib.sha256).hexdigest()


def read(path: Path, key: str) -> Anchors:
    checkpoints: dict[int, str] = {}
    forged: int | None = None
    if not path.exists():
        return Anchors(checkpoints, None)
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            entry_id, entry_hash, at = int(data["id"]), str(data["hash"]), str(data["at"])
            ok = hmac.compare_digest(str(data["sig"]), _signature(key, entry_id, entry_hash, at))
        except (ValueError, KeyError, TypeError):
            entry_id, ok = 0, False
        # Two checkpoints of one entry must agree, or one of them was forged.
        if not ok or checkpoints.get(entry_id, entry_hash) != entry_hash:
            forged = entry_id if forged is None else forged
            continue
        checkpoints[entry_id] = entry_hash
    return Anchors(checkpoints, forged)


def read_all(paths: Sequence[Path], key: str) -> Anchors:
    """The checkpoints of several instances' files, as one set: two that disagree on an
    entry's hash count as forged."""
    checkpoints: dict[int, str] = {}
    forged: int | None = None
    for path in paths:
        part = read(path, key)
        if part.first_forged is not None and forged is None:
            forged = part.first_forged
        for entry_id, entry_hash in part.checkpoints.items():
            if checkpoints.setdefault(entry_id, entry_hash) != entry_hash and forged is None:
                forged = entry_id
    return Anchors(checkpoints, forged)


def append(path: Path, key: str, entry_id: int, entry_hash: str, now: datetime) -> Checkpoint:
    at = now.isoformat()
    line = json.dumps(
        {
            "id": entry_id,
            "hash": entry_hash,
            "at": at,
            "sig": _signature(key, entry_id, entry_hash, at),
        },
        separators=(",", ":"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return Checkpoint(entry_id, entry_hash, at)
