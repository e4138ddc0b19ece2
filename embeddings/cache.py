"""Vectors of single sentences, embedded in one batch per call and kept for the next (bounded).

The sentence pairs that show why two texts are close in meaning (:mod:`matcher.meaning`) are found
among the few results a search shows: their sentences are embedded when first shown and reused after,
so a second search showing the same profiles embeds nothing."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Sequence

import numpy as np

from embeddings.base import Embedder

SENTENCE_CACHE = 20_000  # sentences kept (384 floats each for the default model: about 30 MB)


class SentenceVectors:
    def __init__(self, embedder: Embedder, capacity: int = SENTENCE_CACHE) -> None:
        if capacity < 1:
            raise ValueError("the sentence cache must hold at least one sentence")
        self.embedder, self.capacity = embedder, capacity
        self._kept: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.embedded = 0  # sentences embedded so far (tests read it)

    def __call__(self, sentences: Sequence[str]) -> np.ndarray:
        """One unit vector per sentence, in order (shape ``(len(sentences), dim)``)."""
        with self._lock:
            missing = [s for s in dict.fromkeys(sentences) if s not in self._kept]
        fresh = self.embedder.embed(missing) if missing else np.zeros((0, self.embedder.dim), dtype=np.float32)
        with self._lock:
            self.embedded += len(missing)
            found = dict(zip(missing, fresh))
            out = []
            late = [s for s in dict.fromkeys(sentences) if s not in found and s not in self._kept]
            if late:  # evicted by another thread since it was looked up: rare, and a handful
                found.update(zip(late, self.embedder.embed(late)))
            for s in sentences:
                v = found[s] if s in found else self._kept[s]
                self._kept[s] = v
                self._kept.move_to_end(s)
                out.append(v)
            while len(self._kept) > self.capacity:
                self._kept.popitem(last=False)
        return np.vstack(out) if out else np.zeros((0, self.embedder.dim), dtype=np.float32)
