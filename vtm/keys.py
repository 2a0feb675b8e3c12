"""Secret keys the kiosk needs (core-bank request signing, audit sealing), never in the repository.

A key comes from a setting (``VTM_<NAME>_KEY``, hex) when one is configured, otherwise from a key file
under ``<data_dir>/keys/<name>.key``; in development that file is created on first use with 32 random
bytes and mode 0600. Production installs provision the files (or the settings) themselves and can
forbid creation with ``create=False``.

Usage::

    key = load_key(settings.keys_dir, "bank_api")
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["KeyFileError", "load_key"]


class KeyFileError(Exception):
    """A key is missing, unreadable or malformed; the message names the file."""


def load_key(keys_dir: Path, name: str, *, configured: str | None = None, create: bool = True) -> bytes:
    """The key ``name``: ``configured`` (hex) if given, else the key file, created when allowed."""
    if configured:
        try:
            key = bytes.fromhex(configured.strip())
        except ValueError as exc:
            raise KeyFileError(f"the configured {name} key is not hex") from exc
        if len(key) < 16:
            raise KeyFileError(f"the configured {name} key is shorter than 16 bytes")
        return key
    path = keys_dir / f"{name}.key"
    if not path.exists():
        if not create:
            raise KeyFileError(f"{path}: key file missing (provision it, or set the key in the settings)")
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    try:
        key = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{path}: not a readable hex key ({exc})") from exc
    if len(key) < 16:
        raise KeyFileError(f"{path}: key shorter than 16 bytes")
    return key
