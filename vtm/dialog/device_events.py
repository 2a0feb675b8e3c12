"""Device events and verifications: card, PIN, ID card and face, as the kiosk side sees them.

The terminal simulator (or a real driver) changes the devices; the dialog reads them here, asks
the core bank to verify, and records the factor reached. The gate asked for the verification
(``step_up``); the face check always needs its own consent and always has the PIN as the
alternative (PIPL Art. 29).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vtm.banking.errors import AuthenticationFailed, CardBlocked, CoreBankingError, NotFound
from vtm.compliance.context import AuthFactor, Consent
from vtm.compliance.verdict import Verdict
from vtm.devices import (
    CancelPin,
    DeviceCommand,
    DeviceError,
    EnterPin,
    FaceCommand,
    InsertCard,
    PressButton,
    ScanId,
    Silence,
    TakeCard,
    TakeReceipt,
)
from vtm.devices.pin_pad import PinPurpose
from vtm.dialog import repair
from vtm.dialog.session import Awaiting, Pending
from vtm.dialog.slots import card_from_identity
from vtm.flows.definition import StateKind
from vtm.records.masking import mask_name

if TYPE_CHECKING:
    from vtm.dialog.manager import DialogManager

__all__ = ["answer_face_consent", "handle_device_event", "offer_face", "request_verification"]

_ASK = {AuthFactor.CARD: (Awaiting.CARD, "auth.insert_card"), AuthFactor.PIN: (Awaiting.PIN, "auth.enter_pin"),
        AuthFactor.PIN_RECONFIRMED: (Awaiting.PIN_AGAIN, "auth.pin_again"),
        AuthFactor.ID_CARD: (Awaiting.ID_CARD, "auth.scan_id")}


def request_verification(dm: DialogManager, verdict: Verdict) -> None:
    """Ask for the first missing factor of the first option the gate offers (never face by default)."""
    have = dm.session.factors
    options = [tuple(f for f in option if f not in have) for hit in verdict.blocking_hits for option in hit.step_up]
    options = [o for o in options if o]
    if not options:
        dm.say("error.generic")
        return
    factor = options[0][0]
    if factor is AuthFactor.FACE:
        offer_face(dm)
        return
    awaiting, prompt = _ASK[factor]
    face_alternative = factor is AuthFactor.PIN and any(AuthFactor.FACE in o for o in options)
    if face_alternative:
        prompt = "auth.pin_or_face"  # the face is an alternative the customer may choose, never the default
    dm.session.pending = Pending(awaiting, {"face_alternative": face_alternative})
    dm.say(prompt)


def offer_face(dm: DialogManager) -> None:
    dm.session.pending = Pending(Awaiting.FACE_CONSENT)
    dm.say("auth.face_consent")


def answer_face_consent(dm: DialogManager, agreed: bool) -> None:
    if agreed:
        dm.session.consents.add(Consent.FACE)
        dm.session.pending = Pending(Awaiting.FACE)
        dm.say("auth.look_at_camera")
    else:
        dm.session.pending = Pending(Awaiting.PIN)
        dm.say("auth.face_refused")


def handle_device_event(dm: DialogManager, command: DeviceCommand) -> None:
    if isinstance(command, InsertCard):
        _card_inserted(dm)
    elif isinstance(command, TakeCard):
        session = dm.session
        session.card_number = None
        session.factors -= {AuthFactor.CARD, AuthFactor.PIN, AuthFactor.PIN_RECONFIRMED}
    elif isinstance(command, EnterPin):
        _pin_entered(dm)
    elif isinstance(command, CancelPin):
        if dm.session.flow is not None:
            dm.session.pending = Pending(Awaiting.CANCEL_CONFIRM)
            dm.say("repair.cancel_confirm", title=dm.session.flow.definition.title[dm.session.lang])
    elif isinstance(command, ScanId):
        _id_scanned(dm)
    elif isinstance(command, FaceCommand):
        _face(dm)
    elif isinstance(command, Silence):
        repair.silence(dm, command.seconds)
    elif isinstance(command, TakeReceipt):
        dm.record_operation("take_receipt", None, "taken")
    elif isinstance(command, PressButton):
        _button(dm, command.button)


def _button(dm: DialogManager, button: str) -> None:
    """The screen's confirm / cancel buttons: the touch form of an explicit yes, or of "cancel"."""
    session, flow = dm.session, dm.session.flow
    pending = session.pending
    if button == "cancel":
        if flow is not None and not flow.finished:
            session.pending = None
            dm.cancel_flow()
        else:
            dm.say("confirm.button_nothing")
        return
    if pending is not None and pending.awaiting is Awaiting.ACKNOWLEDGE:
        session.acknowledged.update(pending.detail["keys"])
        _resume(dm)
    elif pending is None and flow is not None and flow.spec.kind is StateKind.CONFIRM:
        dm.confirm_read_back(flow, "button", None)
    else:
        dm.say("confirm.button_nothing")


