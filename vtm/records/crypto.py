"""Encryption of raw (unmasked) turn text, so a supervisor can unmask one field with a stated reason.

The store keeps two forms of what the customer said: the masked text everyone sees, and the raw
text as a Fernet token (AES-128-CBC + HMAC-SHA256, from the maintained ``cryptography`` package).
A database dump alone therefore reveals no card numbers; the key lives apart from the database:

1. ``VTM_RECORDS_KEY`` in the environment (a Fernet key, 32 url-safe base64 bytes), else
2. ``<data_dir>/records.key``, generated on first use with permissions 0600.

The same key, through HMAC-SHA256, pseudonymises customer references (:meth:`RecordsCipher.pseudonym`):
sessions of one customer can be linked without storing who the customer is.

Usage::

    cipher = RecordsCipher.from_settings(settings)
    token = cipher.encrypt("6222020200001234")
    assert cipher.decrypt(token) == "6222020200001234"
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from vtm.config import Settings

__all__ = ["KEY_ENV", "KEY_FILE", "RecordsCipher", "RecordsKeyError"]

KEY_ENV = "VTM_RECORDS_KEY"
KEY_FILE = "records.key"


class RecordsKeyError(Exception):
    """The records key is missing, malformed, or does not open a stored token."""


class RecordsCipher:
    """Encrypts and decrypts raw turn text with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError as exc:
            raise RecordsKeyError(f"the records key is not a Fernet key: {exc}") from exc
        self._mac_key = hashlib.sha256(b"vtm-records-pseudonym|" + base64.urlsafe_b64decode(key)).digest()

    @classmethod
    def generate_key(cls) -> bytes:
        return Fernet.generate_key()

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str] | None = None) -> RecordsCipher:
        """The key from ``VTM_RECORDS_KEY``, else ``data_dir/records.key`` (created 0600 if absent)."""
        env = os.environ if environ is None else environ
        if env.get(KEY_ENV):
            return cls(env[KEY_ENV].encode("ascii"))
        return cls(cls._key_file(settings.data_dir / KEY_FILE))

    @staticmethod
    def _key_file(path: Path) -> bytes:
        if path.exists():
            return path.read_bytes().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        # O_EXCL: two processes starting together cannot both write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
        return key

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise RecordsKeyError("stored text cannot be decrypted with this records key") from exc

    def pseudonym(self, value: str) -> str:
        """A stable keyed hash (hex) of ``value``: equal inputs link, nobody can reverse it."""
        return hmac.new(self._mac_key, value.encode("utf-8"), hashlib.sha256).hexdigest()
