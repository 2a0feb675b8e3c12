"""Errors of the core-banking boundary. Every error says whether retrying the same call is safe.

::

    CoreBankingError                 retry_safe varies
    ├── NotFound                     no such card / account / customer / transfer
    ├── InvalidRequest               malformed input (bad Luhn, bad period, absurd amount)
    ├── WeakPin                      a new PIN too easy to guess (names its weaknesses, never the PIN)
    ├── AuthenticationFailed         wrong PIN (carries attempts_left)
    ├── CardBlocked                  card locked, lost, frozen or replaced
    ├── InsufficientFunds
    ├── LimitExceeded                channel or per-transfer limit
    ├── PayeeMismatch                name does not match the account holder
    ├── NotRevocable                 transfer already settled, revoked or past its window
    ├── IdempotencyConflict          same key, different parameters
    ├── Unavailable                  core down or overloaded before anything happened (retry safe)
    ├── OutcomeUnknown               the request may have been applied: ask its status by key,
                                     never re-post blindly
    ├── CredentialRejected           the API refused the kiosk's request signature (HTTP 401);
                                     nothing was applied, but repeating it without a fix fails again
    └── Forbidden                    a valid kiosk asked for a route it is not allowed (HTTP 403)
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "AuthenticationFailed",
    "CardBlocked",
    "CoreBankingError",
    "CredentialRejected",
    "Forbidden",
    "IdempotencyConflict",
    "InsufficientFunds",
    "InvalidRequest",
    "LimitExceeded",
    "NotFound",
    "NotRevocable",
    "OutcomeUnknown",
    "PayeeMismatch",
    "Unavailable",
    "WeakPin",
    "error_from_code",
]


class CoreBankingError(Exception):
    """Root of all core-banking errors.

    ``code`` is stable and travels over HTTP; ``retry_safe`` tells the caller whether the same
    call may be repeated without risk of applying it twice.
    """

    code = "core_error"
    retry_safe = False

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "retry_safe": self.retry_safe,
                "context": {k: v for k, v in self.context.items() if isinstance(v, str | int | bool | None)}}


class NotFound(CoreBankingError):
    code = "not_found"
    retry_safe = True


class InvalidRequest(CoreBankingError):
    code = "invalid_request"
    retry_safe = True


class WeakPin(CoreBankingError):
    """The new PIN is too easy to guess (:mod:`vtm.banking.pin_rules`), or equals the current one.

    ``context["weaknesses"]`` holds the weakness names joined by commas (the wire carries only
    scalars); :attr:`weaknesses` reads them back. The PIN itself is never in the error.
    """

    code = "weak_pin"
    retry_safe = True  # nothing was changed; the same call with another PIN may succeed

    @classmethod
    def naming(cls, weaknesses: Iterable[str]) -> WeakPin:
        return cls("the new PIN is too easy to guess", weaknesses=",".join(sorted(weaknesses)))

    @property
    def weaknesses(self) -> frozenset[str]:
        value = self.context.get("weaknesses", "")
        return frozenset(filter(None, value.split(","))) if isinstance(value, str) else frozenset()


class AuthenticationFailed(CoreBankingError):
    code = "authentication_failed"
    retry_safe = True

    @property
    def attempts_left(self) -> int:
        value = self.context.get("attempts_left", 0)
        return value if isinstance(value, int) else 0


class CardBlocked(CoreBankingError):
    code = "card_blocked"
    retry_safe = True


class InsufficientFunds(CoreBankingError):
    code = "insufficient_funds"
    retry_safe = True


class LimitExceeded(CoreBankingError):
    code = "limit_exceeded"
    retry_safe = True


class PayeeMismatch(CoreBankingError):
    code = "payee_mismatch"
    retry_safe = True


class NotRevocable(CoreBankingError):
    code = "not_revocable"
    retry_safe = True


class IdempotencyConflict(CoreBankingError):
    code = "idempotency_conflict"
    retry_safe = False


class Unavailable(CoreBankingError):
    code = "unavailable"
    retry_safe = True


class OutcomeUnknown(CoreBankingError):
    code = "outcome_unknown"
    retry_safe = False


class CredentialRejected(CoreBankingError):
    """The core bank's API did not accept the request's credential (missing, stale, replayed or
    wrongly signed). Distinct from :class:`AuthenticationFailed`, which is a customer's wrong PIN."""

    code = "credential_rejected"
    retry_safe = True  # refused before routing: nothing was applied


class Forbidden(CoreBankingError):
    """The kiosk is known and its signature valid, but it may not call this route."""

    code = "forbidden"
    retry_safe = True  # refused before routing: nothing was applied


_BY_CODE: dict[str, type[CoreBankingError]] = {
    cls.code: cls
    for cls in (CoreBankingError, NotFound, InvalidRequest, WeakPin, AuthenticationFailed, CardBlocked,
                InsufficientFunds, LimitExceeded, PayeeMismatch, NotRevocable, IdempotencyConflict,
                Unavailable, OutcomeUnknown, CredentialRejected, Forbidden)
}


def error_from_code(code: str, message: str, context: dict[str, object] | None = None) -> CoreBankingError:
    """Rebuild a typed error from its wire form (used by the HTTP adapter)."""
    return _BY_CODE.get(code, CoreBankingError)(message, **(context or {}))
