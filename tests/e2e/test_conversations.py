"""Every conversation test in ``dialogs/tests`` (both languages), one pytest case per file.

One :class:`ConversationRunner` (one NLU model, one seeded bank template per day; the ``runner``
fixture of ``tests/e2e/conftest.py``) is shared by all cases; each conversation still runs on its
own fresh copy of the sandbox bank. Needs the prepared models (``VTM_MODELS_DIR``, see ``vtm models
prepare``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vtm.kiosk.testing import ConversationRunner, discover

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CONVERSATIONS = discover([ROOT / "dialogs" / "tests"])


def test_the_conversation_corpus_is_large_enough() -> None:
    assert len(CONVERSATIONS) >= 100, f"issue 5 asks for at least 100 conversations, found {len(CONVERSATIONS)}"


@pytest.mark.parametrize("path", CONVERSATIONS, ids=[str(p.relative_to(ROOT / "dialogs" / "tests"))
                                                     for p in CONVERSATIONS])
def test_conversation(runner: ConversationRunner, path: Path) -> None:
    result = runner.run(path)
    assert result.passed, "\n".join(result.failures)
