"""Anchors: the chain head, signed and written outside the records database.

An insider who can rewrite the database can still delete its newest entries (the chain that is
left verifies on its own) or roll it back to an old backup. Every ``N`` entries, when a session
closes and on ``vtm audit anchor``, the kiosk therefore appends one line to
``<anchor folder>/anchors.jsonl``::

    {"count":150,"head_seal":"9f2c…","key_id":"4b1e…","last_seq":150,"mac":"…","ts":"2026-…","v":1}

``mac`` is an HMAC under the audit key (:meth:`AuditKeyring.mac_anchor`). ``vtm audit verify``
checks every anchor against the chain: a chain shorter than an anchor, or a different seal at an
anchored position, is a break. The file is append-only by use (``O_APPEND``, one ``write`` per
line under ``flock``, ``fsync``); in production it belongs on WORM storage or another host
(docs/security.md).
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vtm.audit.errors import AnchorWriteError
from vtm.audit.sealing import AuditKeyring
from vtm.common.canonical import canonical_json

__all__ = ["ANCHOR_FILE", "Anchor", "AnchorProblem", "AnchorStore"]

ANCHOR_FILE = "anchors.jsonl"
_VERSION = 1


@dataclass(frozen=True, slots=True)
class Anchor:
    """One signed statement: "the chain had ``count`` entries, the last ``last_seq`` sealed ``head_seal``"."""

    count: int
    last_seq: int
    head_seal: str
    ts: str
    key_id: str
    line: int = 0

    def signed_fields(self) -> dict[str, Any]:
        return {
            "v": _VERSION,
            "count": self.count,
            "last_seq": self.last_seq,
            "head_seal": self.head_seal,
            "ts": self.ts,
            "key_id": self.key_id,
        }


@dataclass(frozen=True, slots=True)
class AnchorProblem:
    """A line of the anchor file that cannot be trusted."""

    line: int
    problem: str


class AnchorStore:
    """The append-only anchor file in one folder (created 0700, the file 0600)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    @property
    def path(self) -> Path:
        return self._folder / ANCHOR_FILE

    def append(self, keyring: AuditKeyring, *, count: int, last_seq: int, head_seal: str, ts: str) -> Anchor:
        anchor = Anchor(count, last_seq, head_seal, ts, keyring.current_id)
        fields = anchor.signed_fields()
        line = canonical_json({**fields, "mac": keyring.mac_anchor(fields)}) + "\n"
        try:
            self._folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # the kiosk and the review app may anchor at the same moment
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)  # closing releases the lock
        except OSError as exc:
            raise AnchorWriteError(self.path, exc) from exc
        return anchor

    def read(self, keyring: AuditKeyring) -> tuple[list[Anchor], list[AnchorProblem]]:
        """Every anchor whose MAC verifies, and a problem for every line that does not."""
        if not self.path.exists():
            return [], []
        anchors: list[Anchor] = []
        problems: list[AnchorProblem] = []
        with self.path.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                parsed = _parse(text, number, keyring)
                if isinstance(parsed, AnchorProblem):
                    problems.append(parsed)
                else:
                    anchors.append(parsed)
        return anchors, problems


def _parse(text: str, number: int, keyring: AuditKeyring) -> Anchor | AnchorProblem:
    try:
        raw = json.loads(text)
        anchor = Anchor(
            count=int(raw["count"]),
            last_seq=int(raw["last_seq"]),
            head_seal=str(raw["head_seal"]),
            ts=str(raw["ts"]),
            key_id=str(raw["key_id"]),
            line=number,
        )
        mac = str(raw["mac"])
        version = raw["v"]
    except (ValueError, KeyError, TypeError) as exc:
        return AnchorProblem(number, f"not a readable anchor ({type(exc).__name__}: {exc})")
    if version != _VERSION:
        return AnchorProblem(number, f"unknown anchor format version {version!r}")
    if anchor.key_id not in keyring.key_ids:
        return AnchorProblem(number, f"signed with unknown key id {anchor.key_id} (forged, or retired key missing)")
    if not keyring.verify_anchor(anchor.key_id, anchor.signed_fields(), mac):
        return AnchorProblem(number, "MAC does not verify (anchor line edited or forged)")
    return anchor
