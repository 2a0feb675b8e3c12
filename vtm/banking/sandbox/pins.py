"""PIN hashing: argon2id with a per-PIN random salt; the PIN itself is never stored or logged.

Usage::

    hasher = PinHasher.from_policy(policy)
    stored = hasher.hash("123456")
    hasher.verify(stored, "123456")   # True
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import VerificationError

from vtm.banking.sandbox.policy import SandboxPolicy

__all__ = ["PinHasher", "valid_pin_format"]

PIN_LENGTH = 6


def valid_pin_format(pin: str) -> bool:
    """A PIN is exactly six ASCII digits (the PIN pad yields nothing else)."""
    return len(pin) == PIN_LENGTH and pin.isascii() and pin.isdigit()


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
