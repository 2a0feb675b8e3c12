"""Audit keys and seals: HMAC-SHA256 with a key the records database does not hold.

An entry's *seal* is ``HMAC-SHA256(key, "vtm-audit-entry/2" | previous seal | canonical content)``;
an anchor's *mac* is the same HMAC under another label, so a seal can never pass for an anchor
or the reverse. Whoever holds the database but not the key can read the chain, can delete from it
(which :mod:`~vtm.audit.verify` detects), but cannot write a single entry that verifies.

Each entry names the key that sealed it by a *key id*: the first 16 hex digits of a SHA-256 of
the key (a one-way fingerprint of 256 random bits reveals nothing usable). Keys rotate: the
current key is ``load_key(settings.keys_dir, "audit", configured=settings.audit_key)``; retired
keys stay in the keys folder as ``audit-retired-<key id>.key`` and keep verifying what they
sealed. :func:`rotate_audit_key` retires the current key file and creates a new one.

Usage::

    keyring = AuditKeyring.from_settings(settings)
    kid, seal = keyring.seal(prev_seal, content)
    assert keyring.verify(kid, prev_seal, content, seal)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vtm.common.canonical import canonical_json
from vtm.config import Settings
from vtm.keys import load_key

__all__ = [
    "KEY_NAME",
    "RETIRED_PREFIX",
    "AuditKeyring",
    "KeyRotationError",
    "key_id",
    "rotate_audit_key",
]

KEY_NAME = "audit"
RETIRED_PREFIX = "audit-retired-"
_ENTRY_LABEL = b"vtm-audit-entry/2\x00"
_ANCHOR_LABEL = b"vtm-audit-anchor/1\x00"


class KeyRotationError(Exception):
    """The audit key cannot be rotated here (configured from the environment, or files unwritable)."""


def key_id(key: bytes) -> str:
    """A key's public fingerprint, stored in every entry it seals."""
    return hashlib.sha256(b"vtm-audit-key-id\x00" + key).hexdigest()[:16]


def _mac(key: bytes, label: bytes, *parts: str) -> str:
    message = label + b"\x00".join(p.encode("utf-8") for p in parts)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AuditKeyring:
    """The current sealing key and every retired key still needed to verify old entries."""

    current_id: str
    _keys: Mapping[str, bytes] = field(repr=False)

    @classmethod
    def of(cls, current: bytes, *retired: bytes) -> AuditKeyring:
        keys = {key_id(k): k for k in (*retired, current)}
        return cls(key_id(current), keys)

    @classmethod
    def ephemeral(cls) -> AuditKeyring:
        """A random key that is never stored: for tests and benchmarks only (nothing can verify later)."""
        return cls.of(secrets.token_bytes(32))

    @classmethod
    def from_settings(cls, settings: Settings, *, create: bool = True) -> AuditKeyring:
        """The configured (or key-file) current key plus every ``audit-retired-*.key`` in the keys folder.

        Raises :class:`vtm.keys.KeyFileError` naming the file when a key is missing or malformed.
        """
        current = load_key(settings.keys_dir, KEY_NAME, configured=settings.audit_key, create=create)
        retired = [
            load_key(settings.keys_dir, path.stem, create=False)
            for path in sorted(settings.keys_dir.glob(f"{RETIRED_PREFIX}*.key"))
        ]
        return cls.of(current, *retired)

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def seal(self, prev_seal: str, content: Mapping[str, Any]) -> str:
        """The seal of an entry under the current key; ``content`` must already carry ``key_id``."""
        return _mac(self._keys[self.current_id], _ENTRY_LABEL, prev_seal, canonical_json(dict(content)))

    def verify(self, kid: str, prev_seal: str, content: Mapping[str, Any], seal: str) -> bool:
        key = self._keys.get(kid)
        if key is None:
            return False
        return hmac.compare_digest(_mac(key, _ENTRY_LABEL, prev_seal, canonical_json(dict(content))), seal)

    def mac_anchor(self, fields: Mapping[str, Any]) -> str:
        return _mac(self._keys[self.current_id], _ANCHOR_LABEL, canonical_json(dict(fields)))

    def verify_anchor(self, kid: str, fields: Mapping[str, Any], mac: str) -> bool:
        key = self._keys.get(kid)
        if key is None:
            return False
        return hmac.compare_digest(_mac(key, _ANCHOR_LABEL, canonical_json(dict(fields))), mac)


def rotate_audit_key(settings: Settings) -> tuple[str, str]:
    """Retire the current key file (kept for verification) and create a new one; returns (old id, new id).

    Only for the key-file set-up: a key given in ``VTM_AUDIT_KEY`` is rotated by whoever provisions
    it (new value in the setting, old one saved as ``audit-retired-<id>.key``).
    """
    if settings.audit_key:
        raise KeyRotationError(
            "the audit key comes from VTM_AUDIT_KEY: provision the new key there and save the old one "
            f"as {settings.keys_dir}/{RETIRED_PREFIX}<key id>.key"
        )
    old = load_key(settings.keys_dir, KEY_NAME, create=False)
    old_id = key_id(old)
    retired = settings.keys_dir / f"{RETIRED_PREFIX}{old_id}.key"
    try:
        fd = os.open(retired, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise KeyRotationError(f"{retired} already exists: this key was retired before") from exc
    with os.fdopen(fd, "w") as handle:
        handle.write(old.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    fresh = settings.keys_dir / f"{KEY_NAME}.key.new"
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(fresh, settings.keys_dir / f"{KEY_NAME}.key")  # atomic: never a moment without a key
    return old_id, key_id(load_key(settings.keys_dir, KEY_NAME, create=False))
