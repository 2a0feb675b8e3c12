"""Shared by the end-to-end tests: one conversation runner per test process.

A :class:`ConversationRunner` loads the intent model, the e5 encoder and the knowledge base once; every
conversation still runs on its own fresh copy of the sandbox bank, so the modules that play
conversations (scripts, voice, answers in context) share one instead of loading the models each.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vtm.config import load_settings
from vtm.kiosk.testing import ConversationRunner


@pytest.fixture(scope="session")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConversationRunner]:
    import torch

    torch.set_num_threads(1)
    settings = load_settings().model_copy(update={"data_dir": tmp_path_factory.mktemp("conversations")})
    shared = ConversationRunner(settings)
    yield shared
    shared.close()
