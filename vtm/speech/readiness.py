"""Readiness: load and warm every model at start, so the first customer's first word is not the slow one.

A kiosk that loads Whisper on the first utterance answers it 7-9 s late (measured before this
module existed). :class:`Readiness` runs named warm-up steps in order (ASR, end of turn, NLU,
TTS...), keeps each component's state and timing, logs one structured line per component and a
final ``event=ready``, and answers the question the kiosk screen asks ("can I invite the
customer to speak?") through :attr:`Readiness.ready` and :meth:`Readiness.to_json`.

A step that fails leaves its component ``failed`` with the error, logs it, and re-raises: a
kiosk that cannot hear must say so at start, not run deaf.

Usage::

    readiness = Readiness()
    readiness.run([("asr", recognizer.warm_up), ("tts", say_hello)], on_change=show_progress)
    readiness.ready                  # True once every step succeeded
    readiness.to_json()              # {"ready": true, "components": {"asr": {"state": "ready", ...}}}
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

__all__ = ["ComponentState", "ComponentStatus", "Readiness", "WarmUpStep"]

_log = logging.getLogger(__name__)

WarmUpStep = tuple[str, Callable[[], object]]


class ComponentState(StrEnum):
    PENDING = "pending"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class ComponentStatus:
    """One component's state; ``seconds`` is its load-and-warm time once finished."""

    name: str
    state: ComponentState = ComponentState.PENDING
    seconds: float | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state.value,
                "seconds": None if self.seconds is None else round(self.seconds, 3),
                "error": self.error}


class Readiness:
    """Per-component warm-up state, safe to read from another thread (the kiosk screen) while it runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._components: dict[str, ComponentStatus] = {}
        self._total_s: float | None = None

    @property
    def ready(self) -> bool:
        """True when at least one component was warmed and every one is ready."""
        with self._lock:
            return bool(self._components) and all(
                c.state is ComponentState.READY for c in self._components.values())

    def components(self) -> dict[str, ComponentStatus]:
        with self._lock:
            return dict(self._components)

    def to_json(self) -> dict[str, Any]:
        """What a status endpoint or the kiosk screen shows."""
        with self._lock:
            components = {name: c.to_json() for name, c in self._components.items()}
            total = self._total_s
        return {"ready": self.ready, "seconds": None if total is None else round(total, 3),
                "components": components}

    def _set(self, status: ComponentStatus, on_change: Callable[[ComponentStatus], None] | None) -> None:
        with self._lock:
            self._components[status.name] = status
        if on_change is not None:
            on_change(status)

    def run(self, steps: Sequence[WarmUpStep],
            on_change: Callable[[ComponentStatus], None] | None = None) -> None:
        """Run each step in order; ``on_change`` sees every state change (progress on screen)."""
        for name, _ in steps:
            self._set(ComponentStatus(name), None)
        started = time.perf_counter()
        for name, step in steps:
            status = ComponentStatus(name, ComponentState.LOADING)
            self._set(status, on_change)
            began = time.perf_counter()
            try:
                step()
            except Exception as exc:
                failed = replace(status, state=ComponentState.FAILED, seconds=time.perf_counter() - began,
                                 error=f"{type(exc).__name__}: {exc}")
                self._set(failed, on_change)
                _log.error("event=component_failed component=%s seconds=%.3f error=%r",
                           name, failed.seconds, failed.error)
                raise
            done = replace(status, state=ComponentState.READY, seconds=time.perf_counter() - began)
            self._set(done, on_change)
            _log.info("event=component_ready component=%s seconds=%.3f", name, done.seconds)
        with self._lock:
            self._total_s = time.perf_counter() - started
        _log.info("event=ready seconds=%.3f %s", self._total_s,
                  " ".join(f"{n}_s={c.seconds:.3f}" for n, c in self.components().items() if c.seconds is not None))
