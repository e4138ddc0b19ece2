"""A corpus updated from changed rows only: what a catch-up publishes between full builds.

Rows are never renumbered: changed stakeholders' rows are rewritten, new ones appended (ids grow),
deleted ones made dead. The cost is a copy of the columns (memcpy) and Python work per written row,
not per profile; a full build (``Corpus.build``) follows once many rows changed.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np

from api.corpus import Corpus, ProfileRows, Ragged
from matcher.text import normalise_place


def updated(corpus: Corpus, rows: Sequence[ProfileRows], removed: Iterable[int], *,
            partners: Mapping[int, Iterable[int]], projects: Mapping[int, Iterable[int]],
            project_vectors: Mapping[int, np.ndarray | None], texts: Mapping[int, str]) -> Corpus | None:
    """A new corpus from ``corpus`` with these stakeholders' rows written (changed, or new at the end) and the
    ``removed`` stakeholders' rows dead; that one is not changed (requests may be reading it).

    ``partners`` and ``projects`` give each written stakeholder's partners and projects (database
    ids), ``project_vectors`` the new vectors of changed projects (None: deleted), ``texts`` each
    written stakeholder's lexical text: it is turned into TF-IDF terms with the vocabulary and
    weights of the last full build. The cost is a copy of the columns (memcpy) and Python work per
    written row, not per profile. None when rows cannot be appended in id order (a reused id):
    the caller then builds the corpus afresh.
    """
    known = corpus.rows_of_ids([r.id for r in rows])
    fresh = sorted((r for r in rows if r.id not in known), key=lambda r: r.id)
    if fresh and len(corpus.ids) and fresh[0].id <= int(corpus.ids[-1]):
        return None
    n_old, n = len(corpus), len(corpus) + len(fresh)
    row_of = {**known, **{r.id: n_old + k for k, r in enumerate(fresh)}}
    dead = {corpus.rows_of_ids([i]).get(i) for i in removed} - {None}
    tables = {name: t.copy() for name, t in corpus.tables.items()}

    # project vectors: changed ones appended (old rows are left unused until the next full build)
    p_ids, p_at, p_vectors = corpus.project_ids, corpus.project_at, corpus.project_vectors
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
        columns[name] = getattr(corpus, name).replaced({r: v for r, v in lists.items() if r < n_old},
                                                     [lists[row] for row in range(n_old, n)])
    alive = np.concatenate([corpus.alive if corpus.alive is not None else np.ones(n_old, dtype=bool),
                            np.ones(len(fresh), dtype=bool)])
    alive[list(dead)] = False
    def row_for(stakeholder: int) -> int | None:
        if stakeholder in row_of:
            return row_of[stakeholder]
        found = corpus.rows_of_ids([stakeholder]).get(stakeholder)
        return found if found is not None and (corpus.alive is None or corpus.alive[found]) else None

    partner_lists = {row: sorted({q for p in partners.get(r.id, ()) if (q := row_for(p)) is not None}
                                 - {row} - dead) for row, r in changed.items()}
    partner_lists.update({row: [] for row in dead})
    project_lists = {row: vector_rows(projects.get(r.id, ())) for row, r in changed.items()}
    project_lists.update({row: [] for row in dead})
    partners_col = corpus.partners.replaced({r: v for r, v in partner_lists.items() if r < n_old},
                                          [partner_lists[row] for row in range(n_old, n)])
    projects_col = corpus.projects_of.replaced({r: v for r, v in project_lists.items() if r < n_old},
                                             [project_lists[row] for row in range(n_old, n)])
    kinds = np.concatenate([corpus.kinds, np.zeros(len(fresh), dtype=np.uint8)])
    old_confirmed = corpus.confirmed if len(corpus.confirmed) == n_old else np.zeros(n_old, dtype=np.float64)
    confirmed = np.concatenate([old_confirmed, np.zeros(len(fresh), dtype=np.float64)])
    for row, r in changed.items():
        kinds[row] = tables["kind"].code(r.kind)
        confirmed[row] = r.confirmed
    width = max([corpus.external.dtype.itemsize] + [len(r.external_id.encode()) for r in fresh])
    external = np.concatenate([corpus.external.astype(f"S{width}"),
                               np.array([r.external_id.encode() for r in fresh], dtype=f"S{width}")])
    order = np.argsort(external, kind="stable").astype(np.int32)
    counts = np.diff(projects_col.indptr).astype(np.float32)
    top = max(1.0, float(counts.max()) if len(counts) else 1.0)

    out = Corpus(
        ids=np.concatenate([corpus.ids, np.array([r.id for r in fresh], dtype=np.int64)]), external=external,
        by_external=order, sorted_external=external[order], kinds=kinds, countries=columns["countries"],
        places=columns["places"], themes=columns["themes"], offers=columns["offers"], needs=columns["needs"],
        partners=partners_col, projects_of=projects_col, project_vectors=p_vectors,
        popularity=(np.log1p(counts) / math.log1p(top)).astype(np.float32), tables=tables,
        lexicon=corpus.lexicon.with_rows({row: texts.get(r.id, "") for row, r in changed.items()}, dead, n),
        floor=corpus.floor, reference=corpus.reference, reference_rows=corpus.reference_rows, meaning=corpus.meaning,
        alive=alive, project_ids=p_ids, project_at=p_at,
        changed_rows=corpus.changed_rows + len(changed) + len(dead), confirmed=confirmed)
    out._place_keys = corpus._place_keys + [normalise_place(p) for p in tables["place"].names[len(corpus._place_keys):]]
    out._set_bits()
    return out

