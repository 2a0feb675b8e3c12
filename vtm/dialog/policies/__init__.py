"""A spoken turn is one declared, ordered list of small policies.

Each policy looks at the turn context and the customer's words and either handles the turn
(returns True: later policies do not run) or passes (False). The order is the dialog's logic,
readable in one place:

1. ``pin_guard``        digits spoken while the kiosk waits for a PIN: never transcribed, never parsed
   ``remember_words``   keeps the customer's recent words for the gate's fraud checks (never handles)
2. ``slow_down``        "说慢一点" turns on elderly mode (and at a read-back repeats it)
3. ``face_instead``     "can I use my face?" answers a PIN request that offered the face
   ``pin_way``          "插卡输密码" / "can I use my ID card?" at a PIN request: the PIN it is / the ID can't replace it
4. ``choice_shortcut``  "都行" takes the open choice's default; "卡不在身上" hears the other ways
5. ``global_command``   cancel, repeat, help, a person, language, goodbye (unless it answers the question)
6. ``pending_answer``   the answer to what the kiosk is waiting for (cancel?, warning, offer, device ...)
7. ``follow_up``        right after a transaction, "打印出来吧" does it again with that value
8. ``how_to``           "怎么挂失？": a one-sentence answer and the offer to do it now
9. ``start_transaction``a request for a transaction (a digression inside another one)
10. ``idle``            no transaction: a question for the knowledge base, a greeting, goodbye, a miss
11. ``flow_input``      the running transaction's answer: a read-back's yes, an offer's answer, slot values

The list itself is :data:`vtm.dialog.policies.order.SPOKEN_TURN`. Policies act through the
:class:`~vtm.dialog.context.TurnContext` only; what the kiosk must do with its hardware is returned
as actions in the turn record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from vtm.nlu.types import NluResult

if TYPE_CHECKING:
    from vtm.dialog.context import TurnContext

__all__ = ["Policy", "Utterance", "run_policies"]


@dataclass
class Utterance:
    """What the customer said; understood (parsed) only when a policy first asks for it."""

    text: str
    parse: Callable[[str], NluResult]
    _nlu: NluResult | None = field(default=None, init=False)
    parse_ms: float | None = field(default=None, init=False)

    @property
    def nlu(self) -> NluResult:
        if self._nlu is None:
            started = time.perf_counter()
            self._nlu = self.parse(self.text)
            self.parse_ms = (time.perf_counter() - started) * 1000
        return self._nlu

    @property
    def parsed(self) -> bool:
        return self._nlu is not None


Policy = Callable[["TurnContext", Utterance], bool]


def run_policies(ctx: TurnContext, said: Utterance, policies: Sequence[Policy]) -> None:
    """Give the turn to each policy in order until one handles it."""
    for policy in policies:
        if policy(ctx, said):
            return


def parser_for(ctx: TurnContext, today: date) -> Callable[[str], NluResult]:
    lang = ctx.session.lang
    return lambda text: ctx.services.nlu.parse(text, lang=lang, today=today)
