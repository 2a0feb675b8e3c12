"""Face check: separate consent first, then a live capture matched against the ID photo.

PIPL Art. 29 makes a face a sensitive data item needing separate consent, and face recognition
must never be the only way: a customer who refuses is offered ID card + PIN instead (the flow's
job; this device only reports the refusal). Every consent question and answer is recorded.
The bank's pass mark is the core's business (``verify_identity(id, face_score)``); this device
only reports a score and liveness.

:class:`SimulatedFaceCheck` is fed by ``face pass|fail|refuse``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from vtm.devices._clock import Clock, utc_now
from vtm.devices.errors import ConsentRequired, NoFaceCaptured

__all__ = ["ConsentRecord", "FaceCheck", "FaceOutcome", "FaceResult", "SimulatedFaceCheck"]


class FaceOutcome(StrEnum):
    PASS = "pass"  # noqa: S105  # an outcome, not a password
    FAIL = "fail"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class FaceResult:
    score: float  # similarity in [0, 1]; a measurement, not money
    live: bool


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    granted: bool
    at: datetime


@runtime_checkable
class FaceCheck(Protocol):
    def request_consent(self) -> bool:
        """Ask the customer for separate consent to a face check; the answer is recorded."""
        ...

    def capture_and_match(self, photo_id: str) -> FaceResult:
        """Capture a live face and match it with the ID photo; needs the customer's consent."""
        ...


class SimulatedFaceCheck:
    """A camera whose customer's behaviour is scripted.

    Consent lasts for the session (until :meth:`reset`) unless the customer withdraws it: a
    ``refuse`` met at capture time withdraws it, is recorded, and raises ConsentRequired.
    """

    def __init__(self, pass_score: float = 0.93, fail_score: float = 0.31, clock: Clock = utc_now) -> None:
        self._pass_score = pass_score
        self._fail_score = fail_score
        self._clock = clock
        self._scripted: deque[FaceOutcome] = deque()
        self._consented = False
        self.consents: list[ConsentRecord] = []
        self.captures: list[tuple[str, FaceResult]] = []

    def script(self, outcome: FaceOutcome) -> None:
        """What the customer will do at the next face check."""
        self._scripted.append(outcome)

    def request_consent(self) -> bool:
        # No answer (nothing scripted) counts as no consent: the safe default.
        granted = bool(self._scripted) and self._scripted[0] is not FaceOutcome.REFUSE
        if self._scripted and not granted:
            self._scripted.popleft()
        self._consented = granted
        self.consents.append(ConsentRecord(granted, self._clock()))
        return granted

    def capture_and_match(self, photo_id: str) -> FaceResult:
        if not self._consented:
            raise ConsentRequired("a face check needs the customer's consent first")
        if not self._scripted:
            raise NoFaceCaptured("no face in front of the camera")
        outcome = self._scripted.popleft()
        if outcome is FaceOutcome.REFUSE:
            self._consented = False
            self.consents.append(ConsentRecord(False, self._clock()))
            raise ConsentRequired("the customer withdrew consent to the face check")
        score = self._pass_score if outcome is FaceOutcome.PASS else self._fail_score
        result = FaceResult(score=score, live=True)
        self.captures.append((photo_id, result))
        return result

    def reset(self) -> None:
        self._scripted.clear()
        self._consented = False
