"""The kiosk service (``vtm serve``): the customer's screen over HTTP and a WebSocket.

Modules, outside in::

    cli       ``vtm serve`` options -> ServiceOptions, uvicorn
    app       FastAPI: /kiosk (page), /kiosk/static, /kiosk/locale/{lang}, /ws/{kiosk_id}, /healthz
    service   KioskService: client messages -> dialog turns (worker threads) -> screen messages
    view      the screen after a turn, read from the dialog's session (device, choices, keypad, read-back)
    claims    LiveSessions: hold a kiosk for one message, its session brought up to date, saved per turn
    sessions  SessionRepository: each kiosk's saved session and its hold (records database, or memory)
    snapshots a kiosk session made new, saved as a JSON payload after every turn, and carried on
    protocol  the typed JSON messages (documented in docs/kiosk.md)
    locale    the screen's own words in zh-CN and en (locales/*.yaml)

Errors: :class:`~vtm.kiosk.server.service.UnknownKiosk` (a kiosk this process does not serve),
:class:`~vtm.kiosk.server.locale.ScreenLocaleError` (a locale file is invalid, at start-up), and the
saved sessions' :class:`~vtm.records.kiosk_sessions.KioskSessionError` tree (another replica holds
the kiosk too long; another ``vtm serve`` on the same SQLite file) and
:class:`~vtm.dialog.snapshot.SnapshotError` (a session holds a value a snapshot cannot carry).
"""

from vtm.kiosk.server.app import create_app
from vtm.kiosk.server.service import KioskService, ServiceOptions, UnknownKiosk

__all__ = ["KioskService", "ServiceOptions", "UnknownKiosk", "create_app"]
