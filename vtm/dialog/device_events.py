"""Device events: card, PIN, ID card, face and the screen's buttons, as the dialog sees them.

The terminal simulator (or a real driver) changes the devices; the dialog reads them here, asks
the core bank to verify, and records the factor reached. A slot of type ``pin_pad`` (a new PIN)
is filled only here, from the PIN pad, never from speech.
"""

from __future__ import annotations

from vtm.banking.errors import AuthenticationFailed, CardBlocked, CoreBankingError, NotFound
from vtm.common.masking import mask_name
from vtm.compliance.context import AuthFactor, Consent
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
    TouchScreen,
)
from vtm.devices.pin_pad import PinPurpose
from vtm.dialog import repair
from vtm.dialog.actions import EjectCard
from vtm.dialog.consent import confirm_read_back
from vtm.dialog.content import PIN_PAD
from vtm.dialog.context import TurnContext
from vtm.dialog.engine import advance, cancel_flow, fail_flow, progress
from vtm.dialog.plugins import plugin_for
from vtm.dialog.screen import screen_button
from vtm.dialog.session import Awaiting, Pending
from vtm.dialog.slots import mark_filled
from vtm.dialog.verification import answer_face_consent, pin_accepted, say_card_blocked
from vtm.flows.definition import StateKind

__all__ = ["handle_device_event", "open_pin_slot"]


def handle_device_event(ctx: TurnContext, command: DeviceCommand) -> None:
    if isinstance(command, InsertCard):
        _card_inserted(ctx)
    elif isinstance(command, TakeCard):
        session = ctx.session
        session.card_number = None
        session.factors -= {AuthFactor.CARD, AuthFactor.PIN, AuthFactor.PIN_RECONFIRMED}
    elif isinstance(command, EnterPin):
        _pin_entered(ctx)
    elif isinstance(command, CancelPin):
        if ctx.session.flow is not None:
            ctx.session.pending = Pending(Awaiting.CANCEL_CONFIRM)
            ctx.say("repair.cancel_confirm", title=ctx.session.flow.definition.title[ctx.session.lang])
    elif isinstance(command, ScanId):
        _id_scanned(ctx)
    elif isinstance(command, FaceCommand):
        _face(ctx)
    elif isinstance(command, Silence):
        repair.silence(ctx, command.seconds)
    elif isinstance(command, TouchScreen):
        screen_button(ctx, command.button)
    elif isinstance(command, TakeReceipt):
        ctx.record_operation("take_receipt", None, "taken")
    elif isinstance(command, PressButton):
        _button(ctx, command.button)


def _button(ctx: TurnContext, button: str) -> None:
    """The screen's confirm / cancel buttons: the touch form of an explicit yes, or of "cancel"."""
    session, flow = ctx.session, ctx.session.flow
    pending = session.pending
    if button != "confirm":  # the cancel button
        if flow is not None and not flow.finished:
            session.pending = None
            cancel_flow(ctx)
        else:
            ctx.say("confirm.button_nothing")
        return
    if pending is not None and pending.awaiting is Awaiting.ACKNOWLEDGE:
        session.acknowledged.update(pending.detail["keys"])
        _resume(ctx)
    elif pending is None and flow is not None and flow.spec.kind is StateKind.CONFIRM:
        confirm_read_back(ctx, flow, "button", None)
    else:
        ctx.say("confirm.button_nothing")


def _resume(ctx: TurnContext) -> None:
    ctx.session.pending = None
    advance(ctx)


def _card_inserted(ctx: TurnContext) -> None:
    session = ctx.session
    number = ctx.services.devices.card_reader.inserted()
    if number is None:
        return
    try:
        info = ctx.core.card_status(number)
    except NotFound:
        ctx.act(EjectCard())
        ctx.say("invalid.unknown_card")
        return
    session.card_number, session.card_status = number, info.status
    session.factors.add(AuthFactor.CARD)
    session.factors -= {AuthFactor.PIN, AuthFactor.PIN_RECONFIRMED}
    ctx.say("session.card_inserted")
    if session.flow is None:
        ctx.say("session.greeting")
    elif session.pending is None or session.pending.awaiting is Awaiting.CARD:
        _resume(ctx)


def open_pin_slot(ctx: TurnContext) -> str | None:
    """The slot the kiosk is asking for on the PIN pad right now (a new PIN), if any."""
    flow = ctx.session.flow
    if flow is None or ctx.session.pending is not None or flow.spec.kind is not StateKind.COLLECT:
        return None
    missing = flow.missing_slots()
    return missing[0] if missing and flow.definition.slot(missing[0]).type == PIN_PAD else None


