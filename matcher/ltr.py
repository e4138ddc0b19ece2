"""The learned consortium score: how likely a candidate is to join a consortium, from what it did.

A LightGBM LambdaMART model (``dldmatch train``) ranks a query's candidates on features the
collaboration data can teach: the text's similarity to each past project of the candidate, its
TF-IDF overlap, the collaboration graph around the query's participants, its degree, and country and
kind fit. Its raw score is mapped to [0, 1] by a logistic fitted on a later year than the one the
model learned from, so that it can stand beside the profile components (themes, needs and offers,
places, intent) in :mod:`matcher.rank`.

Pure apart from reading the model file: feature values in, a value per candidate and each feature's
part of it out.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FEATURES = (
    "semantic",  # calibrated cosine of the query text to the candidate's own vector
    "past_best",  # the best calibrated cosine to one of the candidate's past projects
    "past_top3",  # the mean of its three best
    "lexical",  # TF-IDF cosine of the query text to everything the candidate did
    "graph_ra",  # resource allocation from the query's participants: the sum of 1/degree over shared partners
    "graph_shared",  # share of the query's participants the candidate worked with
    "graph_second",  # partners of the query's partners among its own partners (log-scaled)
    "degree",  # how many partners it has had (log-scaled)
    "projects",  # how many projects it took part in (log-scaled)
    "country_fit",  # it is in one of the query's countries
    "kind_fit",  # how well its kind complements the query's
)

@dataclass(frozen=True)
class ConsortiumModel:
    """A trained LambdaMART model and the logistic that maps its score to [0, 1]."""

    booster: Any  # lightgbm.Booster
    scale: float
    shift: float
    features: tuple[str, ...] = FEATURES
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "ConsortiumModel":
        """The model file written by ``dldmatch train`` (JSON: the LightGBM model as text, its
        features, the data it learned from and its metrics)."""
        import lightgbm

        data = json.loads(Path(path).read_text())
        features = tuple(data["features"])
        unknown = set(features) - set(FEATURES)
        if unknown:
            raise ValueError(f"{path}: the model uses features this version does not compute: {sorted(unknown)}")
        booster = lightgbm.Booster(model_str=data["model"])
        return cls(booster=booster, scale=float(data["calibration"]["scale"]),
                   shift=float(data["calibration"]["shift"]), features=features,
                   meta={k: v for k, v in data.items() if k != "model"})

    def raw(self, matrix: np.ndarray) -> np.ndarray:
        """The LambdaMART scores of rows of feature values (columns in :data:`FEATURES` order)."""
        if not len(matrix):
            return np.zeros(0)
        return np.asarray(self.booster.predict(self._columns(matrix), num_threads=1), dtype=np.float64)

    def value(self, matrix: np.ndarray) -> np.ndarray:
        """The consortium value in [0, 1] of each row."""
        return _logistic(self.scale * self.raw(matrix) + self.shift)

    def parts(self, row: np.ndarray) -> dict[str, float]:
        """How much each feature moved one candidate's value from the value of a typical candidate
        (LightGBM's per-feature contributions, carried through the logistic in proportion)."""
        contrib = np.asarray(self.booster.predict(self._columns(row[None, :]), pred_contrib=True, num_threads=1))[0]
        base = _logistic(self.scale * contrib[-1] + self.shift)
        total = _logistic(self.scale * contrib.sum() + self.shift) - base
        moved = self.scale * contrib[:-1]
        spread = float(np.abs(moved).sum()) or 1.0
        return {name: float(total * abs(m) / spread * (1 if m * total >= 0 else -1))
                for name, m in zip(self.features, moved)}

    def _columns(self, matrix: np.ndarray) -> np.ndarray:
        if self.features == FEATURES:
            return matrix
        at = [FEATURES.index(f) for f in self.features]
        return matrix[:, at]


def _logistic(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50))) if isinstance(x, np.ndarray) else 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))

