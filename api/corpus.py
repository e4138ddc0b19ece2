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

import io
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix, load_npz, save_npz
from sklearn.feature_extraction.text import TfidfVectorizer

from embeddings.index import atomic_write
from matcher.rank import Place, Profile
from matcher.text import normalise_place

LEXICON_FORMAT = 1


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
    tfidf: TfidfVectorizer | None = None
    postings: csc_matrix | None = None  # TF-IDF, documents × terms, by column (an inverted index)
    floor: float = 0.0  # the embedder's cosine for unrelated texts: cosines are rescaled from it
    lexicon_state: str = "none"  # "built", "loaded" or "none"
    # Kept by incremental updates (:meth:`updated`): rows are never renumbered, a deleted stakeholder's
    # row is dead (empty lists, never admitted); changed or new rows' TF-IDF rows live in ``delta``
    # and their rows in the saved ``postings`` (which has ``len(postings)`` rows) no longer count.
    alive: np.ndarray | None = None  # None: every row
    project_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # sorted
    project_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # their vector rows
    stale: np.ndarray | None = None  # rows whose postings row no longer counts
    delta_rows: dict[int, csr_matrix] = field(default_factory=dict)  # row -> its TF-IDF row, 1 x terms
    delta: csr_matrix | None = None  # delta_rows as one matrix, rows x terms
    changed_rows: int = 0  # rows changed or added since the last full build
    _place_keys: list[str] = field(default_factory=list)  # normalised place names, by place code
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

    def updated(self, rows: Sequence[ProfileRows], removed: Iterable[int], *,
                partners: Mapping[int, Iterable[int]], projects: Mapping[int, Iterable[int]],
                project_vectors: Mapping[int, np.ndarray | None], texts: Mapping[int, str]) -> "Corpus | None":
        """A new corpus with these stakeholders' rows written (changed, or new at the end) and the
        ``removed`` stakeholders' rows dead; this one is not changed (requests may be reading it).

        ``partners`` and ``projects`` give each written stakeholder's partners and projects (database
        ids), ``project_vectors`` the new vectors of changed projects (None: deleted), ``texts`` each
        written stakeholder's lexical text: it is turned into TF-IDF terms with the vocabulary and
        weights of the last full build. The cost is a copy of the columns (memcpy) and Python work per
        written row, not per profile. None when rows cannot be appended in id order (a reused id):
        the caller then builds the corpus afresh.
        """
        known = self.rows_of_ids([r.id for r in rows])
        fresh = sorted((r for r in rows if r.id not in known), key=lambda r: r.id)
        if fresh and len(self.ids) and fresh[0].id <= int(self.ids[-1]):
            return None
        n_old, n = len(self), len(self) + len(fresh)
        row_of = {**known, **{r.id: n_old + k for k, r in enumerate(fresh)}}
        dead = {self.rows_of_ids([i]).get(i) for i in removed} - {None}
        tables = {name: t.copy() for name, t in self.tables.items()}

        # project vectors: changed ones appended (old rows are left unused until the next full build)
        p_ids, p_at, p_vectors = self.project_ids, self.project_at, self.project_vectors
        if project_vectors:
            keep = ~np.isin(p_ids, np.fromiter(project_vectors, dtype=np.int64))
            add = sorted(p for p, v in project_vectors.items() if v is not None)
            if add:
                p_vectors = np.vstack([p_vectors, np.stack([project_vectors[p] for p in add])])
            p_ids = np.concatenate([p_ids[keep], np.array(add, dtype=np.int64)])
            p_at = np.concatenate([p_at[keep], np.arange(len(p_vectors) - len(add), len(p_vectors), dtype=np.int64)])
            order = np.argsort(p_ids, kind="stable")
            p_ids, p_at = p_ids[order], p_at[order]

        def vector_rows(project_ids: Iterable[int]) -> list[int]:
            wanted = np.array(sorted(set(project_ids)), dtype=np.int64)
            at = np.minimum(np.searchsorted(p_ids, wanted), max(0, len(p_ids) - 1))
            found = (p_ids[at] == wanted) if len(p_ids) else np.zeros(len(wanted), dtype=bool)
            return sorted(int(v) for v in p_at[at[found]])

        changed = {row_of[r.id]: r for r in rows}
        fields = {
            "countries": lambda r: [tables["country"].code(c) for c in r.countries],
            "places": lambda r: [tables["place"].code(p) for p in r.places],
            "themes": lambda r: [tables["theme"].code(t) for t in r.themes],
            "offers": lambda r: [tables["resource"].code(o) for o in r.offers],
            "needs": lambda r: [tables["resource"].code(o) for o in r.needs],
        }
        columns: dict[str, Ragged] = {}
        for name, codes in fields.items():
            lists = {row: codes(r) for row, r in changed.items()}
            lists.update({row: [] for row in dead})
            columns[name] = getattr(self, name).replaced({r: v for r, v in lists.items() if r < n_old},
                                                         [lists[row] for row in range(n_old, n)])
        alive = np.concatenate([self.alive if self.alive is not None else np.ones(n_old, dtype=bool),
                                np.ones(len(fresh), dtype=bool)])
        alive[list(dead)] = False
        def row_for(stakeholder: int) -> int | None:
            if stakeholder in row_of:
                return row_of[stakeholder]
            found = self.rows_of_ids([stakeholder]).get(stakeholder)
            return found if found is not None and (self.alive is None or self.alive[found]) else None

        partner_lists = {row: sorted({q for p in partners.get(r.id, ()) if (q := row_for(p)) is not None}
                                     - {row} - dead) for row, r in changed.items()}
        partner_lists.update({row: [] for row in dead})
        project_lists = {row: vector_rows(projects.get(r.id, ())) for row, r in changed.items()}
        project_lists.update({row: [] for row in dead})
        partners_col = self.partners.replaced({r: v for r, v in partner_lists.items() if r < n_old},
                                              [partner_lists[row] for row in range(n_old, n)])
        projects_col = self.projects_of.replaced({r: v for r, v in project_lists.items() if r < n_old},
                                                 [project_lists[row] for row in range(n_old, n)])
        kinds = np.concatenate([self.kinds, np.zeros(len(fresh), dtype=np.uint8)])
        for row, r in changed.items():
            kinds[row] = tables["kind"].code(r.kind)
        width = max([self.external.dtype.itemsize] + [len(r.external_id.encode()) for r in fresh])
        external = np.concatenate([self.external.astype(f"S{width}"),
                                   np.array([r.external_id.encode() for r in fresh], dtype=f"S{width}")])
        order = np.argsort(external, kind="stable").astype(np.int32)
        counts = np.diff(projects_col.indptr).astype(np.float32)
        top = max(1.0, float(counts.max()) if len(counts) else 1.0)

        delta_rows = {r: v for r, v in self.delta_rows.items() if r not in dead}
        stale = np.concatenate([self.stale if self.stale is not None else np.zeros(n_old, dtype=bool),
                                np.zeros(len(fresh), dtype=bool)])
        stale[list(dead)] = True
        if self.tfidf is not None and self.postings is not None:
            written = sorted(changed)
            if written:
                matrix = self.tfidf.transform([texts.get(changed[row].id, "") for row in written]).tocsr()
                for k, row in enumerate(written):
                    delta_rows[row] = matrix[k]
            stale[written] = True
        out = Corpus(
            ids=np.concatenate([self.ids, np.array([r.id for r in fresh], dtype=np.int64)]), external=external,
            by_external=order, sorted_external=external[order], kinds=kinds, countries=columns["countries"],
            places=columns["places"], themes=columns["themes"], offers=columns["offers"], needs=columns["needs"],
            partners=partners_col, projects_of=projects_col, project_vectors=p_vectors,
            popularity=(np.log1p(counts) / math.log1p(top)).astype(np.float32), tables=tables, tfidf=self.tfidf,
            postings=self.postings, floor=self.floor, lexicon_state=self.lexicon_state, alive=alive,
            project_ids=p_ids, project_at=p_at, stale=stale, delta_rows=delta_rows,
            changed_rows=self.changed_rows + len(changed) + len(dead))
        out.delta = _stack(delta_rows, n, len(self.tfidf.vocabulary_)) if self.tfidf is not None else None
        out._place_keys = self._place_keys + [normalise_place(p) for p in tables["place"].names[len(self._place_keys):]]
        out._set_bits()
        return out

    def fit_lexicon(self, texts: Iterable[str]) -> None:
        """The TF-IDF postings of the stakeholders' texts (row order; read once, so a stream will do)."""
        self.tfidf, self.postings, self.lexicon_state = None, None, "none"
        if not len(self):
            return
        # Dropping words used by over half the documents helps in a large corpus; in a small one
        # (the seed profiles) it would drop the very words partners share.
        tfidf = TfidfVectorizer(sublinear_tf=True, min_df=1, max_df=0.5 if len(self) >= 200 else 1.0,
                                stop_words="english", ngram_range=(1, 2), max_features=200_000, dtype=np.float32)
        try:
            matrix = tfidf.fit_transform(texts)
        except ValueError:  # no text, or every word is a stop word or too common
            return
        if hasattr(tfidf, "stop_words_"):
            del tfidf.stop_words_  # every pruned term: large, and only kept for introspection
        postings = matrix.tocsc()
        postings.sort_indices()  # rows ascending within each term: lexical_scores searches them
        self.tfidf, self.postings, self.lexicon_state = tfidf, postings, "built"

    def save_lexicon(self, directory: Path, version: str) -> None:
        """Save the TF-IDF model and postings atomically, with the content version they stand for."""
        if self.tfidf is None or self.postings is None:
            return
        directory.mkdir(parents=True, exist_ok=True)
        meta = {"format": LEXICON_FORMAT, "content_version": version, "rows": len(self),
                "params": {k: v for k, v in self.tfidf.get_params().items() if k in _SAVED_PARAMS},
                "vocabulary": {t: int(i) for t, i in self.tfidf.vocabulary_.items()}}
        with tempfile.NamedTemporaryFile(dir=directory, suffix=".npz", delete=False) as f:
            save_npz(f, self.postings.tocsc())
        os.replace(f.name, directory / "lexicon.postings.npz")
        idf = io.BytesIO()
        np.save(idf, self.tfidf.idf_.astype(np.float32))
        atomic_write(directory / "lexicon.idf.npy", idf.getvalue())
        atomic_write(directory / "lexicon.json", json.dumps(meta).encode())  # last: names a complete set

    def load_lexicon(self, directory: Path, version: str) -> bool:
        """Load saved TF-IDF postings when they stand for this content; False otherwise."""
        try:
            meta = json.loads((directory / "lexicon.json").read_text(encoding="utf-8"))
            if meta.get("format") != LEXICON_FORMAT or meta.get("content_version") != version \
                    or meta.get("rows") != len(self):
                return False
            postings = load_npz(directory / "lexicon.postings.npz").tocsc()
            idf = np.load(directory / "lexicon.idf.npy")
        except (OSError, ValueError, KeyError):
            return False
        params = {**meta["params"], "ngram_range": tuple(meta["params"]["ngram_range"])}
        tfidf = TfidfVectorizer(**params, vocabulary=meta["vocabulary"], dtype=np.float32)
        tfidf.fit(["x"])  # sets up the fixed vocabulary; the saved idf replaces the one fitted here
        tfidf.idf_ = idf.astype(np.float64)
        if postings.shape != (len(self), len(meta["vocabulary"])):
            return False
        postings.sort_indices()
        self.tfidf, self.postings, self.lexicon_state = tfidf, postings, "loaded"
        return True

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
        )

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
        if self.tfidf is None or self.postings is None:
            return None
        return self.tfidf.transform([text]).tocsr()

    def lexical_feedback(self, neighbours: Sequence[tuple[str, float]]) -> csr_matrix | None:
        """The lexical query of a text the TF-IDF vocabulary cannot read (Chinese, Korean, Russian...):
        the terms of its nearest profiles in the embedding space stand for its own (pseudo-relevance
        feedback), each text weighted by its similarity, so a query keeps a lexical signal across
        languages."""
        kept = [(t, w) for t, w in neighbours if w > 0 and t.strip()]
        if self.tfidf is None or self.postings is None or not kept:
            return None
        rows = self.tfidf.transform([t for t, _ in kept])
        pseudo = csr_matrix(np.array([w for _, w in kept], dtype=np.float32) @ rows)
        norm = math.sqrt(float(pseudo.multiply(pseudo).sum()))
        return csr_matrix(pseudo / norm) if norm else pseudo

    def lexical_top(self, query: csr_matrix | None, limit: int, allowed: np.ndarray | None = None,
                    budget: int = 200_000) -> list[int]:
        """The rows with the highest TF-IDF cosine to the query (best first), among the ``allowed``
        rows (a boolean mask) when given. Terms are read rarest first until ``budget`` postings: the
        rare terms decide which texts are closest, and a term used by a tenth of a million profiles
        would cost more to read than it tells. Below the budget (every collection of some tens of
        thousands) it is exact; the scores of the rows it returns are computed exactly by
        :meth:`lexical_scores` in any case."""
        if query is None or not query.nnz or self.postings is None:
            return []
        indptr = self.postings.indptr
        lengths = indptr[query.indices + 1] - indptr[query.indices]
        order = np.argsort(lengths, kind="stable")
        spent = np.cumsum(lengths[order])
        keep = order[: max(1, int(np.searchsorted(spent, budget, side="right")))]
        scores = np.asarray(self.postings[:, query.indices[keep]] @ query.data[keep], dtype=np.float32).ravel()
        if len(scores) < len(self) or self.stale is not None:  # rows added or changed since the full build
            scores = np.concatenate([scores, np.zeros(len(self) - len(scores), dtype=np.float32)])
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

    def lexical_scores(self, query: csr_matrix | None, rows: Sequence[int]) -> dict[int, float]:
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

    def graph_candidates(self, query: Profile, limit: int) -> list[int]:
        """Partners of the query's partners, then their partners, by how many links lead to them."""
        counts: dict[int, int] = {}
        direct = []
        for partner in sorted(query.partners | query.partners2):
            row = self.row_of_key(partner)
            if row is not None:
                direct.append(row)
        for partner in query.partners:
            row = self.row_of_key(partner)
            if row is None:
                continue
            for q in self.partners[row]:
                counts[int(q)] = counts.get(int(q), 0) + 2
        for k in query.partners2:
            row = self.row_of_key(k)
            if row is not None:
                counts[row] = counts.get(row, 0) + 1
        if self.alive is not None:
            counts = {r: c for r, c in counts.items() if self.alive[r]}
        ranked = sorted(counts, key=lambda r: (-counts[r], r))
        return list(dict.fromkeys([*direct, *ranked]))[:limit]

    def signals(self, query_vector: np.ndarray, rows: Sequence[int], dense: dict[int, float],
                lexical: dict[int, float]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        """Per candidate key: the calibrated dense similarity (``dense``: cosine by row), and the best
        past-project similarity, lexical similarity and popularity."""
        by_project = self.project_vectors @ query_vector if len(self.project_vectors) else np.zeros(0)
        sims: dict[str, float] = {}
        extra: dict[str, dict[str, float]] = {}
        for r in rows:
            own = self.projects_of[r]
            best = float(by_project[own].max()) if len(own) else 0.0
            key = self.key(r)
            sims[key] = calibrate(dense.get(r, 0.0), self.floor)
            extra[key] = {"past_projects": calibrate(best, self.floor), "lexical": lexical.get(r, 0.0),
                          "popularity": float(self.popularity[r])}
        return sims, extra

    def upper_bounds(self, query: Profile, rows: Sequence[int]) -> dict[str, dict[str, float]]:
        """For each row, the most the profile components can be worth against the query, from the
        columns alone (see :func:`matcher.rank.within_reach`): needs and offers both ways, shared
        themes, countries and places, shared partners."""
        t = self.tables
        q_needs = list(dict.fromkeys(t["resource"].known(query.needs)))
        n_q_needs = len(set(query.needs))
        q_offers = set(t["resource"].known(query.offers))
        q_themes = set(t["theme"].known(query.themes))
        n_q_themes = len(set(query.themes))
        q_countries = set(t["country"].known(query.countries))
        q_places = {normalise_place(p.name) for p in query.places}
        q_partners = {r for key in query.partners if (r := self.row_of_key(key)) is not None}
        out = {}
        for r in rows:
            offers = set(self.offers[r].tolist())
            needs = list(dict.fromkeys(self.needs[r].tolist()))
            forward = sum(n in offers for n in q_needs) / n_q_needs if q_needs else 0.0
            backward = sum(n in q_offers for n in needs) / len(needs) if needs else 0.0
            themes = set(self.themes[r].tolist())
            shared = len(themes & q_themes)
            union = n_q_themes + len(themes) - shared
            places = any(self._place_keys[c] in q_places for c in self.places[r])
            partners = len(q_partners & set(self.partners[r].tolist()))
            out[self.key(r)] = {
                "complementarity": (forward + backward) / 2.0,
                "themes": shared / union if union else 0.0,
                "geography": 0.5 * bool(q_countries & set(self.countries[r].tolist())) + 0.5 * places,
                "network": min(1.0, partners / 3.0),
            }
        return out

    @property
    def nbytes(self) -> int:
        """Bytes held by the columns and the postings (not counting the small name tables)."""
        arrays = [self.ids, self.external, self.by_external, self.sorted_external, self.kinds, self.project_vectors,
                  self.popularity]
        raggeds = [self.countries, self.places, self.themes, self.offers, self.needs, self.partners, self.projects_of]
        postings = 0 if self.postings is None else (self.postings.data.nbytes + self.postings.indices.nbytes
                                                    + self.postings.indptr.nbytes)
        return sum(a.nbytes for a in arrays) + sum(r.nbytes for r in raggeds) + postings


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


def _bit_set(codes: Iterable[int]) -> np.uint64:
    out = np.uint64(0)
    for c in codes:
        out |= np.uint64(1) << np.uint64(c)
    return out


_SAVED_PARAMS = ("sublinear_tf", "min_df", "max_df", "stop_words", "ngram_range", "max_features")


def calibrate(cosine: float, floor: float) -> float:
    """A cosine rescaled so that the embedder's unrelated-text level maps to 0 and identity to 1."""
    return cosine if floor == 0 else (cosine - floor) / (1.0 - floor)
