"""What the screen shows after a turn, derived from the dialog's session (never decided here).

The dialog decides; this module only reads its state and turns it into protocol messages:
which device the customer must use, which touch choices answer the open question, whether the
keypad is offered (never while a PIN is awaited: the PIN goes on the PIN pad only), the
read-back with its confirm and cancel buttons, and the end of the session.

Runs in a worker thread: offering saved payees asks the core bank.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from vtm.banking.errors import CoreBankingError
from vtm.common.masking import mask_text
from vtm.devices import CardReaderState, SimulatedPrinter
from vtm.dialog.manager import DialogManager
from vtm.dialog.session import Awaiting
from vtm.dialog.turn import Reply, TurnRecord
from vtm.flows.definition import SlotSpec, StateKind
from vtm.kiosk.server.locale import ScreenLocale
from vtm.kiosk.server.protocol import (
    Caption,
    Choice,
    Choices,
    DeviceName,
    DevicePrompt,
    Keypad,
    KeypadKind,
    Lang,
    ReadBack,
    ReplyMessage,
    ServerMessage,
    SessionEnded,
    StateMessage,
)

__all__ = ["ScreenView", "read_back_text", "speak_ms", "turn_messages"]

_DEVICE_FOR: Final[dict[Awaiting, DeviceName]] = {
    Awaiting.CARD: "card", Awaiting.PIN: "pin", Awaiting.PIN_AGAIN: "pin_again",
    Awaiting.ID_CARD: "id_card", Awaiting.FACE: "face",
}
_YES_NO: Final = frozenset({Awaiting.CANCEL_CONFIRM, Awaiting.HANDOFF_CONFIRM, Awaiting.FACE_CONSENT})
_KEYPAD: Final[dict[str, KeypadKind]] = {
    "amount": "amount", "account_number": "account_number", "card_number": "card_number", "id_number": "id_number",
}
_CHOICE_SLOTS: Final = frozenset({"loss_kind", "arrival", "delivery"})
_FROM_CARD: Final = frozenset({"inserted_card", "inserted_account"})
_PIN_PAD: Final = "pin_pad"  # the slot type typed on the PIN pad only (transactions/*.yaml)
# Reading pace of the figure's mouth without audio: characters per second (measured on the
# espeak-ng voices the kiosk speaks with: about 4.5 Mandarin characters or 14 English letters).
_PACE: Final[dict[Lang, float]] = {"zh": 4.5, "en": 14.0}
_ELDERLY_SLOWER: Final = 1.35


def speak_ms(text: str, lang: Lang, elderly: bool) -> int:
    """How long the figure speaks a text-only reply: proportional to its length, at least 600 ms."""
    seconds = len(text.strip()) / _PACE[lang] * (_ELDERLY_SLOWER if elderly else 1.0)
    return max(600, round(seconds * 1000))


@dataclass(frozen=True)
class ScreenView:
    """The whole screen after a turn: the messages a (re)connecting client needs to draw it."""

    state: StateMessage
    device: DevicePrompt
    choices: Choices
    keypad: Keypad
    read_back: ReadBack
    ended: SessionEnded | None

    def messages(self) -> list[ServerMessage]:
        parts: list[ServerMessage] = [self.state, self.device, self.choices, self.keypad, self.read_back]
        return [*parts, self.ended] if self.ended is not None else parts

    @classmethod
    def of(cls, dm: DialogManager, locale: ScreenLocale, turn: int, state: str, read_back_text: str | None,
           reset_after_s: float) -> ScreenView:
        session = dm.session
        lang: Lang = session.lang
        ended = SessionEnded(session_id=session.session_id, outcome=session.outcome.value,
                             reset_after_s=reset_after_s) if session.ended else None
        return cls(
            state=StateMessage(turn=turn, state=state, lang=lang, elderly=session.elderly),
            device=DevicePrompt(device=_device(dm)),
            choices=_choices(dm, locale),
            keypad=Keypad(kind=None if session.ended else _keypad(dm)),
            read_back=_read_back(dm, read_back_text),
            ended=ended,
        )


def turn_messages(record: TurnRecord, dm: DialogManager, audio: Mapping[int, str] | None = None,
                  names: Iterable[str] = ()) -> list[ServerMessage]:
    """The customer's caption (masked, as the records mask it) and one message per reply;
    ``audio`` maps a reply's index to the URL of its recording (voice mode)."""
    session, audio = dm.session, audio or {}
    out: list[ServerMessage] = []
    if record.user:
        out.append(Caption(turn=record.turn, text=mask_text(record.user, names)))
    out.extend(ReplyMessage(turn=record.turn, key=r.key, text=r.text, interruptible=r.interruptible,
                            speak_ms=speak_ms(r.text, session.lang, session.elderly), audio_url=audio.get(i))
               for i, r in enumerate(record.replies) if r.text.strip())
    return out


