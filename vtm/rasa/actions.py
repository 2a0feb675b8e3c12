"""The Rasa custom actions: ``python -m rasa_sdk --actions vtm.rasa.actions``.

Per transaction in ``transactions/*.yaml`` (``<t>`` its name):

* ``validate_<t>_form``: a :class:`FormValidationAction` with one ``validate_<slot>`` per slot
  (our entity normalisers and slot validators, :mod:`vtm.rasa.validation`); it also fills the
  slots the kiosk takes from session facts (the authenticated card and its account).
* ``action_ask_<slot>``: the slot's question from ``dialogs/prompts`` in the tracker's language.
* one operation action (:data:`OPERATION_ACTIONS`) that runs the transaction through the gate and
  the core (:func:`vtm.rasa.runner.run_step`) and answers with slot events and responses.

rasa-sdk discovers actions as subclasses of ``Action`` when it imports this module, so the classes
for the transactions are created here from the definitions (small YAML files; the bank and the
gate are only opened on the first call, see :mod:`vtm.rasa.services`).
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from vtm.config import load_settings
from vtm.dialog.prompts import Lang
from vtm.dialog.transactions import transactions_of
from vtm.dialog.turn import Reply
from vtm.flows.definition import TransactionDefinition
from vtm.rasa import RasaBridgeError
from vtm.rasa.runner import run_step
from vtm.rasa.services import get_services
from vtm.rasa.state import TrackerView
from vtm.rasa.validation import default_slots, validate_slot

__all__ = ["OPERATION_ACTIONS", "form_name", "response_name"]

log = logging.getLogger(__name__)

# Operation action name -> transaction it completes (names a Rasa assistant's rules refer to).
OPERATION_ACTIONS: dict[str, str] = {
    "action_report_card_loss": "card_loss",
    "action_execute_transfer": "transfer",
    "action_revoke_transfer": "revoke_transfer",
    "action_produce_statement": "statement",
    "action_check_balance": "balance",
    "action_change_pin": "change_pin",
}


def form_name(transaction: str) -> str:
    return f"{transaction}_form"


def response_name(prompt_key: str) -> str:
    """The domain response for a prompt key: ``transfer.ask_amount`` -> ``utter_transfer_ask_amount``."""
    return "utter_" + re.sub(r"[^a-z0-9]+", "_", prompt_key.lower()).strip("_")


def _view(tracker: Tracker) -> TrackerView:
    return TrackerView.from_parts(tracker.sender_id, dict(tracker.slots), tracker.latest_message)


def _utter(dispatcher: CollectingDispatcher, replies: list[Reply]) -> None:
    prompts = get_services().prompts
    for reply in replies:
        if prompts.has(reply.key):
            dispatcher.utter_message(text=reply.text, response=response_name(reply.key))
        else:  # composed texts (a referral's reasons) have no single response
            dispatcher.utter_message(text=reply.text)


class TransactionFormValidation(FormValidationAction, ABC):  # type: ignore[misc]  # rasa-sdk is untyped
    """``validate_<transaction>_form``; subclasses name the transaction and get ``validate_<slot>`` methods."""

    transaction: ClassVar[str]

    @abstractmethod
    def name(self) -> str:
        """``validate_<transaction>_form`` (abstract here, so rasa-sdk does not register this base)."""

    async def get_extraction_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> list[EventType]:
        events = await super().get_extraction_events(dispatcher, tracker, domain)
        defaults = default_slots(get_services(), _view(tracker), self.transaction)
        tracker.slots.update(defaults)
        return [*events, *(SlotSet(k, v) for k, v in defaults.items())]

    def _validate(self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        check = validate_slot(get_services(), _view(tracker), self.transaction, slot, value)
        _utter(dispatcher, check.replies)
        return check.slots


class AskSlot(Action, ABC):  # type: ignore[misc]  # rasa-sdk is untyped
    """``action_ask_<slot>``: the slot's question, with the values the kiosk puts into it."""

    slot: ClassVar[str]

    @abstractmethod
    def name(self) -> str:
        """``action_ask_<slot>`` (abstract here, so rasa-sdk does not register this base)."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        services = get_services()
        view = _view(tracker)
        loop = (tracker.active_loop or {}).get("name") or ""
        transaction = loop.removesuffix("_form")
        definition = services.definitions.get(transaction) or next(
            d for d in services.definitions.values() if any(s.name == self.slot for s in d.slots))
        key = definition.slot(self.slot).prompt
        # A Rasa form asks for any slot in any order, so the values are not tied to the flow's current state
        # as DialogManager.prompt_values is: every placeholder a slot question may use is supplied.
        email = services.customer_email(view.slots.get("customer_id"))
        values = {"payee_name": view.slots.get("payee_name") or "",
                  "days": int(services.bank_policy.get("temporary_loss_days", 0)),
                  "email_option": services.prompts.render("statement.email_option", view.lang) if email else ""}
        _utter(dispatcher, [Reply(key, services.prompts.render(key, view.lang, False, values))])
        return []


class OperationAction(Action, ABC):  # type: ignore[misc]  # rasa-sdk is untyped
    """Runs a transaction's operation through the gate and the core; refuses with a response, never raises."""

    transaction: ClassVar[str]

    @abstractmethod
    def name(self) -> str:
        """The action's name in :data:`OPERATION_ACTIONS` (abstract here, so rasa-sdk does not register this base)."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        services = get_services()
        try:
            result = run_step(services, _view(tracker), self.transaction)
        except RasaBridgeError as exc:
            log.warning("event=rasa_bad_tracker action=%s sender=%s error=%s", self.name(), tracker.sender_id, exc)
            _utter(dispatcher, [Reply("error.generic", services.prompts.render("error.generic", _lang(tracker)))])
            return [SlotSet("vtm_outcome", f"{self.transaction}:error")]
        log.info("event=rasa_step action=%s sender=%s outcome=%s verdicts=%s", self.name(), tracker.sender_id,
                 result.outcome, [(v["checkpoint"], v["outcome"], v["rules"]) for v in result.verdicts])
        _utter(dispatcher, result.replies)
        events: list[EventType] = [SlotSet(k, v) for k, v in result.slots.items()]
        if result.outcome == "collect" and result.requested_slot:
            events += [ActiveLoop(form_name(self.transaction)), SlotSet("requested_slot", result.requested_slot)]
        return events


def _lang(tracker: Tracker) -> Lang:
    return "en" if str(tracker.get_slot("language") or "zh").startswith("en") else "zh"


def _make_validator(definition: TransactionDefinition) -> type[TransactionFormValidation]:
    methods: dict[str, Any] = {"transaction": definition.name, "__module__": __name__,
                               "name": _named(f"validate_{form_name(definition.name)}"),
                               "__doc__": f"validate_{form_name(definition.name)}: {definition.title['en']}"}
    for spec in definition.slots:
        def validate(self: TransactionFormValidation, value: Any, dispatcher: CollectingDispatcher,
                     tracker: Tracker, domain: DomainDict, _slot: str = spec.name) -> dict[str, Any]:
            return self._validate(_slot, value, dispatcher, tracker)
        methods[f"validate_{spec.name}"] = validate
    return type(f"Validate{_camel(definition.name)}Form", (TransactionFormValidation,), methods)


def _named(name: str) -> Any:
    def method(self: Action) -> str:
        return name
    return method


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def _build() -> dict[str, type[Action]]:
    definitions = transactions_of(load_settings().content_root)
    missing = set(definitions) - set(OPERATION_ACTIONS.values())
    if missing:
        raise RasaBridgeError(f"no operation action names transactions {sorted(missing)}; "
                              "add them to OPERATION_ACTIONS")
    built: dict[str, type[Action]] = {}
    for definition in definitions.values():
        built[f"validate_{form_name(definition.name)}"] = _make_validator(definition)
    for slot in sorted({s.name for d in definitions.values() for s in d.slots}):
        built[f"action_ask_{slot}"] = type(f"Ask{_camel(slot)}", (AskSlot,),
                                           {"slot": slot, "name": _named(f"action_ask_{slot}"), "__module__": __name__})
    for action, transaction in OPERATION_ACTIONS.items():
        built[action] = type(_camel(action), (OperationAction,),
                             {"transaction": transaction, "name": _named(action), "__module__": __name__})
    return built


ACTIONS = _build()
# The action server pickles its actions into worker processes: each class must be a module attribute.
globals().update({cls.__name__: cls for cls in ACTIONS.values()})
