"""VTM digital employee: a speaking self-service bank teller.

The package is organised by architecture (see ``docs/architecture.md``):
``banking`` (core-bank port and sandbox), ``compliance`` (the gate), ``nlu``, ``dialog``,
``flows``, ``speech``, ``devices``, ``records``, ``review``, ``kiosk`` (wiring) and ``rasa``.
Nothing heavy happens at import time.
"""

__version__ = "0.1.0"
