"""Is a newly submitted organisation probably one already stored? Pure: names and vectors in, pairs out."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

NAME_THRESHOLD = 0.88
DESCRIPTION_THRESHOLD = 0.95
_GENERIC = {"the", "of", "and", "for", "co", "ltd", "inc", "llc", "group", "organisation", "organization"}


@dataclass(frozen=True)
class Candidate:
    key: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Duplicate:
    new: str
    existing: str
    reason: str  # "name" or "description"
    similarity: float


def normalise_name(name: str) -> str:
    """Lower case, accents and punctuation removed, generic words dropped: "The Elion Group, Ltd." → "elion"."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    words = [w for w in re.split(r"[^\w]+", text) if w and w not in _GENERIC]
    return " ".join(words)


def name_similarity(a: Candidate, b: Candidate) -> float:
    """Best similarity between any name or alias of one and any of the other, in [0, 1]."""
    best = 0.0
    for x in (a.name, *a.aliases):
        for y in (b.name, *b.aliases):
            nx, ny = normalise_name(x), normalise_name(y)
            if not nx or not ny:
                continue
            best = max(best, 1.0 if nx == ny else SequenceMatcher(None, nx, ny).ratio())
    return best


def find_duplicates(
    new: list[Candidate],
    existing: list[Candidate],
    *,
    new_vectors: np.ndarray | None = None,
    existing_vectors: np.ndarray | None = None,
    name_threshold: float = NAME_THRESHOLD,
    description_threshold: float = DESCRIPTION_THRESHOLD,
) -> list[Duplicate]:
    """For each new organisation, the stored one it most probably is, if any.

    A similar name (or alias) is the first test; a near-identical description (cosine of the
    description vectors, when given, rows aligned with ``new`` and ``existing``) the second.
    """
    out: list[Duplicate] = []
    sims = None
    if new_vectors is not None and existing_vectors is not None and len(existing):
        sims = np.asarray(new_vectors) @ np.asarray(existing_vectors).T
    for i, cand in enumerate(new):
        best: Duplicate | None = None
        for j, old in enumerate(existing):
            score = name_similarity(cand, old)
            if score >= name_threshold and (best is None or score > best.similarity):
                best = Duplicate(cand.key, old.key, "name", round(score, 3))
        if best is None and sims is not None:
            j = int(np.argmax(sims[i]))
            if sims[i, j] >= description_threshold:
                best = Duplicate(cand.key, existing[j].key, "description", round(float(sims[i, j]), 3))
        if best is not None:
            out.append(best)
    return out
