"""The knowledge entries a supervisor may name as the right answer, read once from ``knowledge/``.

A correction is checked against the entries the kiosk can answer with now (entries switched off
by a policy flag are not among them), so an exported test case names an entry that
``vtm kb evaluate`` accepts. The content is loaded on first use, not when the app starts: the
knowledge package imports the e5 encoder's libraries, which a review app that never marks an
answer does not need. A load that fails is remembered and reported on every use
(:class:`KnowledgeUnavailable`); fix the content (``vtm kb validate``) and restart the app.

Usage::

    index = LazyKnowledgeIndex.from_content_root(settings.content_root)
    entry = index.get().entry("cards.frozen")     # EntryRef or None
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vtm.knowledge.loader import KnowledgeContent

__all__ = ["EntryRef", "KnowledgeIndex", "KnowledgeUnavailable", "LazyKnowledgeIndex"]


class KnowledgeUnavailable(Exception):
    """The knowledge content could not be loaded; entry ids cannot be checked until it is fixed."""

    retry_safe = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class EntryRef:
    """An entry's id, topic and title: what the review app shows and checks, not the answer."""

    entry_id: str
    topic: str
    title_zh: str
    title_en: str

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_zh


class KnowledgeIndex:
    """The answerable entries by id."""

    def __init__(self, entries: Iterable[EntryRef]) -> None:
        self._entries = {e.entry_id: e for e in sorted(entries, key=lambda e: e.entry_id)}

    @classmethod
    def from_content(cls, content: KnowledgeContent) -> KnowledgeIndex:
        return cls(EntryRef(e.id, e.topic, e.title.zh, e.title.en) for e in content.entries)

    def entry(self, entry_id: str) -> EntryRef | None:
        return self._entries.get(entry_id)

    def entries(self) -> tuple[EntryRef, ...]:
        """Every entry, by id."""
        return tuple(self._entries.values())


class LazyKnowledgeIndex:
    """A :class:`KnowledgeIndex` built by ``load`` on the first :meth:`get`, once (thread-safe)."""

    def __init__(self, load: Callable[[], KnowledgeIndex]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._index: KnowledgeIndex | None = None
        self._failure: KnowledgeUnavailable | None = None

    @classmethod
    def of(cls, index: KnowledgeIndex) -> LazyKnowledgeIndex:
        """An index already built (tests, or a caller that loaded the content itself)."""
        return cls(lambda: index)

    @classmethod
    def from_content_root(cls, content_root: Path) -> LazyKnowledgeIndex:
        """``content_root/knowledge``, validated as the kiosk validates it."""

        def load() -> KnowledgeIndex:
            # Imported on first use: the knowledge package's __init__ imports torch (seconds).
            from vtm.knowledge.errors import KnowledgeContentError
            from vtm.knowledge.loader import load_knowledge

            folder = content_root / "knowledge"
            if not folder.is_dir():
                raise KnowledgeUnavailable(f"no knowledge folder at {folder}")
            try:
                return KnowledgeIndex.from_content(load_knowledge(content_root))
            except KnowledgeContentError as exc:
                raise KnowledgeUnavailable(
                    f"{folder} has {len(exc.problems)} problem(s); run `vtm kb validate`"
                ) from exc

        return cls(load)

    def get(self) -> KnowledgeIndex:
        """The index; raises :class:`KnowledgeUnavailable` (every time) when the content did not load."""
        with self._lock:
            if self._index is None and self._failure is None:
                try:
                    self._index = self._load()
                except KnowledgeUnavailable as exc:
                    self._failure = exc
            if self._failure is not None:
                raise KnowledgeUnavailable(self._failure.reason) from self._failure
            assert self._index is not None
            return self._index
