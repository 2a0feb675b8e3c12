"""Rasa custom actions over the kiosk's own engine (rasa-sdk action server).

A bank that already runs a Rasa assistant points it at this action server and gets the kiosk's
transactions with the same definitions (``transactions/*.yaml``), validators and normalisers
(:mod:`vtm.nlu.entities`, :mod:`vtm.dialog.slots`), compliance gate and core-banking adapter:
nothing here re-implements a business rule.

Modules::

    actions   the module rasa-sdk loads (``python -m rasa_sdk --actions vtm.rasa.actions``)
    runner    one transaction step, headless, through the dialog manager and the gate
    state     what the tracker carries between calls (identity slots, ``vtm_state``)
    services  the kiosk services, built once per worker process
    domain    ``vtm rasa export``: a Rasa 3 domain generated from the content folders
    cli       ``vtm rasa export DIR`` and ``vtm rasa serve``

Errors: :class:`RasaBridgeError` (the only exception this package raises on purpose).
See ``docs/rasa.md``.
"""

from __future__ import annotations

__all__ = ["RasaBridgeError"]


class RasaBridgeError(Exception):
    """The tracker does not carry what an action needs (unknown transaction, bad slot value)."""
