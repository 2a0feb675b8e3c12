"""The declared order of a spoken turn's policies (see :mod:`vtm.dialog.policies` for what each does)."""

from __future__ import annotations

from vtm.dialog.policies import Policy
from vtm.dialog.policies.commands import global_command
from vtm.dialog.policies.flow_input import choice_shortcut, flow_input
from vtm.dialog.policies.guards import face_instead, pin_guard, pin_way, remember_words, slow_down
from vtm.dialog.policies.pending import pending_answer
from vtm.dialog.policies.requests import follow_up, how_to, idle, start_transaction

__all__ = ["SPOKEN_TURN"]

SPOKEN_TURN: tuple[Policy, ...] = (
    pin_guard,
    remember_words,
    slow_down,
    face_instead,
    pin_way,
    choice_shortcut,
    global_command,
    pending_answer,
    follow_up,
    how_to,
    start_transaction,
    idle,
    flow_input,
)
