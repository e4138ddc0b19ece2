"""Everything a partner search needs about the stakeholders, held in memory between writes, in columns.

A million profiles must fit beside their vectors, so nothing here is a Python object per profile:
external ids are one fixed-width byte array, kinds one byte each, and the variable-length fields
(countries, places, themes, offers, needs, partners, projects) are pairs of integer arrays (``Ragged``)
over small tables of names. The vectors themselves live only in the FAISS index. A search turns its
few hundred candidates into light :class:`~matcher.rank.Profile` objects (no name, no sentences);
the service reads the full profiles of the k it returns from the database.

Candidates come from three sources, so that a partner the text search would miss can still be found:
the FAISS index (dense), the TF-IDF postings (lexical), and the collaboration graph (partners and
partners of partners of the query's participants).

The TF-IDF part is the slow one to build (minutes at a million profiles), so it is saved beside the
FAISS index with the same content version and loaded at start when current.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer

from api.lexicon import Lexicon
from api import features
from api.features import calibrate  # noqa: F401  (also read from here)
from matcher.ltr import ConsortiumModel
from matcher.meaning import MeaningScale, Usual, pairs_for_fit, reference_rows
from matcher.rank import STALE_AFTER, Place, Profile
from matcher.text import normalise_place

REFERENCE_SIZE = 1_000  # stakeholders whose vectors tell a query's usual similarity (matcher.meaning)
MEANING_QUERIES = 300  # of them asked as queries to fit the map from standing to TF-IDF value


class Ragged:
    """Lists of small integers, one list per row, as two arrays (offsets and values).

    Example:
        >>> r = Ragged.build([[3, 1], [], [2]])
        >>> r[0].tolist(), r[1].tolist(), len(r)
        ([3, 1], [], 3)
    """

    def __init__(self, indptr: np.ndarray, values: np.ndarray) -> None:
        self.indptr = indptr
        self.values = values

    @classmethod
    def build(cls, lists: Iterable[Sequence[int]]) -> "Ragged":
        lengths, flat = [0], []
        for items in lists:
            lengths.append(len(items))
            flat.extend(items)
        return cls(np.cumsum(np.array(lengths, dtype=np.int64)), np.array(flat, dtype=np.int32))

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def __getitem__(self, row: int) -> np.ndarray:
        return self.values[self.indptr[row]:self.indptr[row + 1]]

    def rows_with_any(self, codes: Iterable[int]) -> np.ndarray:
        """A boolean mask of the rows holding at least one of the codes."""
        return self.count_in(codes) > 0

    def count_in(self, codes: Iterable[int]) -> np.ndarray:
        """For each row, how many of its values are among the codes."""
        hit = np.isin(self.values, np.fromiter(codes, dtype=np.int32)).astype(np.int32)
        sums = np.concatenate([[0], np.cumsum(hit)])
        return sums[self.indptr[1:]] - sums[self.indptr[:-1]]

    @property
    def nbytes(self) -> int:
        return int(self.indptr.nbytes + self.values.nbytes)

    def replaced(self, rows: Mapping[int, Sequence[int]], appended: Sequence[Sequence[int]] = ()) -> "Ragged":
        """A new Ragged with these rows' lists replaced and rows appended; this one is not changed.
        Costs a copy of the values (memcpy) and Python work per changed row only."""
        lengths = np.diff(self.indptr)
        lengths = np.concatenate([lengths, np.array([len(a) for a in appended], dtype=np.int64)])
        pieces, previous = [], 0
        for row in sorted(r for r in rows if r < len(self)):
            pieces.append(self.values[self.indptr[previous]:self.indptr[row]])
            pieces.append(np.asarray(rows[row], dtype=np.int32))
            lengths[row] = len(rows[row])
            previous = row + 1
        pieces.append(self.values[self.indptr[previous]:])
        pieces.extend(np.asarray(a, dtype=np.int32) for a in appended)
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return Ragged(indptr, np.concatenate(pieces).astype(np.int32) if pieces else np.zeros(0, dtype=np.int32))

    def bits(self) -> np.ndarray:
        """Each row's values (all below 64) as one 64-bit set."""
        rows = np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.indptr))
        out = np.zeros(len(self), dtype=np.uint64)
        np.bitwise_or.at(out, rows, np.left_shift(np.uint64(1), self.values.astype(np.uint64)))
        return out


