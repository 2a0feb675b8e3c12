"""The audit trail: an HMAC-sealed, anchored, append-only chain in the records database.

Modules: :mod:`.log` (writing and reading, :class:`AuditLog`), :mod:`.sealing` (keys and seals),
:mod:`.anchors` (chain heads signed outside the database), :mod:`.verify` (``vtm audit verify``),
:mod:`.tables`, :mod:`.journal_model` (the operation journal's table, whose rows the chain vouches
for), :mod:`.db` (the records database engine), :mod:`.errors`, :mod:`.cli` (``vtm audit``). The
byte form everything is hashed over is :mod:`vtm.common.canonical`. What an insider holding the
database can and cannot do is argued in ``docs/security.md`` ("Audit trail against an insider").

A package of its own below the gate and the records: the gate writes its verdicts here, the
records write through it, and it depends only on :mod:`vtm.common`, :mod:`vtm.config` and
:mod:`vtm.keys` (``lint-imports``, ``pyproject.toml``).
"""

from vtm.audit.anchors import Anchor, AnchorStore
from vtm.audit.errors import AnchorWriteError, AuditError, AuditFormatError, PurgeTooRecent
from vtm.audit.log import AuditEntry, AuditLog, Draft, ReportRecord
from vtm.audit.sealing import AuditKeyring
from vtm.audit.tables import GENESIS_SEAL, audit_metadata
from vtm.audit.verify import Break, ChainReport

__all__ = [
    "GENESIS_SEAL",
    "Anchor",
    "AnchorStore",
    "AnchorWriteError",
    "AuditEntry",
    "AuditError",
    "AuditFormatError",
    "AuditKeyring",
    "AuditLog",
    "Break",
    "ChainReport",
    "Draft",
    "PurgeTooRecent",
    "ReportRecord",
    "audit_metadata",
]
