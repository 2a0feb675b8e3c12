"""PIN hashing: argon2id with a per-PIN random salt; the PIN itself is never stored or logged.

Usage::

    hasher = PinHasher.from_policy(policy)
    stored = hasher.hash("123456")
    hasher.verify(stored, "123456")   # True
    hasher.request_digest(key, "123456", "135790")   # same key and PINs -> same digest
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import VerificationError
from argon2.low_level import hash_secret_raw

from vtm.banking.pin_rules import pin_format_ok
from vtm.banking.sandbox.policy import SandboxPolicy

__all__ = ["PinHasher", "valid_pin_format"]

valid_pin_format = pin_format_ok
"""The one PIN format rule (:func:`vtm.banking.pin_rules.pin_format_ok`), under its sandbox name."""


@dataclass(frozen=True)
class PinHasher:
    _hasher: PasswordHasher

    @classmethod
    def from_policy(cls, policy: SandboxPolicy) -> PinHasher:
        return cls(
            PasswordHasher(
                time_cost=policy.pin_hash_time_cost,
                memory_cost=policy.pin_hash_memory_kib,
                parallelism=policy.pin_hash_parallelism,
                type=Type.ID,
            )
        )

    def hash(self, pin: str) -> str:
        if not valid_pin_format(pin):
            raise ValueError("a PIN is six digits")
        return self._hasher.hash(pin)

    def verify(self, stored_hash: str, pin: str) -> bool:
        """True if ``pin`` matches; the parameters are read from the stored hash itself."""
        try:
            return self._hasher.verify(stored_hash, pin)
        except VerificationError:  # includes VerifyMismatchError
            return False
        # InvalidHashError is not caught: a corrupt stored hash is a data fault, not a wrong PIN.

    def request_digest(self, idempotency_key: str, *pins: str) -> str:
        """A deterministic digest of the PINs of a keyed request, for its idempotency hash.

        The core must tell a replay (same key, same PINs) from a conflict (same key, other PINs)
        and keep that record. A plain SHA-256 of a six-digit PIN falls to a million guesses in
        under a second, so this is argon2id at the policy's cost, salted by the key: reversing it
        is no easier than reversing the card's stored PIN hash.
        """
        salt = hashlib.sha256(idempotency_key.encode("utf-8")).digest()[:16]
        raw = hash_secret_raw(
            "\n".join(pins).encode("ascii"),
            salt,
            time_cost=self._hasher.time_cost,
            memory_cost=self._hasher.memory_cost,
            parallelism=self._hasher.parallelism,
            hash_len=32,
            type=Type.ID,
        )
        return raw.hex()
