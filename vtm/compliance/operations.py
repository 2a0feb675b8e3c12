"""Core operations the gate authorises, and the canonical parameters that bind a permit to a call.

The same function computes the parameter hash on both sides of the invariant: the gate from the
slots it judged, the guard from the arguments of the actual core call. If the two differ by a
single fen or character, the hashes differ and the guard refuses.

Idempotency keys and memos are not part of the hash: the key is the core's replay protection
(one permit binds to one key on first use), the memo does not move money. Nor are PINs: a PIN
change's permit binds to the card only, and nothing derived from a PIN reaches the gate or the audit.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from vtm.banking.models import Arrival, Channel, LossKind, TransferRequest
from vtm.common.canonical import canonical_json, sha256_hex
from vtm.compliance.context import GateContext

__all__ = [
    "CONFIRMED_OPERATIONS",
    "MUTATING_OPERATIONS",
    "MissingParameter",
    "Operation",
    "call_params",
    "params_from_context",
    "params_hash",
]


class Operation(StrEnum):
    """Core-bank calls that move money or change a card's status or PIN (names of ``CoreBanking`` methods)."""

    TRANSFER = "transfer"
    REVOKE_TRANSFER = "revoke_transfer"
    REPORT_LOSS = "report_loss"
    FREEZE_CARD = "freeze_card"
    ORDER_REPLACEMENT = "order_replacement"
    CHANGE_PIN = "change_pin"


MUTATING_OPERATIONS = frozenset(Operation)

CONFIRMED_OPERATIONS = frozenset({Operation.TRANSFER, Operation.REVOKE_TRANSFER, Operation.REPORT_LOSS})
"""Operations the customer must confirm explicitly (a yes-list phrase or the button) before any permit.

This is an invariant of the engine, not a bank setting: no policy pack can move money, revoke a
transfer or report a card lost on the strength of a classifier's "affirm". A PIN change is confirmed
by entering the new PIN twice (``Slots.new_pin_matches``, rule PIN-MISMATCH), not by a yes."""


class MissingParameter(ValueError):
    """The slots do not (yet) hold a parameter the operation needs."""

    def __init__(self, operation: Operation, slot: str) -> None:
        self.operation = operation
        self.slot = slot
        super().__init__(f"{operation.value} needs slot {slot!r}")


def params_hash(params: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(params))


def _transfer(
    from_account: str,
    to_account: str,
    payee_name: str,
    payee_bank: str,
    amount: object,
    arrival: Arrival,
    channel: Channel,
) -> dict[str, Any]:
    return {
        "operation": Operation.TRANSFER.value,
        "from_account": from_account,
        "to_account": to_account,
        "payee_name": payee_name,
        "payee_bank": payee_bank,
        "amount": str(amount),
        "arrival": arrival.value,
        "channel": channel.value,
    }


def call_params(operation: Operation, **arguments: Any) -> dict[str, Any]:
    """Canonical parameters of an actual core call (the guard's side)."""
    if operation is Operation.TRANSFER:
        request: TransferRequest = arguments["request"]
        return _transfer(
            request.from_account,
            request.to_account,
            request.payee_name,
            request.payee_bank,
            request.amount,
            request.arrival,
            request.channel,
        )
    if operation is Operation.REVOKE_TRANSFER:
        return {"operation": operation.value, "reference": arguments["reference"]}
    if operation is Operation.REPORT_LOSS:
        kind: LossKind = arguments["kind"]
        return {"operation": operation.value, "card_number": arguments["card_number"], "kind": kind.value}
    return {"operation": operation.value, "card_number": arguments["card_number"]}


def params_from_context(operation: Operation, ctx: GateContext) -> dict[str, Any]:
    """Canonical parameters the gate judges (the slots' side); raises :class:`MissingParameter`."""
    slots = ctx.slots

    def need(name: str) -> Any:
        value = getattr(slots, name)
        if value is None:
            raise MissingParameter(operation, name)
        return value

    if operation is Operation.TRANSFER:
        return _transfer(
            need("from_account"),
            need("payee_account"),
            need("payee_name"),
            need("payee_bank"),
            need("amount"),
            slots.arrival or Arrival.DELAYED,
            ctx.session.channel,
        )
    if operation is Operation.REVOKE_TRANSFER:
        return call_params(operation, reference=need("reference"))
    if operation is Operation.REPORT_LOSS:
        return call_params(operation, card_number=need("card_number"), kind=need("loss_kind"))
    if operation is Operation.CHANGE_PIN:
        # Judged by the pack's PIN rules, not bound into the permit; but a PIN change is never
        # authorised before the new PIN was judged and entered twice (fail-safe: None is missing).
        need("new_pin_weakness")
        need("new_pin_matches")
    return call_params(operation, card_number=need("card_number"))
