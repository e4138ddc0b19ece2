"""Closeness in meaning that reads the same in every language.

A cosine means little on its own: texts of one field are all rather alike, and a text in another
language than the profiles sits lower on the whole than one in theirs. What stands out is how far a
candidate's similarity is above the query's usual similarity to the profiles, in standard deviations
of a fixed reference sample of them (its *standing*). A profile's own translation stands about as far
above the rest as the profile's own words do.

Two uses:
- a text in another script shares no word with the (English) profiles, so it has no TF-IDF value;
  its lexical value is read from its standing, by the monotone map (:class:`MeaningScale`) that the
  stored profiles' own English texts show between standing and TF-IDF cosine;
- a candidate standing :data:`CLOSE_STANDING` deviations or more above the usual is *close in
  meaning*: a reason to show it (with the two sentences that say most nearly the same thing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

# Two standard deviations above the query's usual similarity: about the top 2 % were similarities
# normal. A conventional bar, not tuned on any judged or translated question.
CLOSE_STANDING = 2.0


@dataclass(frozen=True)
class Usual:
    """A query's similarities to the reference sample of profiles (calibrated cosines), summarised."""

    mean: float
    std: float
    ordered: np.ndarray  # the reference similarities, ascending

    @classmethod
    def of(cls, similarities: np.ndarray) -> "Usual":
        """Example:
            >>> u = Usual.of(np.array([0.2, 0.4, 0.3]))
            >>> round(u.standing(0.5), 2), u.closer_than(0.35)
            (2.45, 0.6667)
        """
        s = np.asarray(similarities, dtype=np.float64)
        if not len(s):
            return cls(0.0, 1.0, np.zeros(0))
        return cls(float(s.mean()), max(float(s.std()), 1e-6), np.sort(s))

    def standing(self, similarity: float | np.ndarray) -> float | np.ndarray:
        """How many standard deviations a similarity is above the usual."""
        return (similarity - self.mean) / self.std

    def closer_than(self, similarity: float) -> float:
        """The share of the reference profiles less similar to the query than this."""
        if not len(self.ordered):
            return 0.0
        return round(float(np.searchsorted(self.ordered, similarity, side="left")) / len(self.ordered), 4)


@dataclass(frozen=True)
class MeaningScale:
    """Standing -> the TF-IDF cosine English texts standing that far above the usual have (monotone)."""

    standing: tuple[float, ...]
    lexical: tuple[float, ...]

    @classmethod
    def fit(cls, standing: np.ndarray, lexical: np.ndarray) -> "MeaningScale | None":
        """An isotonic fit of lexical on standing over (query, candidate) pairs of English texts; None
        when there are too few pairs to fit.

        Example:
            >>> scale = MeaningScale.fit(np.array([0., 1., 2., 3.]), np.array([0., .1, .05, .6]))
            >>> [round(float(v), 3) for v in scale.value(np.array([-1., 1.5, 3., 9.]))]
            [0.0, 0.075, 0.6, 0.6]
        """
        from sklearn.isotonic import IsotonicRegression

        if len(standing) < 4:
            return None
        iso = IsotonicRegression(increasing=True, out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(np.asarray(standing, dtype=np.float64), np.asarray(lexical, dtype=np.float64))
        return cls(tuple(float(x) for x in iso.X_thresholds_), tuple(float(y) for y in iso.y_thresholds_))

    def value(self, standing: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(standing, dtype=np.float64), self.standing, self.lexical)


@dataclass(frozen=True)
class Closeness:
    """Why a candidate is close in meaning: its standing, the share of profiles it is closer than, and
    the sentence of each side that says most nearly the same thing (with their calibrated cosine)."""

    standing: float
    closer_than: float
    query_sentence: str = ""
    candidate_sentence: str = ""
    similarity: float = 0.0


def best_pair(query: np.ndarray, candidate: np.ndarray) -> tuple[int, int, float]:
    """The (query sentence, candidate sentence) pair of highest cosine, and that cosine (unit vectors).

    Example:
        >>> best_pair(np.array([[1., 0.], [0., 1.]]), np.array([[0.6, 0.8]]))
        (1, 0, 0.8)
    """
    if not len(query) or not len(candidate):
        raise ValueError("both sides need a sentence")
    sims = np.asarray(query, dtype=np.float64) @ np.asarray(candidate, dtype=np.float64).T
    i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
    return int(i), int(j), round(float(sims[i, j]), 4)


def reference_rows(n: int, size: int) -> np.ndarray:
    """Up to ``size`` rows of ``n`` spread evenly (the reference sample: deterministic, any order).

    Example:
        >>> reference_rows(10, 4).tolist(), reference_rows(3, 4).tolist()
        ([0, 3, 6, 9], [0, 1, 2])
    """
    if n <= size:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, size).round().astype(np.int64))


def pairs_for_fit(dense: np.ndarray, lexical: np.ndarray, query_rows: Sequence[int],
                  reference: Sequence[int], with_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The (standing, lexical) pairs of some profiles asked as queries against the reference sample:
    ``dense`` and ``lexical`` are queries x reference (calibrated cosines, TF-IDF cosines). A
    profile's usual similarity is read without itself; with ``with_self``, its pair with itself (the
    standing and the TF-IDF value of a text that says all the profile says) is kept too, so that the
    map reaches from unrelated texts to the same text, not only to the closest other profile."""
    z, lex = [], []
    ref = np.asarray(reference)
    for n, row in enumerate(query_rows):
        others = ref != row
        usual = Usual.of(dense[n, others])
        kept = np.ones(len(ref), dtype=bool) if with_self else others
        z.append(usual.standing(dense[n, kept]))
        lex.append(lexical[n, kept])
    if not z:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(z), np.concatenate(lex)