class Table:
    """Names to small integer codes, in first-seen order."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.codes: dict[str, int] = {}

    def code(self, name: str) -> int:
        found = self.codes.get(name)
        if found is None:
            found = self.codes[name] = len(self.names)
            self.names.append(name)
        return found

    def known(self, names: Iterable[str]) -> list[int]:
        return [self.codes[n] for n in names if n in self.codes]

    def copy(self) -> "Table":
        out = Table()
        out.names, out.codes = list(self.names), dict(self.codes)
        return out


@dataclass
class ProfileRows:
    """What the builder reads per stakeholder (one database row and its links)."""

    id: int
    external_id: str
    kind: str
    countries: Sequence[str]
    places: Sequence[str]
    themes: Sequence[str]
    offers: Sequence[str]
    needs: Sequence[str]
    confirmed: float = 0.0  # when last confirmed as current, in seconds since 1970 (0: never)


@dataclass
class Corpus:
    ids: np.ndarray  # database ids, ascending: the row order
    external: np.ndarray  # fixed-width bytes, by row
    by_external: np.ndarray  # rows sorted by external id, for lookups
    sorted_external: np.ndarray  # the external ids in that order
    kinds: np.ndarray  # uint8 codes into tables["kind"]
    countries: Ragged
    places: Ragged
    themes: Ragged
    offers: Ragged
    needs: Ragged
    partners: Ragged  # rows
    projects_of: Ragged  # rows of project_vectors
    project_vectors: np.ndarray
    popularity: np.ndarray  # in [0, 1]: log of the number of projects, scaled
    tables: dict[str, Table]
    lexicon: Lexicon = field(default_factory=lambda: Lexicon())  # the TF-IDF postings (api/lexicon.py)
    floor: float = 0.0  # the embedder's cosine for unrelated texts: cosines are rescaled from it
    # Kept by incremental updates (:func:`api.corpus_changes.updated`): rows are never renumbered, a deleted stakeholder's
    # row is dead (empty lists, never admitted); changed or new rows' TF-IDF rows are the lexicon's delta.
    alive: np.ndarray | None = None  # None: every row
    project_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # sorted
    project_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # their vector rows
    changed_rows: int = 0  # rows changed or added since the last full build
    confirmed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))  # see ProfileRows
    # Closeness in meaning (matcher.meaning): a fixed sample of the stakeholders' vectors, and the map from
    # standing to TF-IDF value fitted on their own texts at the full build (kept by incremental updates).
    reference: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    reference_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # their rows
    meaning: MeaningScale | None = None
    _place_keys: list[str] = field(default_factory=list)  # normalised place names, by place code
    _project_reference: np.ndarray | None = None  # the live projects' sample of project_usual, taken on first use
    _bits: dict[str, np.ndarray] = field(default_factory=dict)  # field -> one uint64 bit set per row

    # ---- building ------------------------------------------------------------------------------

    @classmethod
    def build(cls, rows: Sequence[ProfileRows], links: Iterable[tuple[int, int]],
              project_rows: dict[int, int], project_vectors: np.ndarray) -> "Corpus":
        """Columns from the rows (sorted by id); ``links`` are (stakeholder id, project id) pairs and
        ``project_rows`` maps a project id to its row in ``project_vectors``."""
        rows = sorted(rows, key=lambda r: r.id)
        ids = np.array([r.id for r in rows], dtype=np.int64)
        width = max([len(r.external_id.encode()) for r in rows], default=1)
        external = np.array([r.external_id.encode() for r in rows], dtype=f"S{max(1, width)}")
        tables = {name: Table() for name in ("kind", "country", "place", "theme", "resource")}
        kinds = np.array([tables["kind"].code(r.kind) for r in rows], dtype=np.uint8)
        members: dict[int, list[int]] = {}
        own: list[list[int]] = [[] for _ in rows]
        row_of = {int(i): n for n, i in enumerate(ids)}
        for stakeholder, project in links:
            n = row_of.get(stakeholder)
            if n is None:
                continue
            members.setdefault(project, []).append(n)
            if project in project_rows:
                own[n].append(project_rows[project])
        partner_sets: list[set[int]] = [set() for _ in rows]
        for group in members.values():
            for n in group:
                partner_sets[n].update(m for m in group if m != n)
        counts = np.array([len(set(p)) for p in own], dtype=np.float32)
        top = max(1.0, float(counts.max()) if len(counts) else 1.0)
        order = np.argsort(external, kind="stable").astype(np.int32)
        corpus = cls(
            ids=ids, external=external, by_external=order, sorted_external=external[order],
            kinds=kinds,
            countries=Ragged.build([tables["country"].code(c) for c in r.countries] for r in rows),
            places=Ragged.build([tables["place"].code(p) for p in r.places] for r in rows),
            themes=Ragged.build([tables["theme"].code(t) for t in r.themes] for r in rows),
            offers=Ragged.build([tables["resource"].code(o) for o in r.offers] for r in rows),
            needs=Ragged.build([tables["resource"].code(o) for o in r.needs] for r in rows),
            partners=Ragged.build(sorted(p) for p in partner_sets),
            projects_of=Ragged.build(sorted(set(p)) for p in own),
            project_vectors=project_vectors,
            popularity=(np.log1p(counts) / math.log1p(top)).astype(np.float32),
            tables=tables,
        )
        corpus._place_keys = [normalise_place(p) for p in tables["place"].names]
        corpus.confirmed = np.array([r.confirmed for r in rows], dtype=np.float64)
        order_p = sorted(project_rows)
        corpus.project_ids = np.array(order_p, dtype=np.int64)
        corpus.project_at = np.array([project_rows[p] for p in order_p], dtype=np.int64)
        corpus._set_bits()
        return corpus

    def _set_bits(self) -> None:
        self._bits = {}
        for name, table, ragged in (("theme", "theme", self.themes), ("country", "country", self.countries),
                                    ("offer", "resource", self.offers)):
            if len(self.tables[table].names) <= 64:  # filters then test a whole row with one AND
                self._bits[name] = ragged.bits()

    def fit_lexicon(self, texts: Iterable[str]) -> None:
        """The TF-IDF postings of the stakeholders' texts (row order; read once, so a stream will do)."""
        self.lexicon = Lexicon.fit(texts, len(self))

    def save_lexicon(self, directory: Path, version: str) -> None:
        """Save the TF-IDF model and postings atomically, with the content version they stand for."""
        self.lexicon.save(directory, version, len(self))

    def load_lexicon(self, directory: Path, version: str) -> bool:
        """Load saved TF-IDF postings when they stand for this content; False otherwise."""
        loaded = Lexicon.load(directory, version, len(self))
        if loaded is not None:
            self.lexicon = loaded
        return loaded is not None

    def fit_meaning(self, rows: np.ndarray, vectors: np.ndarray, queries: int = MEANING_QUERIES) -> None:
        """Keep these rows' vectors as the reference sample, and fit the map from standing to TF-IDF
        value on up to ``queries`` of them asked against all of them (their own texts, each also with
        itself: the map then reaches up to a text that says all a profile says, as its translation
        does, instead of stopping at the closest other profile). Needs the lexicon; without one, only
        the reference is kept."""
        self.reference = np.asarray(vectors, dtype=np.float32)
        self.reference_rows = np.asarray(rows, dtype=np.int64)
        self.meaning = None
        if self.postings is None or len(rows) < 3:
            return
        asked = reference_rows(len(rows), queries)
        dense = calibrate(self.reference[asked] @ self.reference.T, self.floor)
        texts = self.postings[np.asarray(rows)[asked]].tocsr()
        lexical = (texts @ self.postings[np.asarray(rows)].tocsr().T).toarray()
        z, lex = pairs_for_fit(dense, lexical, list(asked), list(range(len(rows))), with_self=True)
        self.meaning = MeaningScale.fit(z, lex)

    def usual(self, query_vector: np.ndarray) -> Usual:
        """The query's usual similarity to the profiles (the reference sample's, calibrated)."""
        if not len(self.reference):
            return Usual.of(np.zeros(0))
        return Usual.of(calibrate(self.reference @ query_vector, self.floor))

    def project_usual(self, query_vector: np.ndarray) -> Usual:
        """The query's usual similarity to the projects (an even sample of up to :data:`REFERENCE_SIZE`
        of the live projects' vectors, taken once per corpus, calibrated): a project close in meaning
        stands out from it."""
        if self._project_reference is None:
            live = self.project_at[reference_rows(len(self.project_at), REFERENCE_SIZE)]
            self._project_reference = np.ascontiguousarray(self.project_vectors[live], dtype=np.float32)
        if not len(self._project_reference):
            return Usual.of(np.zeros(0))
        return Usual.of(calibrate(self._project_reference @ query_vector, self.floor))

    def lexical_by_meaning(self, usual: Usual, dense: dict[int, float], rows: Sequence[int]) -> dict[int, float]:
        """For a text that shares no words with the profiles (another script): each row's lexical
        value read from its standing (:class:`matcher.meaning.MeaningScale`); 0 without a fitted map."""
        if self.meaning is None or not len(rows):
            return {int(r): 0.0 for r in rows}
        sims = np.array([calibrate(dense.get(r, 0.0), self.floor) for r in rows])
        return {int(r): float(v) for r, v in zip(rows, self.meaning.value(usual.standing(sims)))}

    @property
    def tfidf(self) -> TfidfVectorizer | None:
        return self.lexicon.tfidf

    @property
    def postings(self) -> csc_matrix | None:
        return self.lexicon.postings

    @property
    def lexicon_state(self) -> str:
        return self.lexicon.state

    # ---- lookups -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.ids)

    def key(self, row: int) -> str:
        return "s:" + self.external[row].decode()

    def row_of_key(self, key: str) -> int | None:
        if not key.startswith("s:"):
            return None
        wanted = np.array(key[2:].encode(), dtype=self.external.dtype)
        if len(key[2:].encode()) > self.external.dtype.itemsize:
            return None
        at = int(np.searchsorted(self.sorted_external, wanted))
        if at < len(self.by_external) and self.sorted_external[at] == wanted:
            row = int(self.by_external[at])
            return row if self.alive is None or self.alive[row] else None
        return None

    def rows_of_ids(self, db_ids: Sequence[int]) -> dict[int, int]:
        """Database id -> row, for the ids the corpus holds."""
        wanted = np.asarray(db_ids, dtype=np.int64)
        at = np.searchsorted(self.ids, wanted)
        at = np.minimum(at, max(0, len(self.ids) - 1))
        found = (self.ids[at] == wanted) if len(self.ids) else np.zeros(len(wanted), dtype=bool)
        return {int(i): int(r) for i, r, ok in zip(wanted, at, found) if ok}

    def partner_keys(self, key: str) -> frozenset[str]:
        row = self.row_of_key(key)
        return frozenset() if row is None else frozenset(self.key(int(p)) for p in self.partners[row])

    def profile(self, row: int) -> Profile:
        """A light profile (no name, no sentences): what scoring needs."""
        names = self.tables
        return Profile(
            key=self.key(row), name="", kind=names["kind"].names[int(self.kinds[row])],
            countries=tuple(names["country"].names[c] for c in self.countries[row]),
            places=tuple(Place(names["place"].names[c]) for c in self.places[row]),
            themes=tuple(names["theme"].names[c] for c in self.themes[row]),
            offers=tuple(names["resource"].names[c] for c in self.offers[row]),
            needs=tuple(names["resource"].names[c] for c in self.needs[row]),
            partners=frozenset(self.key(int(p)) for p in self.partners[row]),
            stale=self.stale(row),
        )

    def stale(self, row: int, now: float | None = None) -> bool:
        """Whether the row's profile was last confirmed over :data:`api.freshness.STALE_AFTER` ago."""
        confirmed = float(self.confirmed[row]) if row < len(self.confirmed) else 0.0
        return (now or time.time()) - confirmed > STALE_AFTER.total_seconds()

    def admitted(self, *, countries: Iterable[str] = (), kinds: Iterable[str] = (), themes: Iterable[str] = (),
                 resources: Iterable[str] = (), query_themes: Iterable[str] = (), min_shared_themes: int = 0
                 ) -> np.ndarray:
        """The rows that filters admit (as :meth:`matcher.rank.Filters.admits` would), at once."""
        mask = np.ones(len(self), dtype=bool) if self.alive is None else self.alive.copy()
        if countries := list(countries):
            mask &= self._any("country", self.countries, self.tables["country"].known(countries))
        if kinds := list(kinds):
            mask &= np.isin(self.kinds, self.tables["kind"].known(kinds))
        if themes := list(themes):
            mask &= self._any("theme", self.themes, self.tables["theme"].known(themes))
        if resources := list(resources):
            mask &= self._any("offer", self.offers, self.tables["resource"].known(resources))
        if min_shared_themes:
            codes = self.tables["theme"].known(set(query_themes))
            if "theme" in self._bits:
                shared = np.bitwise_count(self._bits["theme"] & _bit_set(codes))
            else:
                shared = self.themes.count_in(codes)
            mask &= shared >= min_shared_themes
        return np.flatnonzero(mask)

    def _any(self, name: str, ragged: Ragged, codes: list[int]) -> np.ndarray:
        if name in self._bits:
            return (self._bits[name] & _bit_set(codes)) != 0
        return ragged.rows_with_any(codes)

    # ---- signals -------------------------------------------------------------------------------

    def lexical_query(self, text: str) -> csr_matrix | None:
        """A text as a TF-IDF row over the corpus vocabulary (None without a lexical index)."""
        return self.lexicon.query(text)

    def lexical_top(self, query: csr_matrix | None, limit: int, allowed: np.ndarray | None = None,
                    budget: int = 200_000) -> list[int]:
        """The rows with the highest TF-IDF cosine to the query, best first (see :meth:`Lexicon.top`)."""
        return self.lexicon.top(query, len(self), limit, allowed, budget)

    def lexical_scores(self, query: csr_matrix | None, rows: Sequence[int]) -> dict[int, float]:
        """The exact TF-IDF cosine of the query to each of these rows."""
        return self.lexicon.scores(query, rows)

    def graph_candidates(self, query: Profile, limit: int) -> list[int]:
        """The partners of the query's participants, best first by resource allocation (each shared
        partner counts 1/its number of partners), cut at ``limit`` only after that ordering."""
        graph = self.graph(query)
        if graph is None:
            return []
        ra, _, _ = graph
        found = np.flatnonzero(ra > 0)
        if self.alive is not None:
            found = found[self.alive[found]]
        order = np.lexsort((found, -ra[found]))  # best first, ties by row
        return [int(r) for r in found[order][:limit]]

    def graph(self, query: Profile) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """See :func:`api.features.graph`."""
        return features.graph(self, query)

    def features(self, query: Profile, query_vector: np.ndarray, rows: Sequence[int], dense: dict[int, float],
                 lexical: dict[int, float], by_project: np.ndarray | None = None) -> np.ndarray:
        """See :func:`api.features.consortium_features`."""
        return features.consortium_features(self, query, query_vector, rows, dense, lexical, by_project)

    def signals(self, query_vector: np.ndarray, rows: Sequence[int], dense: dict[int, float],
                lexical: dict[int, float], query: Profile | None = None,
                model: ConsortiumModel | None = None,
                usual: Usual | None = None) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        """See :func:`api.features.signals`."""
        return features.signals(self, query_vector, rows, dense, lexical, query, model, usual)

    def upper_bounds(self, query: Profile, rows: Sequence[int]) -> dict[str, dict[str, float]]:
        """See :func:`api.features.upper_bounds`."""
        return features.upper_bounds(self, query, rows)

    @property
    def nbytes(self) -> int:
        """Bytes held by the columns and the postings (not counting the small name tables)."""
        arrays = [self.ids, self.external, self.by_external, self.sorted_external, self.kinds, self.project_vectors,
                  self.popularity]
        raggeds = [self.countries, self.places, self.themes, self.offers, self.needs, self.partners, self.projects_of]
        return sum(a.nbytes for a in arrays) + sum(r.nbytes for r in raggeds) + self.lexicon.nbytes


def _bit_set(codes: Iterable[int]) -> np.uint64:
    out = np.uint64(0)
    for c in codes:
        out |= np.uint64(1) << np.uint64(c)
    return out