def read_back_text(dm: DialogManager, replies: list[Reply], previous: str | None) -> str | None:
    """What the read-back panel shows: the notice to acknowledge (the gate's warning texts), or
    the read-back being confirmed (this turn's reply of the confirm state's prompt, else the last one)."""
    session, flow = dm.session, dm.session.flow
    if session.ended or flow is None:
        return None
    pending = session.pending
    if pending is not None and pending.awaiting is Awaiting.ACKNOWLEDGE:
        keys = set(pending.detail.get("keys", ()))
        notice = " ".join(r.text for r in replies if r.key in keys)
        return notice or previous
    if pending is not None or flow.spec.kind is not StateKind.CONFIRM:
        return None
    said = [r.text for r in replies if r.key == flow.spec.prompt]
    return said[-1] if said else previous


def _device(dm: DialogManager) -> DeviceName | None:
    pending = dm.session.pending
    if pending is not None and pending.awaiting in _DEVICE_FOR:
        return _DEVICE_FOR[pending.awaiting]
    printer = dm.services.devices.printer
    # Only the simulator tells what waits in the tray; a real printer driver reports it as an event.
    if isinstance(printer, SimulatedPrinter) and printer.tray:
        return "take_receipt"
    if dm.services.devices.card_reader.state is CardReaderState.EJECTED:
        return "take_card"
    slot = _open_slot(dm)
    if slot is not None and slot.type == _PIN_PAD:
        return "pin"  # a PIN a transaction collects itself (the PIN change's current and new PINs)
    if slot is not None and slot.default_from in _FROM_CARD and dm.session.card_number is None:
        return "card"  # "insert your card" (a lost card's number may also be keyed in)
    return None


def _open_slot(dm: DialogManager) -> SlotSpec | None:
    """The slot the running transaction is asking for now (None: no open question)."""
    session, flow = dm.session, dm.session.flow
    if session.ended or session.pending is not None or flow is None or flow.spec.kind is not StateKind.COLLECT:
        return None
    missing = flow.missing_slots()
    return flow.definition.slot(missing[0]) if missing else None


def _open_slot_type(dm: DialogManager) -> str | None:
    slot = _open_slot(dm)
    return slot.type if slot is not None else None


def _keypad(dm: DialogManager) -> KeypadKind | None:
    pending = dm.session.pending
    if pending is not None and pending.awaiting in (Awaiting.PIN, Awaiting.PIN_AGAIN):
        return None  # a PIN is entered on the PIN pad, never on the screen
    slot = _open_slot(dm)
    if slot is None or slot.default_from == "inserted_account":
        return None  # the account comes from the inserted card: the screen asks for the card instead
    return _KEYPAD.get(slot.type)


def _choices(dm: DialogManager, locale: ScreenLocale) -> Choices:
    session, flow, lang = dm.session, dm.session.flow, dm.session.lang
    if session.ended:
        return Choices(topic=None, options=())
    pending = session.pending
    if pending is not None:
        if pending.awaiting in _YES_NO:
            return Choices(topic="yes_no", options=locale.choices(lang, "yes_no"))
        return Choices(topic=None, options=())
    if flow is None:
        options = locale.choices(lang, "menu")
        if session.transactions_done:
            options = (*options, *locale.choices(lang, "finish"))
        return Choices(topic="menu", options=options)
    if flow.spec.kind is StateKind.OFFER:
        return Choices(topic="offer", options=locale.choices(lang, "yes_no"))
    slot_type = _open_slot_type(dm)
    if slot_type == "delivery":
        # Email is offered only when the bank has an address on file (as the spoken question does).
        has_email = dm.services.customer_email(dm.session.customer_id) is not None
        wanted = ("print", "screen", "email") if has_email else ("print", "screen")
        return Choices(topic=slot_type, options=locale.choices(lang, slot_type, wanted))
    if slot_type in _CHOICE_SLOTS:
        return Choices(topic=slot_type, options=locale.choices(lang, slot_type))
    if slot_type == "payee_name":
        return Choices(topic=slot_type, options=_saved_payees(dm))
    return Choices(topic=slot_type, options=())


def _saved_payees(dm: DialogManager) -> tuple[Choice, ...]:
    """The customer's saved payees as buttons (name and masked account), once the customer is known."""
    customer = dm.session.customer_id
    if customer is None:
        return ()
    try:
        payees = dm.services.core.saved_payees(customer)
    except CoreBankingError:
        return ()  # the question is still on screen and can be answered by voice or typing
    return tuple(Choice(value=p.payee_id, label=f"{p.name} · {mask_text(p.account_number)}", say=p.name)
                 for p in payees[:6])


def _read_back(dm: DialogManager, text: str | None) -> ReadBack:
    session, flow = dm.session, dm.session.flow
    if session.ended:
        return ReadBack(kind=None)
    if session.pending is not None and session.pending.awaiting is Awaiting.ACKNOWLEDGE:
        return ReadBack(kind="acknowledge", text=text)
    if session.pending is None and flow is not None and flow.spec.kind is StateKind.CONFIRM:
        return ReadBack(kind="confirm", text=text)
    return ReadBack(kind=None)
