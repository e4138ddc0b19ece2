"""The lexical signal: TF-IDF postings of the stakeholders' texts (an inverted index by term), saved
beside the FAISS index and loaded at start when current. After incremental corpus updates, the rows of
changed texts are in a small delta (weighted with the last full build's vocabulary and idf) and their
rows in the saved postings no longer count."""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix, load_npz, save_npz
from sklearn.feature_extraction.text import TfidfVectorizer

from embeddings.index import atomic_write

LEXICON_FORMAT = 2  # 2: files named by the save that wrote them
WORDS_SHOWN = 4  # the words in common shown with a result at most
_SAVED_PARAMS = ("sublinear_tf", "min_df", "max_df", "stop_words", "ngram_range", "max_features")


@dataclass
class Lexicon:
    tfidf: TfidfVectorizer | None = None
    postings: csc_matrix | None = None  # TF-IDF, documents x terms, by column (an inverted index)
    state: str = "none"  # "built", "loaded" or "none"
    stale: np.ndarray | None = None  # rows whose postings row no longer counts
    delta_rows: dict[int, csr_matrix] = field(default_factory=dict)  # row -> its TF-IDF row, 1 x terms
    delta: csr_matrix | None = None  # delta_rows as one matrix, rows x terms
    _names: np.ndarray | None = field(default=None, repr=False, compare=False)  # term of each column, on first use

    @classmethod
    def fit(cls, texts: Iterable[str], n: int) -> "Lexicon":
        """The TF-IDF postings of the ``n`` stakeholders' texts (row order; read once, so a stream will do)."""
        if not n:
            return cls()
        # Dropping words used by over half the documents helps in a large corpus; in a small one
        # (the seed profiles) it would drop the very words partners share.
        tfidf = TfidfVectorizer(sublinear_tf=True, min_df=1, max_df=0.5 if n >= 200 else 1.0,
                                stop_words="english", ngram_range=(1, 2), max_features=200_000, dtype=np.float32)
        try:
            matrix = tfidf.fit_transform(texts)
        except ValueError:  # no text, or every word is a stop word or too common
            return cls()
        if hasattr(tfidf, "stop_words_"):
            del tfidf.stop_words_  # every pruned term: large, and only kept for introspection
        postings = matrix.tocsc()
        postings.sort_indices()  # rows ascending within each term: lexical_scores searches them
        return cls(tfidf, postings, "built")

    def save(self, directory: Path, version: str, n: int) -> None:
        """Save the TF-IDF model and postings atomically, with the content version they stand for.

        Each save writes files of its own (named by a stamp) and then the one ``lexicon.json`` that names
        them, so two processes saving at once (workers sharing an index folder) never mix their files."""
        if self.tfidf is None or self.postings is None:
            return
        directory.mkdir(parents=True, exist_ok=True)
        stamp = uuid.uuid4().hex[:16]
        names = {"postings": f"lexicon.{stamp}.postings.npz", "idf": f"lexicon.{stamp}.idf.npy"}
        meta = {"format": LEXICON_FORMAT, "content_version": version, "rows": n, "files": names,
                "params": {k: v for k, v in self.tfidf.get_params().items() if k in _SAVED_PARAMS},
                "vocabulary": {t: int(i) for t, i in self.tfidf.vocabulary_.items()}}
        with tempfile.NamedTemporaryFile(dir=directory, suffix=".npz", delete=False) as f:
            save_npz(f, self.postings.tocsc())
        os.replace(f.name, directory / names["postings"])
        idf = io.BytesIO()
        np.save(idf, self.tfidf.idf_.astype(np.float32))
        atomic_write(directory / names["idf"], idf.getvalue())
        atomic_write(directory / "lexicon.json", json.dumps(meta).encode())  # last: names a complete set
        for old in directory.glob("lexicon.*.*"):  # earlier saves' files (a reader has its own copy in memory)
            if old.name not in names.values() and old.suffix in (".npz", ".npy") and \
                    time.time() - old.stat().st_mtime > 60:
                old.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: Path, version: str, n: int) -> "Lexicon | None":
        """The saved TF-IDF postings when they stand for this content and its ``n`` rows; None otherwise."""
        try:
            meta = json.loads((directory / "lexicon.json").read_text(encoding="utf-8"))
            if meta.get("format") != LEXICON_FORMAT or meta.get("content_version") != version \
                    or meta.get("rows") != n:
                return None
            postings = load_npz(directory / meta["files"]["postings"]).tocsc()
            idf = np.load(directory / meta["files"]["idf"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        params = {**meta["params"], "ngram_range": tuple(meta["params"]["ngram_range"])}
        tfidf = TfidfVectorizer(**params, vocabulary=meta["vocabulary"], dtype=np.float32)
        tfidf.fit(["x"])  # sets up the fixed vocabulary; the saved idf replaces the one fitted here
        tfidf.idf_ = idf.astype(np.float64)
        if postings.shape != (n, len(meta["vocabulary"])):
            return None
        postings.sort_indices()
        return cls(tfidf, postings, "loaded")

    def with_rows(self, texts: Mapping[int, str], dead: Iterable[int], n: int) -> "Lexicon":
        """A new lexicon for ``n`` rows where the rows in ``texts`` have these texts (their terms weighted
        with this lexicon's vocabulary and idf) and the ``dead`` rows none; this one is not changed."""
        if self.tfidf is None or self.postings is None:
            return self
        dead = set(dead)
        delta_rows = {r: v for r, v in self.delta_rows.items() if r not in dead}
        old = len(self.stale) if self.stale is not None else self.postings.shape[0]
        stale = np.concatenate([self.stale if self.stale is not None else np.zeros(old, dtype=bool),
                                np.zeros(n - old, dtype=bool)])
        stale[list(dead)] = True
        written = sorted(texts)
        if written:
            matrix = self.tfidf.transform([texts[row] for row in written]).tocsr()
            for k, row in enumerate(written):
                delta_rows[row] = matrix[k]
            stale[written] = True
        return Lexicon(self.tfidf, self.postings, self.state, stale, delta_rows,
                       _stack(delta_rows, n, len(self.tfidf.vocabulary_)), self._names)

    @property
    def nbytes(self) -> int:
        if self.postings is None:
            return 0
        return int(self.postings.data.nbytes + self.postings.indices.nbytes + self.postings.indptr.nbytes)

    def query(self, text: str) -> csr_matrix | None:
        """A text as a TF-IDF row over the corpus vocabulary (None without a lexical index)."""
        if self.tfidf is None or self.postings is None:
            return None
        return self.tfidf.transform([text]).tocsr()

    def text_scores(self, query: csr_matrix | None, texts: Sequence[str]) -> list[float]:
        """The TF-IDF cosine of the query to each of these texts, weighted with this lexicon's vocabulary
        and idf (texts that are not rows of it: the projects'); 0 each without a lexical index."""
        if query is None or not query.nnz or self.tfidf is None or not texts:
            return [0.0] * len(texts)
        matrix = self.tfidf.transform(list(texts)).tocsr()
        return [float(v) for v in np.asarray((matrix @ query.T).toarray(), dtype=np.float64).ravel()]

    def words_of_row(self, query: csr_matrix | None, row: int, most: int = WORDS_SHOWN) -> tuple[str, ...]:
        """The terms of the query this row's text holds, those that weigh most in their cosine first."""
        if query is None or not query.nnz or self.postings is None:
            return ()
        if row in self.delta_rows:
            return self._words(query, self.delta_rows[row], most)
        if row >= self.postings.shape[0] or (self.stale is not None and self.stale[row]):
            return ()
        indptr, indices, data = self.postings.indptr, self.postings.indices, self.postings.data
        weights = {}
        for term, weight in zip(query.indices, query.data):
            a, b = int(indptr[term]), int(indptr[term + 1])
            at = a + int(np.searchsorted(indices[a:b], row))
            if at < b and indices[at] == row:
                weights[int(term)] = float(weight) * float(data[at])
        return self._named(weights, most)

    def words_of_text(self, query: csr_matrix | None, text: str, most: int = WORDS_SHOWN) -> tuple[str, ...]:
        """The terms of the query this text holds (a text that is not a row: a project's), weightiest first."""
        if query is None or not query.nnz or self.tfidf is None:
            return ()
        return self._words(query, self.tfidf.transform([text]).tocsr(), most)

    def _words(self, query: csr_matrix, other: csr_matrix, most: int) -> tuple[str, ...]:
        theirs = dict(zip(other.indices.tolist(), other.data.tolist()))
        return self._named({int(t): float(w) * theirs[int(t)] for t, w in zip(query.indices, query.data)
                            if int(t) in theirs}, most)

    def _named(self, weights: dict[int, float], most: int) -> tuple[str, ...]:
        """The terms of the weightiest columns, a word left out when a pair of words shown holds it."""
        if not weights or self.tfidf is None:
            return ()
        if self._names is None:
            names = np.empty(len(self.tfidf.vocabulary_), dtype=object)
            for term, column in self.tfidf.vocabulary_.items():
                names[column] = term
            self._names = names
        chosen: list[str] = []
        for term in (str(self._names[t]) for t in sorted(weights, key=lambda t: (-weights[t], t))):
            parts = term.split()
            if len(parts) == 1 and any(term in c.split() for c in chosen):
                continue  # already shown within a pair of words
            at = next((i for i, c in enumerate(chosen) if c in parts), len(chosen))
            chosen = [c for c in chosen[:at] if c not in parts] + [term] + [c for c in chosen[at:] if c not in parts]
            if len(chosen) >= most:
                break
        return tuple(chosen)

    def top(self, query: csr_matrix | None, n: int, limit: int, allowed: np.ndarray | None = None,
                    budget: int = 200_000) -> list[int]:
        """The rows with the highest TF-IDF cosine to the query (best first), among the ``allowed``
        rows (a boolean mask over the ``n`` rows) when given. Terms are read rarest first until ``budget`` postings: the
        rare terms decide which texts are closest, and a term used by a tenth of a million profiles
        would cost more to read than it tells. Below the budget (every collection of some tens of
        thousands) it is exact; the scores of the rows it returns are computed exactly by
        :meth:`scores` in any case."""
        if query is None or not query.nnz or self.postings is None:
            return []
        indptr = self.postings.indptr
        lengths = indptr[query.indices + 1] - indptr[query.indices]
        order = np.argsort(lengths, kind="stable")
        spent = np.cumsum(lengths[order])
        keep = order[: max(1, int(np.searchsorted(spent, budget, side="right")))]
        scores = np.asarray(self.postings[:, query.indices[keep]] @ query.data[keep], dtype=np.float32).ravel()
        if len(scores) < n or self.stale is not None:  # rows added or changed since the full build
            scores = np.concatenate([scores, np.zeros(n - len(scores), dtype=np.float32)])
            if self.stale is not None:
                scores[self.stale] = 0.0
            if self.delta is not None and self.delta.nnz:
                scores += np.asarray(self.delta[:, query.indices] @ query.data, dtype=np.float32).ravel()
        if allowed is not None:
            scores[~allowed] = 0.0
        positive = np.flatnonzero(scores > 0)
        if len(positive) > limit:  # the top ones only, without sorting every profile
            positive = positive[np.argpartition(-scores[positive], limit - 1)[:limit]]
        return [int(r) for r in positive[np.lexsort((positive, -scores[positive]))]]

    def scores(self, query: csr_matrix | None, rows: Sequence[int]) -> dict[int, float]:
        """The exact TF-IDF cosine of the query to each of these rows, read from the postings of the
        query's terms (each a sorted list of rows: a binary search per term)."""
        out = {int(r): 0.0 for r in rows}
        if query is None or not query.nnz or self.postings is None or not out:
            return out
        wanted = np.array(sorted(out), dtype=np.int64)
        total = np.zeros(len(wanted), dtype=np.float64)
        if self.delta is not None and self.delta.nnz:
            total += np.asarray(self.delta[wanted][:, query.indices] @ query.data, dtype=np.float64).ravel()
        if self.stale is not None:  # the postings of changed rows, and of rows past them, no longer count
            counted = wanted < self.postings.shape[0]
            counted[counted] &= ~self.stale[wanted[counted]]
        else:
            counted = np.ones(len(wanted), dtype=bool)
        indptr, indices, data = self.postings.indptr, self.postings.indices, self.postings.data
        for term, weight in zip(query.indices, query.data):
            a, b = int(indptr[term]), int(indptr[term + 1])
            if a == b:
                continue
            at = np.minimum(np.searchsorted(indices[a:b], wanted), b - a - 1)
            hit = (indices[a + at] == wanted) & counted
            total[hit] += float(weight) * data[a + at[hit]]
        return {int(r): float(v) for r, v in zip(wanted, total.astype(np.float32))}


def _stack(rows: Mapping[int, csr_matrix], n: int, terms: int) -> csr_matrix:
    """Single TF-IDF rows placed at their row numbers in an n x terms matrix."""
    if not rows:
        return csr_matrix((n, terms), dtype=np.float32)
    order = sorted(rows)
    parts = [rows[r] for r in order]
    data = np.concatenate([p.data for p in parts]).astype(np.float32)
    indices = np.concatenate([p.indices for p in parts])
    lengths = np.zeros(n, dtype=np.int64)
    lengths[order] = [p.nnz for p in parts]
    return csr_matrix((data, indices, np.concatenate([[0], np.cumsum(lengths)])), shape=(n, terms))