def _resume(dm: DialogManager) -> None:
    dm.session.pending = None
    dm.advance()


def _card_inserted(dm: DialogManager) -> None:
    session = dm.session
    number = dm.devices.card_reader.inserted()
    if number is None:
        return
    try:
        info = dm.core.card_status(number)
    except NotFound:
        dm.devices.card_reader.eject()
        dm.say("invalid.unknown_card")
        return
    session.card_number, session.card_status = number, info.status
    session.factors.add(AuthFactor.CARD)
    session.factors -= {AuthFactor.PIN, AuthFactor.PIN_RECONFIRMED}
    dm.say("session.card_inserted")
    if session.flow is None:
        dm.say("session.greeting")
    elif session.pending is None or session.pending.awaiting is Awaiting.CARD:
        _resume(dm)


def _pin_entered(dm: DialogManager) -> None:
    session = dm.session
    awaiting = session.pending.awaiting if session.pending else None
    purpose = PinPurpose.RECONFIRM if awaiting is Awaiting.PIN_AGAIN else PinPurpose.AUTHENTICATE
    entry = dm.devices.pin_pad.request_pin(purpose)
    flow = session.flow
    card = session.card_number or (flow.slots.get("card_number") if flow else None)
    if card is None or entry.pin is None:
        dm.say("auth.insert_card")
        return
    try:
        auth = dm.core.authenticate_card(str(card), entry.pin.reveal())
    except AuthenticationFailed as exc:
        dm.say("auth.pin_wrong", attempts_left=exc.attempts_left)
        return
    except CardBlocked as exc:
        session.pending = None
        dm.say("auth.pin_locked" if "pin" in str(exc.context.get("reason", "")) else "auth.card_blocked",
               status=str(exc.context.get("status", exc.message)))
        dm.fail_flow()
        return
    except CoreBankingError:
        dm.say("error.core_unavailable")
        return
    session.factors.add(AuthFactor.PIN)
    if awaiting is Awaiting.PIN_AGAIN:
        session.factors.add(AuthFactor.PIN_RECONFIRMED)
    session.customer, session.customer_id, session.customer_name = auth, auth.customer_id, auth.customer_name
    if auth.elderly and not session.elderly:
        session.elderly = True
    dm.say("auth.pin_ok")
    if awaiting in (Awaiting.PIN, Awaiting.PIN_AGAIN, None):
        _resume(dm)


def _id_scanned(dm: DialogManager) -> None:
    session = dm.session
    try:
        data = dm.devices.id_reader.scan()
        identity = dm.core.verify_identity(data.id_number)
    except DeviceError as exc:
        dm.say("auth.id_invalid", reason=str(exc))
        return
    except NotFound:
        dm.say("invalid.unknown_customer")
        return
    except CoreBankingError as exc:
        dm.say("auth.id_invalid", reason=exc.message)
        return
    flow = session.flow
    card = session.card_number or (flow.slots.get("card_number") if flow else None)
    holder = dm.core.card_status(str(card)).customer_id if card else None
    if (session.customer_id and session.customer_id != identity.customer_id) or \
            (holder is not None and holder != identity.customer_id):
        dm.say("auth.id_mismatch")
        dm.fail_flow()
        return
    session.id_number, session.id_photo = data.id_number, data.photo_id
    session.customer_id, session.customer_name = identity.customer_id, identity.customer_name
    session.factors.add(AuthFactor.ID_CARD)
    dm.say("auth.id_ok", name=mask_name(identity.customer_name))
    if flow is not None and flow.name == "card_loss" and not flow.slots.get("card_number"):
        problem = card_from_identity(flow, {}, session, dm.core)
        if problem is not None:
            dm.say(problem.key(dm.services.prompts), **problem.values)
    if session.pending is None or session.pending.awaiting is Awaiting.ID_CARD:
        _resume(dm)


def _face(dm: DialogManager) -> None:
    session = dm.session
    if session.id_number is None:
        session.pending = Pending(Awaiting.ID_CARD)
        dm.say("auth.scan_id")
        return
    # The separate consent is also given on the device itself (a spoken "yes" alone does not
    # switch the camera on); a refusal there falls back to the PIN.
    if not dm.devices.face.request_consent():
        answer_face_consent(dm, False)
        return
    session.consents.add(Consent.FACE)
    try:
        result = dm.devices.face.capture_and_match(session.id_photo or session.id_number)
        identity = dm.core.verify_identity(session.id_number, face_score=result.score)
    except (DeviceError, CoreBankingError):
        session.pending = Pending(Awaiting.PIN)
        dm.say("auth.face_failed")
        return
    if identity.face_matched:
        session.factors.add(AuthFactor.FACE)
        dm.say("auth.face_ok")
        _resume(dm)
    else:
        session.pending = Pending(Awaiting.PIN)
        dm.say("auth.face_failed")
