"""Verifications the gate asks for (``step_up``): which factor to ask for, and the face check's own consent.

The face check always needs its own consent and always has the PIN as the alternative (PIPL Art. 29);
the kiosk never offers the face by default.
"""

from __future__ import annotations

from vtm.banking.errors import CardBlocked
from vtm.banking.models import AuthResult
from vtm.compliance.context import AuthFactor, Consent
from vtm.compliance.verdict import Verdict
from vtm.dialog.context import TurnContext
from vtm.dialog.session import Awaiting, Pending

__all__ = ["answer_face_consent", "offer_face", "offer_face_if_asked", "pin_accepted", "request_verification",
           "say_card_blocked"]

_ASK = {AuthFactor.CARD: (Awaiting.CARD, "auth.insert_card"), AuthFactor.PIN: (Awaiting.PIN, "auth.enter_pin"),
        AuthFactor.PIN_RECONFIRMED: (Awaiting.PIN_AGAIN, "auth.pin_again"),
        AuthFactor.ID_CARD: (Awaiting.ID_CARD, "auth.scan_id")}


def request_verification(ctx: TurnContext, verdict: Verdict) -> None:
    """Ask for the first missing factor of the first option the gate offers (never face by default)."""
    have = ctx.session.factors
    options = [tuple(f for f in option if f not in have) for hit in verdict.blocking_hits for option in hit.step_up]
    options = [o for o in options if o]
    if not options:
        ctx.say("error.generic")
        return
    factor = options[0][0]
    if factor is AuthFactor.FACE:
        offer_face(ctx)
        return
    awaiting, prompt = _ASK[factor]
    face_alternative = factor is AuthFactor.PIN and any(AuthFactor.FACE in o for o in options)
    if face_alternative:
        prompt = "auth.pin_or_face"  # the face is an alternative the customer may choose, never the default
    ctx.session.pending = Pending(awaiting, {"face_alternative": face_alternative})
    ctx.say(prompt)


def offer_face(ctx: TurnContext) -> None:
    ctx.session.pending = Pending(Awaiting.FACE_CONSENT)
    ctx.say("auth.face_consent")


def offer_face_if_asked(ctx: TurnContext, text: str) -> bool:
    """At a device wait, "人脸识别" / "face scan" asks for the face check: offer it (consent first)."""
    if not ctx.phrases.matches("face", text):
        return False
    offer_face(ctx)
    return True


def answer_face_consent(ctx: TurnContext, agreed: bool) -> None:
    if agreed:
        ctx.session.consents.add(Consent.FACE)
        ctx.session.pending = Pending(Awaiting.FACE)
        ctx.say("auth.look_at_camera")
    else:
        ctx.session.pending = Pending(Awaiting.PIN)
        ctx.say("auth.face_refused")


def pin_accepted(ctx: TurnContext, auth: AuthResult) -> None:
    """The core accepted the card's PIN: the factor is reached and the customer known (said to them)."""
    session = ctx.session
    session.factors.add(AuthFactor.PIN)
    session.customer, session.customer_id, session.customer_name = auth, auth.customer_id, auth.customer_name
    session.elderly = session.elderly or auth.elderly
    ctx.say("auth.pin_ok")


def say_card_blocked(ctx: TurnContext, exc: CardBlocked) -> None:
    """The PIN is locked (too many wrong tries) or the card blocked: say which, in the customer's terms."""
    ctx.say("auth.pin_locked" if "pin" in str(exc.context.get("reason", "")) else "auth.card_blocked",
            status=str(exc.context.get("status", exc.message)))
