"""The kiosk service over HTTP: the page (``/kiosk``), its WebSocket (``/ws/{kiosk_id}``), ``/healthz``.

Everything the page needs is served from this package (``vtm/kiosk/web``: vanilla JavaScript
modules, CSS and inline SVG); nothing is fetched from outside, and the Content-Security-Policy
says so to the browser. Several browser tabs may show one kiosk (the screen and, in developer
mode, a device panel); every message about the kiosk goes to all of them. A screen in a session
that sends nothing for ``screen_silence_seconds`` (dialogs/dialog.yaml) gets the dialog's silence
repair: a customer who walked away is reminded, then offered a person. With ``--voice`` the
microphone's room noise is not activity: only a turn it heard (or a barge-in) is.

Usage::

    app = create_app(KioskService(bootstrap(settings), ServiceOptions(kiosk_ids=("VTM-0001",))))
    uvicorn.run(app, host="127.0.0.1", port=8600)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.websockets import WebSocketDisconnected

from vtm.kiosk.server.protocol import ErrorMessage, Lang, ServerMessage, parse_client_message
from vtm.kiosk.server.service import KioskService
from vtm.records.kiosk_sessions import SessionBusy

__all__ = ["WEB_DIR", "create_app"]

_log = logging.getLogger(__name__)
WEB_DIR: Final = Path(__file__).resolve().parent.parent / "web"
_CSP: Final = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; "
               "frame-ancestors 'none'; form-action 'none'")
# WebSocket close codes of this protocol (4000-4999 are the application's).
CLOSE_UNKNOWN_KIOSK: Final = 4404
CLOSE_FOREIGN_ORIGIN: Final = 4403
CLOSE_TRY_AGAIN: Final = 1013  # another replica holds the kiosk too long: the page reconnects and redraws


class _SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response


class _Screens:
    """The open WebSockets of each kiosk."""

    def __init__(self) -> None:
        self._sockets: dict[str, set[WebSocket]] = defaultdict(set)

    def add(self, kiosk_id: str, socket: WebSocket) -> None:
        self._sockets[kiosk_id].add(socket)

    def discard(self, kiosk_id: str, socket: WebSocket) -> None:
        self._sockets[kiosk_id].discard(socket)

    def count(self) -> int:
        return sum(len(s) for s in self._sockets.values())

    async def send(self, kiosk_id: str, messages: list[ServerMessage], sender: WebSocket) -> None:
        for socket in list(self._sockets[kiosk_id]):
            # An error is the sender's business; the other screens of the kiosk are not told.
            mine = [m for m in messages if socket is sender or not isinstance(m, ErrorMessage)]
            try:
                for message in mine:
                    await socket.send_text(message.model_dump_json())
            except (WebSocketDisconnect, WebSocketDisconnected):
                self.discard(kiosk_id, socket)  # it went away mid-send; it redraws on reconnect


def _same_origin(socket: WebSocket) -> bool:
    """A browser page from another site must not drive the kiosk (cross-site WebSocket hijacking)."""
    origin = socket.headers.get("origin")
    if origin is None:
        return True  # not a browser (a driver process, a test client)
    return urlsplit(origin).netloc == socket.headers.get("host")


async def _housekeeping(service: KioskService) -> None:
    """At start and then every ``housekeeping_every_s``; a failed round is logged and tried again next time."""
    while True:
        try:
            await service.housekeeping()
        except Exception:  # a database hiccup must not stop the sweeps (nor the service)
            _log.exception("housekeeping_failed")
        await asyncio.sleep(service.options.housekeeping_every_s)


def create_app(service: KioskService) -> FastAPI:
    """The ASGI app around ``service``; its lifespan warms the models and closes sessions at the end."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await service.warm_up()
        sweeper = asyncio.create_task(_housekeeping(service))
        yield
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await service.close()

    app = FastAPI(title="VTM kiosk", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(_SecurityHeaders)
    screens = _Screens()
    app.mount("/kiosk/static", StaticFiles(directory=str(WEB_DIR)), name="kiosk-static")

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        body: dict[str, Any] = {
            "status": "ok" if service.ready else "starting",
            "models": {"nlu": "ready" if service.ready else "loading"},
            "kiosks": list(service.options.kiosk_ids),
            "sessions": await service.session_count(),
            "screens": screens.count(),
            "simulate_devices": service.options.simulate_devices,
        }
        return JSONResponse(body, status_code=200 if service.ready else 503)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/kiosk")

    @app.get("/kiosk", include_in_schema=False, response_model=None)
    async def page(request: Request) -> FileResponse | RedirectResponse:
        if "kiosk" not in request.query_params:  # the page names its kiosk; default: this process's first
            return RedirectResponse(f"/kiosk?kiosk={quote(service.options.kiosk_ids[0])}")
        return FileResponse(WEB_DIR / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/kiosk/locale/{lang}")
    async def locale(lang: str) -> JSONResponse:
        if lang not in ("zh", "en"):
            raise HTTPException(404, "no such language")
        language: Lang = "en" if lang == "en" else "zh"
        return JSONResponse(service.locale.ui(language))

    @app.get("/kiosk/audio/{kiosk_id}/{session_id}/{name}")
    async def reply_audio(kiosk_id: str, session_id: str, name: str) -> FileResponse:
        """A reply recording of the kiosk's running session only (it may speak masked account details)."""
        path = await service.audio_file(kiosk_id, session_id, name)
        if path is None:
            raise HTTPException(404, "no such recording")
        return FileResponse(path, media_type="audio/wav")

    @app.websocket("/ws/{kiosk_id}")
    async def kiosk_socket(socket: WebSocket, kiosk_id: str) -> None:
        if not _same_origin(socket):
            await socket.close(code=CLOSE_FOREIGN_ORIGIN)
            return
        if not service.serves(kiosk_id):
            await socket.close(code=CLOSE_UNKNOWN_KIOSK)
            return
        await socket.accept()
        screens.add(kiosk_id, socket)
        try:
            for message in await service.connect(kiosk_id):
                await socket.send_text(message.model_dump_json())
            quiet_since = time.monotonic()
            while True:
                waited = time.monotonic() - quiet_since
                try:
                    frame = await asyncio.wait_for(socket.receive(), max(0.0, service.silence_after_s - waited))
                except TimeoutError:  # nobody there, or nobody answering: the dialog's silence repair
                    await screens.send(kiosk_id, await service.silence(kiosk_id, time.monotonic() - quiet_since),
                                       socket)
                    quiet_since = time.monotonic()
                    continue
                if frame["type"] == "websocket.disconnect":
                    raise WebSocketDisconnect(frame.get("code", 1000))
                if frame.get("bytes") is not None:  # the page's microphone (voice mode)
                    heard = await service.hear(kiosk_id, frame["bytes"])
                    if heard:  # the customer spoke (a turn, a barge-in); room noise alone is silence
                        quiet_since = time.monotonic()
                    await screens.send(kiosk_id, heard, socket)
                    continue
                quiet_since = time.monotonic()  # a word, touch or device
                try:
                    incoming = parse_client_message(frame.get("text") or "")
                except ValidationError as exc:
                    _log.warning("bad_message kiosk=%s errors=%d", kiosk_id, exc.error_count())
                    await socket.send_text(ErrorMessage(code="bad_message", message=exc.errors()[0]["msg"])
                                           .model_dump_json())
                    continue
                await screens.send(kiosk_id, await service.handle(kiosk_id, incoming), socket)
        except (WebSocketDisconnect, WebSocketDisconnected):
            pass  # the screen went away (while reading or while being sent to); its session stays for the reconnect
        except SessionBusy:
            _log.warning("kiosk_busy kiosk=%s", kiosk_id)  # the message was not acted on; the customer sees the screen
            await socket.close(code=CLOSE_TRY_AGAIN)
        finally:
            screens.discard(kiosk_id, socket)

    return app
