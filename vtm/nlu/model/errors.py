"""Errors of the intent model package.

Tree::

    IntentModelError
    ├── ArtifactMissing    no trained model for the current training data (run `vtm nlu train`)
    └── ArtifactCorrupt    a cached artifact cannot be read or does not match its metadata

None is retry-safe: they need an operator (train, prepare) rather than another attempt.
"""

from __future__ import annotations

__all__ = ["ArtifactCorrupt", "ArtifactMissing", "IntentModelError"]


class IntentModelError(Exception):
    retry_safe = False


class ArtifactMissing(IntentModelError):
    """No artifact exists for this training data and configuration."""


class ArtifactCorrupt(IntentModelError):
    """An artifact exists but is unreadable or inconsistent."""
