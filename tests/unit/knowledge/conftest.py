"""Fixtures: a writable copy of the content root, and the in-memory encoder of ``knowledge_helpers``.

``content_copy`` holds exactly what the knowledge base reads (knowledge/, compliance/,
transactions/, dialogs/dialog.yaml), so a test can break or change one file and load the rest
as shipped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from knowledge_helpers import ROOT, CharEncoder


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    for folder in ("knowledge", "compliance", "transactions"):
        shutil.copytree(ROOT / folder, root / folder)
    (root / "dialogs").mkdir(parents=True)
    shutil.copy(ROOT / "dialogs" / "dialog.yaml", root / "dialogs" / "dialog.yaml")
    return root


@pytest.fixture
def char_encoder() -> CharEncoder:
    return CharEncoder()

