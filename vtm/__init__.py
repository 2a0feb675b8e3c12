"""VTM digital employee: a speaking self-service bank teller.

The package is organised by architecture (see ``docs/architecture.md``):
``banking`` (core-bank port and sandbox), ``compliance`` (the gate), ``nlu``, ``dialog``,
``flows``, ``speech``, ``devices``, ``records``, ``audit`` (the sealed chain), ``knowledge``,
``review``, ``kiosk`` (wiring), ``rasa``, ``common`` (leaves) and ``cli_commands``. Their layering
is checked by ``lint-imports`` (``pyproject.toml``). Nothing heavy happens at import time.
"""

__version__ = "0.1.0"
