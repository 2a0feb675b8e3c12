"""The intent model: multilingual-e5-small with fine-tuned top layers, a calibrated linear head and
a nearest-neighbour vote over the training examples.

Modules: ``encoder`` (e5 loading and pooling), ``head`` (trainable part), ``bank`` (the example
bank and the fusion), ``train`` (training and calibration), ``artifacts`` (cache on disk),
``classifier`` (run time), ``config``, ``errors``. The method is described in ``docs/nlu.md``.
Importing this package loads nothing heavy; models load when :class:`IntentClassifier` is obtained.
"""

from vtm.nlu.model.classifier import IntentClassifier, IntentPrediction, model_inputs
from vtm.nlu.model.config import CODE_VERSION, TrainConfig
from vtm.nlu.model.errors import ArtifactCorrupt, ArtifactMissing, IntentModelError

__all__ = [
    "CODE_VERSION",
    "ArtifactCorrupt",
    "ArtifactMissing",
    "IntentClassifier",
    "IntentModelError",
    "IntentPrediction",
    "TrainConfig",
    "model_inputs",
]
