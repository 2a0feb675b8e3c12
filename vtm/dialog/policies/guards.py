"""Policies that come before understanding: a spoken PIN, "speak slower", the face instead of a PIN, the
way to prove identity said at a PIN request."""

from __future__ import annotations

import re

from vtm.dialog import repair
from vtm.dialog.acts import GLOBAL_ACTS, DialogAct
from vtm.dialog.context import TurnContext
from vtm.dialog.device_events import open_pin_slot
from vtm.dialog.policies import Utterance
from vtm.dialog.session import Awaiting
from vtm.dialog.verification import offer_face_if_asked
from vtm.flows.definition import StateKind

__all__ = ["could_hold_pin", "face_instead", "pin_guard", "pin_way", "remember_words", "slow_down"]

_PIN_DIGITS = 4  # this many digits spoken while a PIN is wanted are taken for a PIN
_DIGIT = re.compile(r"[0-9０-９零〇一二三四五六七八九幺两]"  # digits as typed, or spoken in either language
                    r"|\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)\b", re.IGNORECASE)


def could_hold_pin(text: str) -> bool:
    """Enough digits (typed or spoken) to be a PIN: such words reach the intent model only after
    :func:`pin_guard` has seen that no PIN is wanted (the kiosk service reads nothing like it early)."""
    return len(_DIGIT.findall(text)) >= _PIN_DIGITS


def pin_guard(ctx: TurnContext, said: Utterance) -> bool:
    """A PIN must never be spoken aloud, kept in a transcript, or given to the intent model."""
    session = ctx.session
    waiting = session.pending is not None and session.pending.awaiting in (Awaiting.PIN, Awaiting.PIN_AGAIN)
    slot = open_pin_slot(ctx)
    if not (waiting or slot is not None) or not could_hold_pin(said.text):
        return False
    ctx.record.user = "******"
    if slot is not None:
        flow = ctx.flow_required()
        ctx.say("auth.pin_not_aloud", interruptible=False)
        ctx.say(flow.definition.slot(slot).prompt)
    else:
        ctx.say("auth.enter_pin")
    return True


def remember_words(ctx: TurnContext, said: Utterance) -> bool:
    """Keep the customer's recent words (the gate's fraud checks read them); never handles the turn."""
    ctx.session.remember_utterance(said.text)
    return False


def slow_down(ctx: TurnContext, said: Utterance) -> bool:
    """"说慢一点" turns on elderly mode; at a read-back it asks to hear it again (no unclear answer)."""
    session = ctx.session
    if not ctx.phrases.matches("elderly", said.text):
        return False
    if not session.elderly:
        session.elderly = True
        ctx.say("session.elderly_on")
    flow = session.flow
    if flow is not None and session.pending is None and flow.spec.kind is StateKind.CONFIRM:
        repair.reprompt(ctx)
        return True
    return False


def face_instead(ctx: TurnContext, said: Utterance) -> bool:
    """"Can I use my face instead?" answers a PIN request that offered it, whatever else it sounds like."""
    pending = ctx.session.pending
    return pending is not None and bool(pending.detail.get("face_alternative")) \
        and offer_face_if_asked(ctx, said.text)


def pin_way(ctx: TurnContext, said: Utterance) -> bool:
    """At a PIN request, "插卡输密码" / "card and my PIN" is acknowledged (not asked again word for word), and
    "用身份证行吗" / "can I use my ID card" hears that an ID card does not replace the PIN; "人脸识别" asks
    for consent to the face check, as at any device wait; "不输密码了 算了" is asked whether to stop."""
    pending = ctx.session.pending
    if pending is None or pending.awaiting not in (Awaiting.PIN, Awaiting.PIN_AGAIN):
        return False
    if said.nlu.intent in GLOBAL_ACTS - {DialogAct.HELP}:
        return False  # "找个人帮我输密码", "cancel, I won't use the PIN": the command, not a way to verify
    if ctx.phrases.matches("refuse_pin", said.text) and ctx.session.flow is not None:
        repair.ask_to_cancel(ctx)  # "不输密码了 算了吧": stop here?
        return True
    if ctx.phrases.matches("use_pin", said.text):
        ctx.say("auth.pin_chosen")
        return True
    if ctx.phrases.matches("id_card", said.text):
        ctx.say("auth.pin_still_needed")
        return True
    return offer_face_if_asked(ctx, said.text)  # "人脸识别" alone reads as a request for help: it is the way
