"""Commands that wire several areas together, registered by :mod:`vtm.cli`.

Each area's own ``cli`` module may use only its area and the layers below it (``lint-imports``,
``pyproject.toml``). A command that needs a higher layer (the dialog's operations, the kiosk's
wiring) lives here, at the top with :mod:`vtm.cli`, and keeps its place in the command tree:

- :mod:`.flows`: ``vtm flows validate|diagrams`` (definitions are checked against the dialog's operations);
- :mod:`.compliance`: ``vtm compliance explain`` (``--say`` judges a sentence with the kiosk's encoder).
"""
