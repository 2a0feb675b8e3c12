"""The kiosk service: client messages in, screen messages out, one customer session per kiosk.

Transport-free (the WebSocket endpoint in :mod:`vtm.kiosk.server.app` is one driver; tests may
drive it directly). Each kiosk's messages are handled one at a time: an ``asyncio.Lock`` per kiosk
in this process, and the repository's hold on the kiosk across processes (a PostgreSQL advisory
lock when several replicas share the records database). A message is handled whole in one worker
thread, so NLU, database and core-bank work never block the event loop: hold the kiosk, read its
saved session (rebuilt when another process moved it on), run the turn, **save the session, then
write the turn's records** (:mod:`vtm.records.outbox`), let go. ``max_parallel_turns`` bounds how
many kiosks' messages run at once: the NLU model and the audit chain are shared by every kiosk of
the process, and on a 2-core kiosk PC one at a time is the measured-safe default.

Usage::

    service = KioskService(bootstrap(settings), ServiceOptions(kiosk_ids=("VTM-0001",)))
    await service.warm_up()
    messages = await service.handle("VTM-0001", Say(text="我要转账"))
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from vtm.banking.errors import CoreBankingError
from vtm.devices import (
    DeviceError,
    Devices,
    PressButton,
    Silence,
    SimulatedDevices,
    TakeCard,
    TakeReceipt,
    TouchScreen,
    parse_device_command,
)
from vtm.dialog.policies.guards import could_hold_pin
from vtm.dialog.session import SessionOutcome
from vtm.dialog.turn import TurnRecord
from vtm.kiosk.bootstrap import KioskServices
from vtm.kiosk.recovery import recover_unfinished
from vtm.kiosk.server.claims import Claim, LiveSessions
from vtm.kiosk.server.locale import ScreenLocale, load_screen_locale
from vtm.kiosk.server.protocol import (
    BargeIn,
    ButtonPressed,
    CallPerson,
    ClientMessage,
    DemoCardHint,
    DeviceUsed,
    ElderlyMode,
    ErrorMessage,
    Hello,
    Lang,
    LanguageSwitch,
    Reset,
    Say,
    ServerMessage,
    SpeakerState,
    Start,
)
from vtm.kiosk.server.sessions import InMemorySessionRepository, KioskSession, SessionRepository
from vtm.kiosk.server.snapshots import DeviceFactory, SessionFactory
from vtm.kiosk.server.view import ScreenView, read_back_text, turn_messages
from vtm.kiosk.server.voice import AUDIO_NAME, VoiceKit, speak_replies
from vtm.nlu.types import WARM_UP
from vtm.records.kiosk_sessions import KioskSessionError

__all__ = ["KioskService", "ServiceOptions", "UnknownKiosk"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")


def _takes_back(message: ClientMessage) -> bool:
    """Taking the card or the receipt: still the ended session's business, not a new customer's."""
    if not isinstance(message, DeviceUsed):
        return False
    try:
        return isinstance(parse_device_command(message.command), TakeCard | TakeReceipt)
    except DeviceError:
        return False


def _touched(message: ClientMessage) -> PressButton | TouchScreen | None:
    """The dialog's device command for a touch on one of the screen's buttons (None: not one)."""
    if isinstance(message, ButtonPressed):
        return PressButton(message.button)
    if isinstance(message, CallPerson):
        return TouchScreen("person")
    if isinstance(message, LanguageSwitch):
        return TouchScreen(message.lang)
    if isinstance(message, ElderlyMode):
        return TouchScreen("elderly_on" if message.on else "elderly_off")
    return None


class UnknownKiosk(LookupError):
    """A client named a kiosk this process does not serve (not retry-safe: fix the URL)."""


@dataclass(frozen=True)
class ServiceOptions:
    """How the service runs; read once at start (``vtm serve`` options)."""

    kiosk_ids: tuple[str, ...]
    simulate_devices: bool = False
    reset_after_s: float = 8.0  # the goodbye stays on screen this long, then the idle screen
    demo_cards: tuple[DemoCardHint, ...] = ()
    max_parallel_turns: int = 1
    forget_after_s: float = 24 * 3600.0  # a saved session nobody touched this long is ended as abandoned
    housekeeping_every_s: float = 600.0  # how often the running service looks for such sessions
    shared_journal: bool = False  # replicas share the records database: settle dead replicas' journal entries

    def __post_init__(self) -> None:
        if not self.kiosk_ids:
            raise ValueError("a kiosk service serves at least one kiosk")
        if self.max_parallel_turns < 1:
            raise ValueError("max_parallel_turns must be at least 1")
        if self.forget_after_s <= 0 or self.housekeeping_every_s <= 0:
            raise ValueError("forget_after_s and housekeeping_every_s must be positive")


@dataclass
class _Kiosk:
    """Per-kiosk state of this process that outlives customer sessions: message order in this process
    and the idle screen's choices."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    lang: Lang | None = None
    elderly: bool = False


