"""The kiosk screen's WebSocket protocol: typed JSON messages, one per WebSocket text frame.

Every message is an object with a ``type``. Client -> server (:data:`ClientMessage`)::

    {"type": "start", "lang": "zh"}                 touch on the idle screen: a new session
    {"type": "say", "text": "我要转账"}              an utterance typed, keyed in or chosen
    {"type": "button", "button": "confirm"}          the confirm / cancel buttons of a read-back
    {"type": "device", "command": "insert_card 6230..."}   device panel (``--simulate-devices`` only)
    {"type": "language", "lang": "en"}               the language switch
    {"type": "elderly", "on": true}                  larger type, slower speech
    {"type": "call_person"}                          the "call a person" button
    {"type": "reset"}                                back to the idle screen
    {"type": "speaker", "playing": true, "interruptible": true}   voice mode: the page plays a reply (or stopped)

Binary frames (``vtm serve --voice``): the page's microphone, 16 kHz mono 16-bit little-endian PCM.

Server -> client (:data:`ServerMessage`), after every turn, in this order: ``caption`` (what the
customer said, masked), one ``reply`` per dialog reply, then ``state``, ``device_prompt``,
``choices``, ``keypad``, ``read_back`` and, when the session is over, ``session_ended``. The
last five always describe the whole screen (an empty list or ``null`` clears), so a client
that reconnects is brought up to date by ``hello`` followed by the same messages. In voice
mode ``barge_in`` tells the page to stop the reply it plays: the customer talked over it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "BargeIn",
    "ButtonPressed",
    "CallPerson",
    "Caption",
    "Choice",
    "Choices",
    "ClientMessage",
    "DemoCardHint",
    "DevicePrompt",
    "DeviceUsed",
    "ElderlyMode",
    "ErrorMessage",
    "Hello",
    "Keypad",
    "LanguageSwitch",
    "ReadBack",
    "ReplyMessage",
    "Reset",
    "Say",
    "ServerMessage",
    "SessionEnded",
    "SpeakerState",
    "Start",
    "StateMessage",
    "parse_client_message",
]

Lang = Literal["zh", "en"]
MAX_TEXT = 500  # a typed or keyed-in utterance; longer input is refused, never truncated silently


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Client -> server ------------------------------------------------------------------------------
class Start(_Message):
    type: Literal["start"] = "start"
    lang: Lang | None = None


class Say(_Message):
    type: Literal["say"] = "say"
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class ButtonPressed(_Message):
    type: Literal["button"] = "button"
    button: Literal["confirm", "cancel"]


class DeviceUsed(_Message):
    """A device action from the developer panel, in the script syntax of ``vtm.devices.commands``.

    ``repr=False``: the line may carry a PIN (``pin 123456``); it is parsed into a ``Secret``
    at once and never logged.
    """

    type: Literal["device"] = "device"
    command: str = Field(min_length=1, max_length=80, repr=False)


class LanguageSwitch(_Message):
    type: Literal["language"] = "language"
    lang: Lang


class ElderlyMode(_Message):
    type: Literal["elderly"] = "elderly"
    on: bool


class CallPerson(_Message):
    type: Literal["call_person"] = "call_person"


class Reset(_Message):
    type: Literal["reset"] = "reset"


class SpeakerState(_Message):
    """Voice mode: the page started playing a reply (``playing``; may the customer interrupt it?) or
    has nothing left to play. Not a dialog turn: it tells the microphone what it hears."""

    type: Literal["speaker"] = "speaker"
    playing: bool
    interruptible: bool = True


ClientMessage = Annotated[
    Start | Say | ButtonPressed | DeviceUsed | LanguageSwitch | ElderlyMode | CallPerson | Reset | SpeakerState,
    Field(discriminator="type"),
]
_CLIENT: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Validate one client frame; raises ``pydantic.ValidationError`` naming the bad field."""
    return _CLIENT.validate_json(raw)


# Server -> client ------------------------------------------------------------------------------
class DemoCardHint(_Message):
    """A demo card offered by the developer panel (never its PIN)."""

    card_number: str
    holder: str
    id_number: str


class Hello(_Message):
    """Sent on connect and after a reset: which kiosk, which session (``None``: idle screen)."""

    type: Literal["hello"] = "hello"
    kiosk_id: str
    session_id: str | None
    lang: Lang
    elderly: bool
    developer: bool  # the device panel is shown (``vtm serve --simulate-devices``)
    resumed: bool  # the session was already running when this client connected
    voice: bool = False  # the page may send its microphone (binary frames) and plays reply audio
    reset_after_s: float  # how long the goodbye stays on screen before the idle screen returns
    demo_cards: tuple[DemoCardHint, ...] = ()


class Caption(_Message):
    """What the customer said (or keyed in), masked like the records; ``turn`` of the dialog."""

    type: Literal["caption"] = "caption"
    turn: int
    text: str


class ReplyMessage(_Message):
    """One dialog :class:`~vtm.dialog.turn.Reply`; ``speak_ms`` paces the figure's mouth."""

    type: Literal["reply"] = "reply"
    turn: int
    key: str
    text: str
    interruptible: bool
    speak_ms: int
    audio_url: str | None = None  # voice mode: the reply's recording (the mouth follows its loudness)


class StateMessage(_Message):
    type: Literal["state"] = "state"
    turn: int
    state: str  # "idle", "<transaction>.<state>" or "ended", as in the session record
    lang: Lang
    elderly: bool


DeviceName = Literal["card", "pin", "pin_again", "id_card", "face", "take_receipt", "take_card"]


class DevicePrompt(_Message):
    """The device the customer must use now (``None``: none). ``pin``: the page shows the PIN pad
    picture and never a keypad."""

    type: Literal["device_prompt"] = "device_prompt"
    device: DeviceName | None


class Choice(_Message):
    """A touch alternative to saying something: pressing it sends ``say`` as the utterance."""

    value: str
    label: str
    say: str


class Choices(_Message):
    type: Literal["choices"] = "choices"
    topic: str | None  # the slot type or question the options answer ("arrival", "offer", "menu")
    options: tuple[Choice, ...]


KeypadKind = Literal["amount", "account_number", "card_number", "id_number"]


class Keypad(_Message):
    """Show the on-screen keypad for this kind of number (``None``: hide it)."""

    type: Literal["keypad"] = "keypad"
    kind: KeypadKind | None


class ReadBack(_Message):
    """A read-back (``confirm``) or a notice to acknowledge (``acknowledge``), with confirm and
    cancel buttons that send ``{"type": "button"}``; ``None`` clears it."""

    type: Literal["read_back"] = "read_back"
    kind: Literal["confirm", "acknowledge"] | None
    text: str | None = None


class SessionEnded(_Message):
    type: Literal["session_ended"] = "session_ended"
    session_id: str
    outcome: str
    reset_after_s: float


class BargeIn(_Message):
    """The customer spoke over the interruptible reply of ``turn``: stop it and drop the rest queued."""

    type: Literal["barge_in"] = "barge_in"
    turn: int


class ErrorMessage(_Message):
    """A message the server could not act on; ``code`` is stable, ``message`` in the session language."""

    type: Literal["error"] = "error"
    code: Literal["bad_message", "device", "developer_only"]
    message: str


ServerMessage = (
    Hello | Caption | ReplyMessage | StateMessage | DevicePrompt | Choices | Keypad | ReadBack | SessionEnded
    | BargeIn | ErrorMessage
)
