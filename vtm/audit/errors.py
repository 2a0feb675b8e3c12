"""The audit package's errors (one root, :class:`AuditError`)::

    AuditError                  the audit log could not be written or read
    ├── AuditFormatError        the database holds a chain in an older format (plain SHA-256)
    ├── AnchorWriteError        the anchor file could not be written (the entry itself is committed)
    └── PurgeTooRecent          a purge cut-off inside the retention period
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

__all__ = ["AnchorWriteError", "AuditError", "AuditFormatError", "PurgeTooRecent"]


class AuditError(Exception):
    """The audit log could not be written or read. ``retry_safe``: an append either committed or did not."""

    retry_safe = False


class AuditFormatError(AuditError):
    """The records database holds an audit chain written by a previous version (no key, plain SHA-256)."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"{url}: the audit chain is in the old format (plain SHA-256, no key), which an insider can "
            "rewrite and this version will not extend. Verify it with the previous release (`vtm audit "
            "verify`), archive the file read-only, then point VTM_RECORDS_DATABASE_URL at a new records "
            "database (docs/security.md, 'Audit trail against an insider')."
        )
        self.url = url


class PurgeTooRecent(AuditError):
    """A purge may drop payloads only of entries older than the retention period."""

    def __init__(self, before: datetime, retention_days: int) -> None:
        super().__init__(
            f"refusing to purge audit payloads up to {before.isoformat()}: inside the retention period "
            f"of {retention_days} days"
        )
        self.before = before
        self.retention_days = retention_days


class AnchorWriteError(AuditError):
    """The chain head could not be appended to the anchor file; entries already appended stay committed.

    Retry-safe: anchoring again writes the then-current head.
    """

    retry_safe = True

    def __init__(self, path: Path, reason: OSError) -> None:
        super().__init__(f"{path}: cannot write the audit anchor ({reason.strerror or reason})")
        self.path = path