class KioskService:
    """Serves the screens of ``options.kiosk_ids`` over one set of engine services."""

    def __init__(self, services: KioskServices, options: ServiceOptions, *,
                 repository: SessionRepository | None = None, locale: ScreenLocale | None = None,
                 devices: DeviceFactory | None = None, voice: VoiceKit | None = None) -> None:
        self.services = services
        self.voice = voice  # None: text and touch only (no --voice)
        self.options = options
        self.locale = locale or load_screen_locale()
        self.repository: SessionRepository = repository or InMemorySessionRepository()
        self.sessions = LiveSessions(self.repository, SessionFactory(
            services, self.locale, devices or self._simulated_devices, voice, options.reset_after_s))
        self._kiosks = {kiosk_id: _Kiosk() for kiosk_id in options.kiosk_ids}
        self._limiter = anyio.CapacityLimiter(options.max_parallel_turns)
        self._early = anyio.CapacityLimiter(2)  # the early intent model, beside the turns (2 cores)
        self.ready = False

    # Lifecycle -------------------------------------------------------------------------------
    async def warm_up(self) -> None:
        """Load and warm the NLU model before the first customer speaks (never on their first word)."""
        nlu = self.services.nlu
        for text, lang in WARM_UP:
            await anyio.to_thread.run_sync(partial(nlu.parse, text, lang=lang))
        await anyio.to_thread.run_sync(self.services.warm_knowledge)  # indexed before the first question
        if self.voice is not None:
            await anyio.to_thread.run_sync(self.voice.warm_up)  # Whisper, Smart Turn, the ASR repair's dictionary
        self.ready = True

    async def close(self) -> None:
        """The service stops. Saved sessions stay for the next start or another replica; sessions kept
        in memory end here, and their end is recorded."""
        if not self.repository.persistent:
            for kiosk_id in self._kiosks:
                await self._run(partial(self._end, kiosk_id))
        await self._run(self.repository.close)
        if self.voice is not None:
            await self._run(self.voice.close)

    def _end(self, kiosk_id: str) -> None:
        with self.sessions.claim(kiosk_id) as claim:
            if claim.session is not None:
                self._discard(claim)

    async def housekeeping(self) -> list[str]:
        """Run at start and every ``housekeeping_every_s``: end the saved sessions nobody has touched for
        ``forget_after_s`` (a kiosk taken out of service mid-session), and with a shared journal settle
        the operations a dead replica left unfinished. Returns the kiosks whose session was ended."""
        ended = await self._run(self._forget_abandoned)
        if self.options.shared_journal:
            settled = await self._run(partial(recover_unfinished, self.services.journal, self.services.core,
                                              shared=True))
            for key, status in settled:
                _log.info("journal_settled key=%s status=%s", key, status.value)
        return ended

    def _forget_abandoned(self) -> list[str]:
        cutoff = datetime.now(UTC) - timedelta(seconds=self.options.forget_after_s)
        ended: list[str] = []
        for kiosk_id in self.repository.untouched_since(cutoff):
            try:
                with self.sessions.claim(kiosk_id) as claim:
                    stored = claim.held.stored
                    if claim.session is None or stored is None or stored.updated_at >= cutoff:
                        continue  # the customer came back, or the kiosk was reset, meanwhile
                    session = claim.session.dm.session
                    if session.outcome is SessionOutcome.ACTIVE:
                        # Left mid-session: recorded like a customer who walked away (no goodbye is spoken).
                        session.outcome = SessionOutcome.COMPLETED if session.transactions_done \
                            else SessionOutcome.CANCELLED
                    session.ended = True
                    self._discard(claim)
                    _log.info("session_abandoned kiosk=%s session=%s", kiosk_id, session.session_id)
                    ended.append(kiosk_id)
            except KioskSessionError:
                continue  # held by another replica right now: not abandoned after all
        return ended

    # Messages --------------------------------------------------------------------------------
    def serves(self, kiosk_id: str) -> bool:
        return kiosk_id in self._kiosks

    async def connect(self, kiosk_id: str) -> list[ServerMessage]:
        """What a (re)connecting screen needs: hello, then the running session's captions and screen."""
        kiosk = self._kiosk(kiosk_id)
        async with kiosk.lock:
            return await self._run(partial(self._connect, kiosk_id))

    async def handle(self, kiosk_id: str, message: ClientMessage) -> list[ServerMessage]:
        """Act on one client message; returns the messages for every screen of the kiosk
        (an :class:`ErrorMessage` is meant for the sender only)."""
        kiosk = self._kiosk(kiosk_id)
        if isinstance(message, SpeakerState):
            async with kiosk.lock:  # in order with the microphone's chunks; not a turn, nothing is saved
                if (session := self.sessions.peek(kiosk_id)) is not None and session.microphone is not None:
                    session.microphone.speaker(message.playing, message.interruptible)
                return []
        if isinstance(message, Say) and not could_hold_pin(message.text):
            await self._understand_early(kiosk_id, message.text)
        async with kiosk.lock:
            return await self._run(partial(self._handle, kiosk_id, kiosk, message))

    async def _understand_early(self, kiosk_id: str, text: str) -> None:
        """Run the intent model on typed words before the kiosk's turn comes, outside the turn
        limiter: the model is the largest share of a turn, runs without Python's lock, and
        remembers its answer (vtm.nlu.model.classifier), so the turn itself finds it ready while
        other kiosks' turns use the database. Words that could hold a PIN are never read early (the
        turn's PIN guard decides whether the model may see them). Nothing else happens early; a
        failure here is the turn's to meet and report."""
        session = self.sessions.peek(kiosk_id)
        lang = session.dm.session.lang if session is not None else self._kiosk(kiosk_id).lang
        try:
            await anyio.to_thread.run_sync(partial(self.services.nlu.parse, text, lang), limiter=self._early)
        except Exception:  # only a head start: the turn parses again and handles what fails
            _log.debug("event=understand_early_failed kiosk=%s", kiosk_id, exc_info=True)

    @property
    def silence_after_s(self) -> float:
        """How long a screen in a session may stay without a word, touch or device before :meth:`silence`."""
        return self.services.screen_silence_s

    async def silence(self, kiosk_id: str, seconds: float) -> list[ServerMessage]:
        """Nothing came from the kiosk for ``seconds``: the dialog's silence repair speaks up (the open
        question again, then the offer of a person; after a finished transaction, goodbye). Nothing
        happens at the idle screen or after the session ended."""
        kiosk = self._kiosk(kiosk_id)
        async with kiosk.lock:
            return await self._run(partial(self._silence, kiosk_id, seconds))

    def _silence(self, kiosk_id: str, seconds: float) -> list[ServerMessage]:
        with self.sessions.claim(kiosk_id) as claim:
            session = claim.session
            if session is None or session.dm.session.ended:
                return []
            return self._play(claim, lambda: session.dm.handle_device(Silence(seconds)))

    async def hear(self, kiosk_id: str, pcm16: bytes) -> list[ServerMessage]:
        """A chunk of the page's microphone; a finished utterance is a dialog turn (ASR, dialog, TTS)."""
        kiosk = self._kiosk(kiosk_id)
        async with kiosk.lock:
            return await self._run(partial(self._hear, kiosk_id, kiosk, pcm16))

    async def session_count(self) -> int:
        """Kiosks with a running session (in the repository: across replicas when it is shared)."""
        return len(await anyio.to_thread.run_sync(self.repository.session_ids))

    def _connect(self, kiosk_id: str) -> list[ServerMessage]:
        with self.sessions.claim(kiosk_id) as claim:
            session = claim.session
            if session is None:
                return [self._hello(kiosk_id, None, resumed=False)]
            if session.microphone is not None:
                session.microphone.speaker(playing=False, interruptible=True)  # a new page plays nothing yet
            self._ask_again(claim)  # its question joins the history sent below
            view = session.view.messages() if session.view is not None else []
            return [self._hello(kiosk_id, session, resumed=True), *session.history, *view]

    def _hear(self, kiosk_id: str, kiosk: _Kiosk, pcm16: bytes) -> list[ServerMessage]:
        session = self.sessions.peek(kiosk_id)  # the microphone is this process's: no hold until an utterance ends
        if self.voice is None or session is None or session.microphone is None or session.dm.session.ended:
            return []  # nobody to listen for: the chunk is dropped, never stored
        try:
            heard = session.microphone.feed(pcm16, session.dm)
        except ValueError:
            return [self._error(kiosk, session, "bad_message")]
        out: list[ServerMessage] = []
        if heard.barged_in:
            _log.info("barge_in kiosk=%s session=%s turn=%d", kiosk_id, session.session_id, session.dm.session.turn)
            out.append(BargeIn(turn=session.dm.session.turn))
        for utterance in heard.utterances:
            with self.sessions.claim(kiosk_id) as claim:
                current = claim.session
                if current is None or current.dm.session.ended or current.front is None or current.microphone is None:
                    break
                asked = self._ask_again(claim)
                out += asked or self._play(claim, partial(current.microphone.answer, current.front, utterance,
                                                          current.dm), spoken=True)
        return out

    def _handle(self, kiosk_id: str, kiosk: _Kiosk, message: ClientMessage) -> list[ServerMessage]:
        with self.sessions.claim(kiosk_id) as claim:
            asked = self._ask_again(claim)
            if asked:
                return asked  # the question changed under the customer: they answer the new one
            session = claim.session
            if isinstance(message, Reset):
                return self._reset(claim, kiosk)
            if isinstance(message, ElderlyMode):
                kiosk.elderly = message.on
                if session is None or session.dm.session.ended:
                    return [self._hello(kiosk_id, None, resumed=False)]
            if isinstance(message, LanguageSwitch) and (session is None or session.dm.session.ended):
                kiosk.lang = message.lang
                return [self._hello(kiosk_id, None, resumed=False)]
            if isinstance(message, DeviceUsed) and not self.options.simulate_devices:
                return [self._error(kiosk, session, "developer_only")]
            if session is not None and session.dm.session.ended and _takes_back(message):
                return self._turn(claim, session, kiosk, message)  # the customer who just left takes card or receipt
            opened: list[ServerMessage] = []
            if session is None or session.dm.session.ended:
                if session is not None:
                    self._discard(claim)
                session, opened = self._open(claim, kiosk, message)
                if isinstance(message, Start):
                    return opened
            return [*opened, *self._turn(claim, session, kiosk, message)]

    def _turn(self, claim: Claim, session: KioskSession, kiosk: _Kiosk,
              message: ClientMessage) -> list[ServerMessage]:
        dm = session.dm
        if isinstance(message, Start) or (isinstance(message, LanguageSwitch) and message.lang == dm.session.lang):
            return self._redraw(session)  # nothing changes: a second touch, the language already chosen
        if isinstance(message, DeviceUsed):
            try:
                command = parse_device_command(message.command)
                if isinstance(session.devices, SimulatedDevices):
                    session.devices.apply(command)
            except DeviceError as exc:
                # Device errors never echo a PIN (vtm.devices.commands); the panel shows why.
                return [ErrorMessage(code="device", message=str(exc))]
            return self._play(claim, lambda: dm.handle_device(command))
        touched = _touched(message)
        if touched is not None:  # the screen's buttons: recorded as the dialog's device turns, no NLU
            return self._play(claim, lambda: dm.handle_device(touched))
        if not isinstance(message, Say):
            return [self._error(kiosk, session, "bad_message")]
        return self._play(claim, lambda: dm.handle_text(message.text))

    # Sessions --------------------------------------------------------------------------------
    def _ask_again(self, claim: Claim) -> list[ServerMessage]:
        """A session carried on without the PINs it held asks for them before acting on anything."""
        session = claim.session
        if session is None or not session.ask_again:
            return []
        session.ask_again = False
        return self._play(claim, session.dm.resume)

    def _open(self, claim: Claim, kiosk: _Kiosk, message: ClientMessage) -> tuple[KioskSession, list[ServerMessage]]:
        lang = message.lang if isinstance(message, Start) and message.lang else kiosk.lang
        session = self.sessions.factory.new(claim.kiosk_id, lang, kiosk.elderly)
        claim.session = session
        _log.info("session_opened kiosk=%s session=%s lang=%s", claim.kiosk_id, session.session_id,
                  session.dm.session.lang)
        return session, [self._hello(claim.kiosk_id, session, resumed=False), *self._play(claim, session.dm.start)]

    def _discard(self, claim: Claim) -> None:
        session = self.sessions.end(claim)
        _log.info("session_closed kiosk=%s session=%s outcome=%s", claim.kiosk_id, session.session_id,
                  session.dm.session.outcome.value)

    def _reset(self, claim: Claim, kiosk: _Kiosk) -> list[ServerMessage]:
        if claim.session is not None:
            self._discard(claim)
        kiosk.elderly = False  # the next customer starts with the kiosk's defaults
        kiosk.lang = None
        return [self._hello(claim.kiosk_id, None, resumed=False)]

    def _play(self, claim: Claim, step: Callable[[], TurnRecord], *, spoken: bool = False) -> list[ServerMessage]:
        """Run one dialog turn, describe the screen after it, and save the session.

        With voice, the replies are synthesised (``spoken``: the voice front end already did).
        """
        session = claim.session
        assert session is not None
        dm = session.dm
        record = step()
        audio: dict[int, str] = {}
        front = session.front
        if front is not None:
            if not spoken:
                speak_replies(front, dm, record.turn, record.replies)
            audio.update({i: self._audio_url(session, f"turn-{record.turn}-{i}.wav")
                          for i in range(len(record.replies))
                          if (front.out_dir / f"turn-{record.turn}-{i}.wav").is_file()})
        session.read_back = read_back_text(dm, record.replies, session.read_back)
        session.view = ScreenView.of(dm, self.locale, record.turn, record.state or "idle", session.read_back,
                                     self.options.reset_after_s)
        said = turn_messages(record, dm, audio)
        session.history.extend(said)
        self.sessions.save(claim)
        _log.info("turn kiosk=%s session=%s turn=%d state=%s replies=%d", session.kiosk_id, session.session_id,
                  record.turn, record.state, len(record.replies))
        return [*said, *session.view.messages()]

    def _redraw(self, session: KioskSession) -> list[ServerMessage]:
        state = session.view.state.state if session.view is not None else "idle"
        session.view = ScreenView.of(session.dm, self.locale, session.dm.session.turn, state, session.read_back,
                                     self.options.reset_after_s)
        return session.view.messages()

    # Helpers ---------------------------------------------------------------------------------
    async def _run(self, fn: Callable[[], _T]) -> _T:
        return await anyio.to_thread.run_sync(fn, limiter=self._limiter)

    async def audio_file(self, kiosk_id: str, session_id: str, name: str) -> Path | None:
        """A reply recording of the kiosk's *current* session (None for anything else)."""
        if self.voice is None or not self.serves(kiosk_id) or not AUDIO_NAME.fullmatch(name):
            return None
        running = await anyio.to_thread.run_sync(self.repository.session_ids)
        if running.get(kiosk_id) != session_id:
            return None
        path = self.services.settings.audio_dir / session_id / name
        return path if path.is_file() else None

    @staticmethod
    def _audio_url(session: KioskSession, name: str) -> str:
        return f"/kiosk/audio/{session.kiosk_id}/{session.session_id}/{name}"

    def _kiosk(self, kiosk_id: str) -> _Kiosk:
        try:
            return self._kiosks[kiosk_id]
        except KeyError:
            raise UnknownKiosk(kiosk_id) from None

    def _hello(self, kiosk_id: str, session: KioskSession | None, *, resumed: bool) -> Hello:
        kiosk = self._kiosks[kiosk_id]
        state = session.dm.session if session is not None else None
        return Hello(kiosk_id=kiosk_id, session_id=state.session_id if state else None,
                     lang=state.lang if state else (kiosk.lang or self.services.settings.language),
                     elderly=state.elderly if state else kiosk.elderly,
                     developer=self.options.simulate_devices, resumed=resumed, voice=self.voice is not None,
                     reset_after_s=self.options.reset_after_s,
                     demo_cards=self.options.demo_cards if self.options.simulate_devices else ())

    def _error(self, kiosk: _Kiosk, session: KioskSession | None, code: str) -> ErrorMessage:
        lang: Lang = session.dm.session.lang if session is not None else (kiosk.lang or self.services.settings.language)
        return ErrorMessage.model_validate({"code": code, "message": self.locale.text(lang, f"error.{code}")})

    def _simulated_devices(self, kiosk_id: str) -> Devices:
        core = self.services.core

        def id_name(id_number: str) -> str | None:
            try:
                return core.verify_identity(id_number).customer_name
            except CoreBankingError:
                return None

        return Devices.simulated(self.services.settings.output_dir / kiosk_id, id_lookup=id_name,
                                 clock=self.services.clock)
