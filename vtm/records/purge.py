"""Retention: delete audio and personal text of sessions older than the retention period.

For each session that started before the cut-off:

* audio files are deleted from disk and their paths cleared;
* the customer's text, the bot's texts and slot values become :data:`~vtm.records.views.PURGED`;
  the encrypted raw text and device commands are deleted; a device command keeps only its verb
  (``insert_card``), so the timeline still shows what happened;
* the question of a knowledge operation (the customer's words) becomes ``[purged]``, in the turn
  and in any supervisor's mark of that answer (:mod:`vtm.records.answer_marks`);
* intents, states, verdicts (rule ids, reason codes), the rest of the operations and latencies
  stay: they carry no personal data and the dashboard needs them.

The audit chain's payloads older than the cut-off are dropped with
:meth:`~vtm.audit.AuditLog.purge_payloads`, which keeps every seal and records the purge
as an entry of its own, so ``vtm audit verify`` still passes afterwards. A cut-off inside the
retention period is refused (:class:`~vtm.audit.PurgeTooRecent`) before anything is deleted.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update

from vtm.audit import AuditLog
from vtm.records.schema import answer_marks, sessions, turns
from vtm.records.views import PURGED, PurgeReport

__all__ = ["purge_before"]


def _verb(device: str | None) -> str | None:
    if device is None:
        return None
    return device.split(" ", 1)[0]


def _purged_operations(operations_json: str) -> str:
    """The operations with each knowledge question (as said, and as asked with the previous one) replaced
    by :data:`PURGED`."""
    operations = json.loads(operations_json)
    for operation in operations:
        if isinstance(operation, dict) and operation.get("operation") == "knowledge":
            for field in ("question", "asked"):
                if field in operation:
                    operation[field] = PURGED
    return json.dumps(operations, ensure_ascii=False, sort_keys=True)


def purge_before(audit: AuditLog, before: datetime, *, audio_root: Path | None = None) -> PurgeReport:
    """Purge sessions started before ``before`` (in ``audit``'s database); idempotent.

    ``audio_root``, when given, confines deletion: an audio path outside it is cleared in the
    database but the file is left alone (the store never deletes what it does not own).
    """
    audit.check_purge_cutoff(before)
    engine = audit.engine
    root = None if audio_root is None else audio_root.resolve()
    audio_deleted = 0
    turn_count = 0
    now = datetime.now(UTC)
    with engine.begin() as conn:
        ids = [
            r[0]
            for r in conn.execute(
                select(sessions.c.session_id).where(
                    sessions.c.started_at < before, sessions.c.purged_at.is_(None)
                )
            )
        ]
        for session_id in ids:
            rows = conn.execute(
                select(
                    turns.c.id,
                    turns.c.audio_path,
                    turns.c.user_text,
                    turns.c.device,
                    turns.c.slots_json,
                    turns.c.operations_json,
                ).where(turns.c.session_id == session_id)
            ).all()
            for row in rows:
                if row.audio_path:
                    path = Path(row.audio_path).resolve()
                    if (root is None or path.is_relative_to(root)) and path.is_file():
                        path.unlink()
                        audio_deleted += 1
                slots = {name: PURGED for name in json.loads(row.slots_json)}
                conn.execute(
                    update(turns)
                    .where(turns.c.id == row.id)
                    .values(
                        user_text=None if row.user_text is None else PURGED,
                        user_text_enc=None,
                        device=_verb(row.device),
                        device_enc=None,
                        audio_path=None,
                        bot_json=json.dumps([{"key": "", "text": PURGED, "interruptible": True}]),
                        slots_json=json.dumps(slots, ensure_ascii=False),
                        operations_json=_purged_operations(row.operations_json),
                    )
                )
                turn_count += 1
            conn.execute(
                update(answer_marks).where(answer_marks.c.session_id == session_id).values(question=PURGED)
            )
            conn.execute(update(sessions).where(sessions.c.session_id == session_id).values(purged_at=now))
    payloads = audit.purge_payloads(before)
    return PurgeReport(
        sessions=len(ids), turns=turn_count, audio_files=audio_deleted, audit_payloads=payloads
    )
