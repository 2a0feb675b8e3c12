"""PIN change (修改密码): the plug-in of ``transactions/change_pin.yaml``.

The current PIN is checked by the core (it counts toward the lockout like any PIN entry); the new
PIN's weaknesses (names only, never the digits) and whether its two entries match go to the gate;
the change itself is journalled without any PIN in it, and the PINs are forgotten as soon as the
core has the change (or the customer starts the new PIN again).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from vtm.banking.errors import AuthenticationFailed, CardBlocked, CoreBankingError, WeakPin
from vtm.banking.pin_rules import new_pin_weaknesses, pin_format_ok
from vtm.common.secret import Secret
from vtm.compliance.verdict import Permit
from vtm.dialog.plugins import TransactionPlugin
from vtm.dialog.plugins._shared import card_slot_or_inserted, core_failure, journalled
from vtm.dialog.verification import pin_accepted, say_card_blocked
from vtm.flows.definition import Trigger
from vtm.flows.machine import Flow

if TYPE_CHECKING:
    from vtm.dialog.context import TurnContext

__all__ = ["PLUGIN"]

_NEW = ("new_pin", "new_pin_again")
_ALL = ("current_pin", *_NEW)


def _secret(flow: Flow, slot: str) -> str | None:
    value = flow.slots.get(slot)
    return value.reveal() if isinstance(value, Secret) else None


def _forget(flow: Flow, slots: tuple[str, ...]) -> None:
    for slot in slots:
        flow.slots[slot] = None


def verify_current_pin(ctx: TurnContext, flow: Flow, _: Permit | None) -> str:
    """The current PIN, typed on the PIN pad, checked by the core (a wrong one counts toward the lockout)."""
    card, current = str(flow.slots["card_number"]), _secret(flow, "current_pin")
    try:
        auth = ctx.core.authenticate_card(card, current or "")
    except AuthenticationFailed as exc:
        _forget(flow, _ALL)
        ctx.say("auth.pin_wrong", attempts_left=exc.attempts_left)
        return Trigger.REJECT
    except CardBlocked as exc:
        _forget(flow, _ALL)
        say_card_blocked(ctx, exc)
        return Trigger.FAIL
    except CoreBankingError as exc:
        _forget(flow, _ALL)
        return core_failure(ctx, exc)
    flow.facts["birth_date"] = auth.birth_date
    pin_accepted(ctx, auth)
    return Trigger.PROCEED


def change_pin(ctx: TurnContext, flow: Flow, permit: Permit | None) -> str:
    card = str(flow.slots["card_number"])
    current, new = _secret(flow, "current_pin"), _secret(flow, "new_pin")
    if current is None or new is None:
        _forget(flow, _ALL)
        return Trigger.FAIL
    key = flow.facts.setdefault("pin_change_key", ctx.session.next_key("change_pin"))
    try:
        done = journalled(ctx, "change_pin", key, {"card_number": card},
                          lambda: ctx.guarded.change_pin(card, current, new, key, permit=permit))
    except WeakPin:
        _forget(flow, _NEW)
        flow.facts.pop("pin_change_key", None)  # another PIN is another request
        ctx.say("compliance.pin.weak")
        return Trigger.REJECT
    except CoreBankingError as exc:
        _forget(flow, _ALL)
        return core_failure(ctx, exc)
    _forget(flow, _ALL)
    ctx.say("change_pin.done", last4=card[-4:], reference=done.reference)
    return Trigger.PROCEED


def _gate_slots(_ctx: TurnContext, flow: Flow) -> dict[str, Any]:
    current, new, again = (_secret(flow, slot) for slot in _ALL)
    weakness = None
    if current is not None and new is not None and pin_format_ok(new):
        weakness = new_pin_weaknesses(current, new, flow.facts.get("birth_date"))
    matches = secrets.compare_digest(new.encode(), again.encode()) if new is not None and again is not None else None
    return dict(new_pin_weakness=weakness, new_pin_matches=matches)


PLUGIN = TransactionPlugin(
    name="change_pin",
    operations={"verify_current_pin": verify_current_pin, "change_pin": change_pin},
    card=card_slot_or_inserted, gate_slots=_gate_slots,
)
