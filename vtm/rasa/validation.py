"""Form slot validation for Rasa with the kiosk's own normalisers, validators and resolutions.

A slot value from Rasa (the customer's words, or an entity Rasa's NLU extracted) goes through the
same path as a kiosk utterance: :func:`vtm.nlu.entities.extract_entities` normalises it (spoken
numerals, full-width digits, traditional characters; Luhn and ID checksums; relative dates), and
:func:`vtm.dialog.slots.fill_slots` matches the entities to the transaction's slots and resolves them
against the core bank (a saved payee fills the account and bank too; an unknown card is refused).
A value that cannot be used becomes the same prompt the kiosk would say.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from vtm.dialog.engine import session_fact
from vtm.dialog.manager import DialogManager
from vtm.dialog.plugins import plugin_for
from vtm.dialog.slots import fill_slots
from vtm.dialog.turn import Reply
from vtm.kiosk.bootstrap import KioskServices
from vtm.nlu.entities import extract_entities
from vtm.nlu.types import NluResult
from vtm.rasa.runner import build_flow
from vtm.rasa.state import TrackerView, from_slot_value, slot_value

__all__ = ["SlotCheck", "default_slots", "validate_slot"]


@dataclass
class SlotCheck:
    """The outcome of validating one slot: slot updates (``None`` = ask again) and what to say."""

    slots: dict[str, Any]
    replies: list[Reply] = field(default_factory=list)


def _as_text(slot_type: str, value: Any) -> str:
    """A slot value as words for the entity extractors (a stored date range as a spoken period)."""
    if isinstance(value, list | tuple) and slot_type == "date_range" and len(value) == 2:
        start, end = (from_slot_value("date_range", value))
        return f"{start.year}年{start.month}月{start.day}日到{end.year}年{end.month}月{end.day}日"
    return str(value)


def validate_slot(services: KioskServices, view: TrackerView, transaction: str, slot: str, value: Any) -> SlotCheck:
    """Validate ``value`` for ``slot`` of ``transaction`` as the kiosk validates a spoken answer."""
    definition = services.definitions[transaction]
    spec = definition.slot(slot)
    state = view.state
    now = services.clock()
    session = state.new_session(view, transaction, services.settings.kiosk_id, now)
    flow = build_flow(definition, replace(view, slots={**view.slots, slot: None}))
    if value is None or value == "":
        return SlotCheck({slot: None})
    if spec.type == "transfer_ref":
        # References are never spoken in full: only the delayed transfers of this conversation can be revoked.
        known = {t["reference"] for t in session.delayed_transfers}
        if str(value) in known:
            return SlotCheck({slot: str(value)})
        return SlotCheck({slot: None}, [_reply(services, view, "invalid.unknown_transfer")])
    text = _as_text(spec.type, value)
    today = now.astimezone(services.timezone).date()
    nlu = NluResult(text=text, lang=view.lang, intent="inform", confidence=1.0,
                    slots=extract_entities(text, view.lang, today))
    before = dict(flow.slots)
    asking = next((st.name for st in definition.states if slot in st.slots), None)
    if asking is not None:
        flow.place_at(asking)  # the form asks this slot now: the plug-in reads answers to this question
    ctx = DialogManager(services, session).scratch_context()
    filled, problems = fill_slots(ctx, flow, nlu)
    if slot not in filled and not problems:
        plugin = plugin_for(flow.name)
        in_words = plugin.answers_in_words(ctx, flow, text) or plugin.bare_answer(ctx, flow, text)
        if slot in in_words:
            flow.slots[slot], filled = in_words[slot], [slot]
    if slot in filled:
        updates = {name: slot_value(v) for name, v in flow.slots.items()
                   if v is not None and (name == slot or before.get(name) is None)}
        return SlotCheck(updates)
    replies = [_reply(services, view, p.prompt, **p.values) for p in problems if p.slot == slot][:1]
    return SlotCheck({slot: None}, replies)


def default_slots(services: KioskServices, view: TrackerView, transaction: str) -> dict[str, Any]:
    """Slots the kiosk fills from session facts (``default_from``): the authenticated card and its account."""
    definition = services.definitions[transaction]
    session = view.state.new_session(view, transaction, services.settings.kiosk_id, services.clock())
    ctx = DialogManager(services, session).scratch_context()
    values: dict[str, Any] = {}
    for spec in definition.slots:
        if view.slots.get(spec.name) in (None, "") and spec.default_from:
            value = session_fact(ctx, spec.default_from)
            if value is not None:
                values[spec.name] = slot_value(value)
    return values


def _reply(services: KioskServices, view: TrackerView, key: str, **values: Any) -> Reply:
    return Reply(key, services.prompts.render(key, view.lang, False, values))
