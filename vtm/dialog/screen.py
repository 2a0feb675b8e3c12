"""The kiosk screen's own buttons, and the language switch they share with the spoken command."""

from __future__ import annotations

from vtm.devices.commands import ScreenButton
from vtm.dialog import repair
from vtm.dialog.context import TurnContext
from vtm.dialog.prompts import Lang

__all__ = ["change_language", "screen_button"]


def screen_button(ctx: TurnContext, button: ScreenButton) -> None:
    """A touch on the screen's own buttons does what the words would, with no NLU in between:
    another language, a person, or elderly mode (on: slower speech and the elderly prompt variants,
    the open question said again so; off: only the presentation, never what the bank knows of the
    customer, see ``vtm.dialog.gate_context.session_facts``)."""
    session = ctx.session
    if session.ended:
        return
    if button == "person":
        repair.handoff(ctx, "handoff.start", reason="customer_asked")
    elif button in ("zh", "en"):
        if button != session.lang:
            change_language(ctx, "en" if button == "en" else "zh")
    elif (button == "elderly_on") != session.elderly:
        session.elderly = button == "elderly_on"
        if session.elderly:
            ctx.say("session.elderly_on")
        _say_again(ctx)


def change_language(ctx: TurnContext, lang: Lang) -> None:
    ctx.session.lang = lang
    ctx.say("session.language_switched")
    _say_again(ctx)


def _say_again(ctx: TurnContext) -> None:
    """The open question again (in the session's new language or speech style)."""
    for key, values in ctx.session.last_prompts:
        if not key.startswith(("session.language", "session.elderly")):
            ctx.say(key, **values)