def _pin_for_slot(ctx: TurnContext, slot: str) -> None:
    """A PIN typed for a slot of the running transaction (a new PIN): kept as a Secret, never checked here."""
    flow = ctx.flow_required()
    entry = ctx.services.devices.pin_pad.request_pin(PinPurpose.CHANGE)
    if entry.pin is None:
        ctx.say(flow.definition.slot(slot).prompt)
        return
    flow.slots[slot] = entry.pin
    mark_filled(ctx, flow, [slot])
    progress(ctx)


def _pin_entered(ctx: TurnContext) -> None:
    session = ctx.session
    slot = open_pin_slot(ctx)
    if slot is not None:
        _pin_for_slot(ctx, slot)
        return
    awaiting = session.pending.awaiting if session.pending else None
    purpose = PinPurpose.RECONFIRM if awaiting is Awaiting.PIN_AGAIN else PinPurpose.AUTHENTICATE
    entry = ctx.services.devices.pin_pad.request_pin(purpose)
    flow = session.flow
    card = session.card_number or (plugin_for(flow.name).card(ctx, flow) if flow else None)
    if card is None or entry.pin is None:
        ctx.say("auth.insert_card")
        return
    try:
        auth = ctx.core.authenticate_card(str(card), entry.pin.reveal())
    except AuthenticationFailed as exc:
        ctx.say("auth.pin_wrong", attempts_left=exc.attempts_left)
        return
    except CardBlocked as exc:
        session.pending = None
        say_card_blocked(ctx, exc)
        fail_flow(ctx)
        return
    except CoreBankingError:
        ctx.say("error.core_unavailable")
        return
    if awaiting is Awaiting.PIN_AGAIN:
        session.factors.add(AuthFactor.PIN_RECONFIRMED)
    pin_accepted(ctx, auth)
    if awaiting in (Awaiting.PIN, Awaiting.PIN_AGAIN, None):
        _resume(ctx)


def _id_scanned(ctx: TurnContext) -> None:
    session = ctx.session
    try:
        data = ctx.services.devices.id_reader.scan()
        identity = ctx.core.verify_identity(data.id_number)
    except DeviceError as exc:
        ctx.say("auth.id_invalid", reason=str(exc))
        return
    except NotFound:
        ctx.say("invalid.unknown_customer")
        return
    except CoreBankingError as exc:
        ctx.say("auth.id_invalid", reason=exc.message)
        return
    flow = session.flow
    card = session.card_number or (plugin_for(flow.name).card(ctx, flow) if flow else None)
    holder = ctx.core.card_status(str(card)).customer_id if card else None
    if (session.customer_id and session.customer_id != identity.customer_id) or \
            (holder is not None and holder != identity.customer_id):
        ctx.say("auth.id_mismatch")
        fail_flow(ctx)
        return
    session.id_number, session.id_photo = data.id_number, data.photo_id
    session.customer_id, session.customer_name = identity.customer_id, identity.customer_name
    session.factors.add(AuthFactor.ID_CARD)
    ctx.say("auth.id_ok", name=mask_name(identity.customer_name))
    if flow is not None:
        plugin_for(flow.name).identity_known(ctx, flow)
    if session.pending is None or session.pending.awaiting is Awaiting.ID_CARD:
        _resume(ctx)


def _face(ctx: TurnContext) -> None:
    session = ctx.session
    if session.id_number is None:
        session.pending = Pending(Awaiting.ID_CARD)
        ctx.say("auth.scan_id")
        return
    # The separate consent is also given on the device itself (a spoken "yes" alone does not
    # switch the camera on); a refusal there falls back to the PIN.
    if not ctx.services.devices.face.request_consent():
        answer_face_consent(ctx, False)
        return
    session.consents.add(Consent.FACE)
    try:
        result = ctx.services.devices.face.capture_and_match(session.id_photo or session.id_number)
        identity = ctx.core.verify_identity(session.id_number, face_score=result.score)
    except (DeviceError, CoreBankingError):
        session.pending = Pending(Awaiting.PIN)
        ctx.say("auth.face_failed")
        return
    if identity.face_matched:
        session.factors.add(AuthFactor.FACE)
        ctx.say("auth.face_ok")
        _resume(ctx)
    else:
        session.pending = Pending(Awaiting.PIN)
        ctx.say("auth.face_failed")
