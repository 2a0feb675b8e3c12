"""Fixtures for the gate tests; the shared builders live in ``compliance_helpers`` (importable by name)."""

from compliance_helpers import ctx, embedder, gate, pack

__all__ = ["ctx", "embedder", "gate", "pack"]
