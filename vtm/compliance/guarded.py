"""``GuardedCoreBanking``: the only door from the kiosk to a mutating core-bank call.

It wraps any :class:`~vtm.banking.port.CoreBanking` for one session. Read-only calls pass
through. A money movement, card-status change or PIN change (``transfer``, ``revoke_transfer``,
``report_loss``, ``freeze_card``, ``order_replacement``, ``change_pin``) needs a ``permit=``
issued by the gate with an ``allow`` verdict *in this session* for *exactly these parameters*,
and not used before; otherwise :class:`~vtm.compliance.errors.ComplianceViolation` is raised and
the core is never called. Every attempt (executed or refused) is appended to the audit chain,
and the large-value reports of the permitting verdict are recorded once the core has executed
the operation.

The wrapper still satisfies the ``CoreBanking`` protocol (``permit`` is an optional keyword), so
code that forgets the permit fails loudly instead of bypassing the gate.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from vtm.audit import AuditLog
from vtm.banking.errors import CoreBankingError, OutcomeUnknown, Unavailable
from vtm.banking.models import (
    Account,
    AuthResult,
    Balance,
    CardInfo,
    Channel,
    Customer,
    DailyUsage,
    IdentityResult,
    LossKind,
    LossReport,
    PayeeCheck,
    PinChange,
    Posting,
    Replacement,
    RevokeResult,
    SavedPayee,
    StatementDocument,
    TransferRequest,
    TransferResult,
)
from vtm.banking.port import CoreBanking
from vtm.compliance.errors import ComplianceViolation
from vtm.compliance.gate import Clock, Gate
from vtm.compliance.operations import Operation, call_params, params_hash
from vtm.compliance.verdict import Permit

__all__ = ["GuardedCoreBanking"]

_T = TypeVar("_T")


class GuardedCoreBanking:
    """A :class:`CoreBanking` for one session that executes mutations only under a matching gate permit."""

    def __init__(
        self,
        core: CoreBanking,
        gate: Gate,
        session_id: str,
        *,
        audit: AuditLog | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._core = core
        self._gate = gate
        self._session_id = session_id
        self._audit = audit if audit is not None else gate.audit
        self._clock = clock or gate.clock

    @property
    def session_id(self) -> str:
        return self._session_id

    # The guarded door ------------------------------------------------------------------------
    def _execute(
        self, operation: Operation, permit: Permit | None, key: str, call: Callable[[], _T], **arguments: Any
    ) -> _T:
        params = call_params(operation, **arguments)
        digest = params_hash(params)
        try:
            verdict = self._gate.permits.begin(
                permit,
                session_id=self._session_id,
                operation=operation.value,
                params_hash=digest,
                idempotency_key=key,
                now=self._clock(),
            )
        except ComplianceViolation as exc:
            self._log("violation", operation, params, permit, error=str(exc))
            raise
        assert permit is not None  # begin() refuses a missing permit
        retry_ok = False
        try:
            # Written before the core is called: if the audit cannot be written, nothing executes.
            self._log("operation", operation, params, permit)
            result: _T = call()
        except (OutcomeUnknown, Unavailable) as exc:
            retry_ok = True  # the same key may be asked again; the core's idempotency prevents a repeat
            self._log("operation_result", operation, params, permit, error=exc.code)
            raise
        except CoreBankingError as exc:
            self._log("operation_result", operation, params, permit, error=exc.code)
            raise
        except Exception as exc:
            retry_ok = True  # an untyped failure (adapter bug, network): treat the outcome as unknown
            self._log("operation_result", operation, params, permit, error=f"unexpected:{type(exc).__name__}")
            raise
        finally:
            self._gate.permits.finish(permit.permit_id, retry_ok=retry_ok)
        self._log("operation_result", operation, params, permit, result=result)
        if self._audit is not None:
            amount = getattr(arguments.get("request"), "amount", None)
            for hit in verdict.reports:
                self._audit.record_report(
                    rule_id=hit.rule_id,
                    reason_code=hit.reason_code,
                    session_id=self._session_id,
                    customer_id=verdict.customer_id,
                    amount=amount,
                    details={"permit_id": permit.permit_id, "params_hash": digest, **hit.details},
                )
        return result

    def _log(
        self,
        kind: str,
        operation: Operation,
        params: dict[str, Any],
        permit: Permit | None,
        *,
        error: str | None = None,
        result: object = None,
    ) -> None:
        if self._audit is None:
            return
        payload: dict[str, Any] = {
            "operation": operation.value,
            "params": params,
            "params_hash": params_hash(params),
            "permit_id": permit.permit_id if permit else None,
            "error": error,
        }
        if result is not None:
            payload["result"] = result
        self._audit.append(kind, payload, session_id=self._session_id)

    # Mutations -------------------------------------------------------------------------------
    def transfer(self, request: TransferRequest, *, permit: Permit | None = None) -> TransferResult:
        return self._execute(
            Operation.TRANSFER,
            permit,
            request.idempotency_key,
            lambda: self._core.transfer(request),
            request=request,
        )

    def revoke_transfer(
        self, reference: str, idempotency_key: str, *, permit: Permit | None = None
    ) -> RevokeResult:
        return self._execute(
            Operation.REVOKE_TRANSFER,
            permit,
            idempotency_key,
            lambda: self._core.revoke_transfer(reference, idempotency_key),
            reference=reference,
        )

    def report_loss(
        self, card_number: str, kind: LossKind, idempotency_key: str, *, permit: Permit | None = None
    ) -> LossReport:
        return self._execute(
            Operation.REPORT_LOSS,
            permit,
            idempotency_key,
            lambda: self._core.report_loss(card_number, kind, idempotency_key),
            card_number=card_number,
            kind=kind,
        )

    def freeze_card(
        self, card_number: str, idempotency_key: str, *, permit: Permit | None = None
    ) -> CardInfo:
        return self._execute(
            Operation.FREEZE_CARD,
            permit,
            idempotency_key,
            lambda: self._core.freeze_card(card_number, idempotency_key),
            card_number=card_number,
        )

    def order_replacement(
        self, card_number: str, idempotency_key: str, *, permit: Permit | None = None
    ) -> Replacement:
        return self._execute(
            Operation.ORDER_REPLACEMENT,
            permit,
            idempotency_key,
            lambda: self._core.order_replacement(card_number, idempotency_key),
            card_number=card_number,
        )

    def change_pin(
        self, card_number: str, current_pin: str, new_pin: str, idempotency_key: str, *,
        permit: Permit | None = None,
    ) -> PinChange:
        """The permit binds to the card only: the PINs never enter the parameters, the hash or the audit."""
        return self._execute(
            Operation.CHANGE_PIN,
            permit,
            idempotency_key,
            lambda: self._core.change_pin(card_number, current_pin, new_pin, idempotency_key),
            card_number=card_number,
        )

    # Read-only pass-through ------------------------------------------------------------------
    def authenticate_card(self, card_number: str, pin: str) -> AuthResult:
        return self._core.authenticate_card(card_number, pin)

    def verify_identity(self, id_number: str, face_score: float | None = None) -> IdentityResult:
        return self._core.verify_identity(id_number, face_score)

    def card_status(self, card_number: str) -> CardInfo:
        return self._core.card_status(card_number)

    def cards_of_customer(self, customer_id: str) -> list[CardInfo]:
        return self._core.cards_of_customer(customer_id)

    def customer(self, customer_id: str) -> Customer:
        return self._core.customer(customer_id)

    def pending_transfers(self, customer_id: str) -> list[TransferResult]:
        return self._core.pending_transfers(customer_id)

    def list_accounts(self, customer_id: str) -> list[Account]:
        return self._core.list_accounts(customer_id)

    def balance(self, account_number: str) -> Balance:
        return self._core.balance(account_number)

    def saved_payees(self, customer_id: str) -> list[SavedPayee]:
        return self._core.saved_payees(customer_id)

    def validate_payee(self, account_number: str, name: str, bank: str | None = None) -> PayeeCheck:
        return self._core.validate_payee(account_number, name, bank)

    def transfer_status(self, idempotency_key: str) -> TransferResult | None:
        return self._core.transfer_status(idempotency_key)

    def daily_usage(self, customer_id: str, channel: Channel, day: date) -> DailyUsage:
        return self._core.daily_usage(customer_id, channel, day)

    def history(self, account_number: str, start: date, end: date) -> list[Posting]:
        return self._core.history(account_number, start, end)

    def statement(self, account_number: str, start: date, end: date) -> StatementDocument:
        return self._core.statement(account_number, start, end)
