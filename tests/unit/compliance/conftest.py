"""Fixtures for the gate tests; the shared builders live in ``compliance_helpers`` (importable by name)."""

from compliance_helpers import ctx, gate, pack

__all__ = ["ctx", "gate", "pack"]
