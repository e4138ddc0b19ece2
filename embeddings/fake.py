"""A deterministic, dependency-free embedder for fast tests.

Each word (lower-cased, accents kept) and each word pair is hashed into one of ``dim`` buckets with a
stable hash, so texts that share words get similar vectors and the same text always gets the same
vector, on every machine and every run.
"""

from __future__ import annotations

import hashlib
import re
from typing import Sequence

import numpy as np

from embeddings.base import normalise

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset("a an and the of in on for to with by from at as is are was were be its it this that".split())


class FakeEmbedder:
    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.model_id = f"fake-hash-{dim}"
        self.calls = 0  # texts embedded so far: tests use it to prove nothing was embedded twice

    def _bucket(self, token: str) -> tuple[int, float]:
        digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self.dim, 1.0 if (value >> 32) & 1 else -1.0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = [w for w in _WORD.findall(text.lower()) if w not in _STOP]
            for token in words + [f"{a} {b}" for a, b in zip(words, words[1:])]:
                bucket, sign = self._bucket(token)
                out[row, bucket] += sign
            if not words:
                bucket, sign = self._bucket("\0empty")
                out[row, bucket] = sign
        return normalise(out)
