"""Suite-wide set-up: every test shares the models prepared by `vtm models prepare`.

Tests run on temporary data directories; without this, each would look for models inside its own
data directory and the NLU would be retrained. `VTM_MODELS_DIR` set by the caller wins.
"""

from __future__ import annotations

import os

import platformdirs


def pytest_configure() -> None:
    default = os.path.join(platformdirs.user_data_dir("vtm", appauthor=False), "models")
    os.environ.setdefault("VTM_MODELS_DIR", default)
