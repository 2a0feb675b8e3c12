"""The kiosk service (``vtm serve``): the customer's screen over HTTP and a WebSocket.

Modules, outside in::

    cli       ``vtm serve`` options -> ServiceOptions, uvicorn
    app       FastAPI: /kiosk (page), /kiosk/static, /kiosk/locale/{lang}, /ws/{kiosk_id}, /healthz
    service   KioskService: client messages -> dialog turns (worker threads) -> screen messages
    view      the screen after a turn, read from the dialog's session (device, choices, keypad, read-back)
    sessions  SessionRepository (the seam for persisted sessions) and the in-memory one
    protocol  the typed JSON messages (documented in docs/kiosk.md)
    locale    the screen's own words in zh-CN and en (locales/*.yaml)

Errors: :class:`~vtm.kiosk.server.service.UnknownKiosk` (a kiosk this process does not serve),
:class:`~vtm.kiosk.server.locale.ScreenLocaleError` (a locale file is invalid, at start-up).
"""

from vtm.kiosk.server.app import create_app
from vtm.kiosk.server.service import KioskService, ServiceOptions, UnknownKiosk

__all__ = ["KioskService", "ServiceOptions", "UnknownKiosk", "create_app"]
