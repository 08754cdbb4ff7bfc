"""Files that hold secrets or personal data, created readable by the owner only (0600).

os.open with the mode, not chmod afterwards: there is no moment at which another user could
open the file. A file that already exists is narrowed to 0600 as well.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_MODE = 0o600
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def create_private_file(path: Path) -> None:
    """Creates `path` (and its folder) empty if missing; leaves the content of an existing one.

    For SQLite databases: created here before SQLite opens them, SQLite then gives its -wal
    and -shm files the same mode.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | _NOFOLLOW, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
    finally:
        os.close(fd)


def write_private_file(path: Path, text: str) -> None:
    """Replaces the content of `path` with `text`, the file 0600 from its first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC | _NOFOLLOW, PRIVATE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), PRIVATE_MODE)
        f.write(text)
