"""Vectors shared between the evaluation databases: the cut-offs hold mostly the same texts (a
project's text does not change with the cut-off), so each text is embedded once for all of them."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Sequence

import numpy as np

from embeddings.base import Embedder
from embeddings.texts import text_hash


class SharedVectors:
    """An embedder that first looks a text up among the vectors stored in the evaluation databases
    of a cache folder (by the hash of the text and the model), and embeds only the rest."""

    def __init__(self, embedder: Embedder, cache: Path) -> None:
        self.inner = embedder
        self.model_id, self.dim = embedder.model_id, embedder.dim
        floor = getattr(embedder, "similarity_floor", None)
        if floor is not None:
            self.similarity_floor = floor
        self.known: dict[str, np.ndarray] = {}
        self.hits = 0
        self.extra = Path(cache) / f"query-vectors-{_safe(self.model_id)}.npz"  # texts no database holds
        self.fresh: dict[str, np.ndarray] = {}
        if self.extra.exists():
            with np.load(self.extra) as saved:
                self.known.update(zip(saved["hashes"].tolist(), saved["vectors"]))
        for db in sorted(Path(cache).glob("cordis-*.db")):
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                    for digest, blob in conn.execute("SELECT text_hash, vector FROM embedding WHERE model_id = ?",
                                                     (self.model_id,)):
                        self.known.setdefault(digest, np.frombuffer(blob, dtype=np.float32))
            except sqlite3.Error:
                continue  # a database being written, or of an older layout: embed instead

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        digests = [text_hash(t) for t in texts]
        missing = [n for n, d in enumerate(digests) if d not in self.known]
        if missing:
            fresh = self.inner.embed([texts[n] for n in missing])
            for n, v in zip(missing, fresh):
                self.known[digests[n]] = self.fresh[digests[n]] = np.asarray(v, dtype=np.float32)
        self.hits += len(texts) - len(missing)
        return np.array([self.known[d] for d in digests], dtype=np.float32).reshape(len(texts), self.dim)

    def save(self) -> None:
        """Keep the vectors embedded here that no database holds (the query texts) for the next run."""
        if not self.fresh:
            return
        saved: dict[str, np.ndarray] = {}
        if self.extra.exists():
            with np.load(self.extra) as old:
                saved.update(zip(old["hashes"].tolist(), old["vectors"]))
        saved.update(self.fresh)
        self.extra.parent.mkdir(parents=True, exist_ok=True)
        partial = self.extra.with_suffix(".partial.npz")
        np.savez(partial, hashes=np.array(list(saved)), vectors=np.array(list(saved.values()), dtype=np.float32))
        partial.replace(self.extra)
        self.fresh = {}


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name)
