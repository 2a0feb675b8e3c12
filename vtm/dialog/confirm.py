"""Values for read-backs and offers: the account masked, the amount in words, choices in words."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from vtm.dialog.speakable import amount_words, say_datetime
from vtm.records.masking import mask_card

if TYPE_CHECKING:
    from vtm.dialog.manager import DialogManager
    from vtm.flows.machine import Flow

__all__ = ["confirm_values"]


def confirm_values(dm: DialogManager, flow: Flow) -> dict[str, Any]:
    lang = dm.session.lang
    s, values = flow.slots, {}
    if s.get("amount") is not None:
        values["amount_words"] = amount_words(Decimal(s["amount"]), lang)
    if s.get("account_number"):
        values["account"] = mask_card(str(s["account_number"]))
    if s.get("payee_name"):
        values["payee_name"] = s["payee_name"]
    check = flow.facts.get("payee_check")
    values["bank"] = check.bank if check is not None else (s.get("payee_bank") or "")
    values["arrival_text"] = dm.render(f"transfer.arrival.{s.get('arrival') or 'delayed'}")
    if s.get("card_number"):
        values["last4"] = str(s["card_number"])[-4:]
    if s.get("loss_kind"):
        values["kind_text"] = dm.render(f"card_loss.kind.{s['loss_kind']}")
    if s.get("transfer_ref"):
        pending = next((t for t in dm.session.delayed_transfers if t["reference"] == s["transfer_ref"]), None)
        if pending is not None:
            values.update(amount_words=amount_words(pending["amount"], lang),
                          execute_at=say_datetime(dm.local(pending["execute_at"]), lang),
                          account=mask_card(pending["to_account"]))
    return values
