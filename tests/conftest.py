"""Suite-wide set-up: shared prepared models, and hypothesis without per-example deadlines.

Every test shares the models prepared by `vtm models prepare`.

Tests run on temporary data directories; without this, each would look for models inside its own
data directory and the NLU would be retrained. `VTM_MODELS_DIR` set by the caller wins.
"""

from __future__ import annotations

import os

import platformdirs
from hypothesis import settings

# Property tests judge correctness, not speed (speed is measured in bench/): no per-example
# deadline, so a loaded 2-core CI machine cannot turn a slow example into a failure.
settings.register_profile("vtm", deadline=None)
settings.load_profile("vtm")


def pytest_configure() -> None:
    default = os.path.join(platformdirs.user_data_dir("vtm", appauthor=False), "models")
    os.environ.setdefault("VTM_MODELS_DIR", default)
