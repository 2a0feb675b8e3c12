"""The permit registry: which ``allow`` verdicts may still authorise a core operation.

Only the gate issues permits, and only the registry that issued a permit honours it, so a permit
object built by hand (or copied from another kiosk process) is worthless. A permit is bound to one
session, one operation and the hash of the exact parameters, expires after the pack's TTL, and is
single-use: the first call binds it to that call's idempotency key. The only re-use allowed is a
retry of *that same key* after the core said ``Unavailable`` (nothing happened) or
``OutcomeUnknown`` (ask again by key; the core's idempotency guarantees no double posting).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from vtm.compliance.errors import ComplianceViolation
from vtm.compliance.verdict import Permit, Verdict

__all__ = ["PermitRegistry"]


@dataclass(slots=True)
class _State:
    permit: Permit
    verdict: Verdict
    key: str | None = None
    in_flight: bool = False
    used: bool = False
    retry_ok: bool = False


class PermitRegistry:
    """Thread-safe book of issued permits and their use."""

    def __init__(self) -> None:
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()

    def issue(self, permit: Permit, verdict: Verdict) -> None:
        with self._lock:
            self._states[permit.permit_id] = _State(permit, verdict)

    def begin(
        self,
        permit: Permit | None,
        *,
        session_id: str,
        operation: str,
        params_hash: str,
        idempotency_key: str,
        now: datetime,
    ) -> Verdict:
        """Claim ``permit`` for one core call; raise :class:`ComplianceViolation` unless it fits exactly."""

        def refuse(why: str) -> ComplianceViolation:
            return ComplianceViolation(why, operation=operation, session_id=session_id)

        if permit is None:
            raise refuse("no permit: the gate has not allowed this operation")
        with self._lock:
            state = self._states.get(permit.permit_id)
            if state is None or state.permit != permit:
                raise refuse("permit was not issued by this gate")
            if permit.session_id != session_id:
                raise refuse(f"permit belongs to session {permit.session_id}")
            if permit.operation != operation:
                raise refuse(f"permit is for {permit.operation}, not {operation}")
            if permit.params_hash != params_hash:
                raise refuse("parameters differ from those the gate judged")
            if state.in_flight:
                raise refuse("permit is already in use by a call in progress")
            if state.used:
                raise refuse("permit was already used")
            if state.key is not None:
                if not state.retry_ok or state.key != idempotency_key:
                    raise refuse("permit may only be retried with the idempotency key of its first call")
            elif now > permit.expires_at:
                raise refuse("permit expired: ask the gate again")
            state.key = idempotency_key
            state.in_flight = True
            return state.verdict

    def finish(self, permit_id: str, *, retry_ok: bool) -> None:
        """End a claimed call; ``retry_ok`` keeps the permit for a retry with the same key."""
        with self._lock:
            state = self._states[permit_id]
            state.in_flight = False
            state.retry_ok = retry_ok
            state.used = not retry_ok

    def is_open(self, permit_id: str) -> bool:
        with self._lock:
            state = self._states.get(permit_id)
            return state is not None and not state.used
