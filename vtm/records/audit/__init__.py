"""The audit trail: an HMAC-sealed, anchored, append-only chain in the records database.

Modules: :mod:`.log` (writing and reading, :class:`AuditLog`), :mod:`.sealing` (keys and seals),
:mod:`.anchors` (chain heads signed outside the database), :mod:`.verify` (``vtm audit verify``),
:mod:`.tables`, :mod:`.canonical` (the byte form everything is hashed over), :mod:`.errors`,
:mod:`.cli` (``vtm audit``). What an insider holding the database can and cannot do is argued in
``docs/security.md`` ("Audit trail against an insider").
"""

from vtm.records.audit.anchors import Anchor, AnchorStore
from vtm.records.audit.canonical import canonical_json, sha256_hex
from vtm.records.audit.errors import AnchorWriteError, AuditError, AuditFormatError, PurgeTooRecent
from vtm.records.audit.log import AuditEntry, AuditLog, Draft, ReportRecord
from vtm.records.audit.sealing import AuditKeyring
from vtm.records.audit.tables import GENESIS_SEAL, audit_metadata
from vtm.records.audit.verify import Break, ChainReport

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
    "canonical_json",
    "sha256_hex",
]
