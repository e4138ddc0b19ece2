"""Search: ranked partners for a stored stakeholder or project, projects to join, and free-text
matches, each explained. A request reads one snapshot (``api.indexing``) from start to end.

Candidates come from the dense index, the lexical postings and the collaboration graph (the corpus
columns); the pure ``matcher.rank`` scores them; the k returned are read in full to be explained."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Sequence

import numpy as np
from sqlmodel import Session

from api.core import Part, entity_key, external_ids
from api.corpus import Corpus, calibrate
from api.errors import IndexNotReady
from api.features import lexical_usual, project_signals, with_words, words_floor, words_standing
from api.indexing import Snapshot
from api.sentences import Sentences
from api.introductions import Introductions
from api.reading import Reading, purpose_of
from api.outcomes import not_suggested
from api.profiles import explained, project_profiles, render, stakeholder_profiles, track_records
from api.schemas import MatchList, MatchOut, MatchRequest, MatchResponse
from embeddings.index import VectorIndex
from matcher.feedback import Record
from matcher.rank import Filters, Profile, Ranking, can_fund, rank, within_reach
from matcher.text import is_latin
from store import repo
from store.models import Project

_OVERFETCH = 5
_MIN_FETCH = 100
_ALL_ADMITTED = 2_000  # filters admitting at most this many stakeholders: every one is a candidate


def _text(profile: Profile) -> str:
    """A profile's words as the lexical signals read them: its name, then its sentences."""
    return " ".join((profile.name, *profile.sentences))


class Search(Part):
    def __init__(self, core: Any, introductions: Introductions | None = None) -> None:
        super().__init__(core)
        self.sentences = Sentences(core)  # the sentences shown with results (api.sentences)
        self.sentence_vectors, self._close_sentences = self.sentences.vectors, self.sentences.close_pairs
        self.introductions = introductions  # outcomes of past introductions, read when the ranking weighs them
        self.reading = Reading(core)  # what a question or a search's purpose says (api.reading)
        self.draft_query, self.with_second_partners = self.reading.draft_query, self.reading.with_second_partners

    def _candidates(self, session: Session, snap: Snapshot, entity_type: str, vector: np.ndarray, k: int,
                    filtered: bool) -> tuple[dict[int, Profile], dict[int, float]]:
        """Nearest entities by vector, over-fetched so that filters still leave k, loaded in one go."""
        index = snap.indexes[entity_type]
        fetch = max(k * _OVERFETCH, _MIN_FETCH) if not filtered else len(index)
        hits = dict(index.search(vector, fetch))
        if entity_type == "stakeholder":
            rows = list(repo.stakeholders_by_id(session, ids=hits).values())
            return stakeholder_profiles(session, rows), hits
        rows_p = list(repo.projects_by_id(session, ids=hits).values())
        return project_profiles(session, rows_p), hits

    def _stored_vector(self, session: Session, entity_type: str, entity_id: int) -> np.ndarray:
        self.core.index(entity_type)  # 503 while the index is not ready
        stored = repo.embeddings(session, entity_type=entity_type, model_id=self.embedder.model_id,
                                 entity_ids=[entity_id])
        if entity_id not in stored:
            raise IndexNotReady(f"the {entity_type} has no vector yet; try again in a moment")
        return np.frombuffer(stored[entity_id].vector, dtype=np.float32)

    def _run(self, session: Session, snap: Snapshot, query: Profile, vector: np.ndarray, entity_type: str, *,
             k: int, intent: str, filters: Filters, text: str = "", ranking: Ranking | None = None) -> list[MatchOut]:
        ranking = ranking or self.ranking
        text = text or _text(query)  # the words searched: the caller's, else the profile's own
        if entity_type == "stakeholder":
            if intent == "co_funding":  # co-funders are those able to fund, however close otherwise
                filters = replace(filters, able_to_fund=True)
            rows, sims, signals = self.stakeholder_candidates(snap, query, vector, text, k, filters)
            corpus = snap.corpus
            row_of = {corpus.key(r): r for r in rows}
            known: dict[str, Profile] = {}  # light profiles with their track records, read once
            if filters.able_to_fund:  # read before the cut: the k best must be the k best of those able
                known = self._with_records(session, corpus, {key: row_of[key] for key in sims})
                sims = {key: v for key, v in sims.items() if can_fund(known[key])}
                signals = {key: v for key, v in signals.items() if key in sims}
                rows = [r for r in rows if corpus.key(r) in sims]
            reach = within_reach(sims, signals, k=k, intent=intent, ranking=ranking,
                                 upper=corpus.upper_bounds(query, rows))

            def profiles_of(keys: Sequence[str]) -> dict[str, Profile]:
                if known:
                    return {key: known[key] for key in keys}
                if intent != "any":  # what each has done shows whether it can fund or do the work
                    return self._with_records(session, corpus, {key: row_of[key] for key in keys})
                return {key: corpus.profile(row_of[key]) for key in keys}

            light = profiles_of(reach)
            dropped: set[str] = set()
            top = rank(query, light.values(), sims, k=k, intent=intent, filters=filters, ranking=ranking,
                       signals=signals, dropped=dropped)
            if dropped & set(reach[:k]) and len(reach) < len(sims):
                # The bound was the k-th best lower bound, but a candidate among those k has no reason to be
                # shown, so the k shown may lie below it: score every candidate instead (exact, slower).
                light = profiles_of(list(sims))
                top = rank(query, light.values(), sims, k=k, intent=intent, filters=filters, ranking=ranking,
                           signals=signals)
            # The k returned, read in full (names, sentences) and scored again (the same scores) to explain.
            ids = [int(corpus.ids[row_of[m.key]]) for m in top]
            by_key = explained(session, ids, light)
        else:
            profiles, hits = self._candidates(session, snap, entity_type, vector, k + len(filters.exclude) + 1,
                                              filters.narrows)
            by_key = {p.key: p for p in profiles.values()}
            floor = getattr(self.embedder, "similarity_floor", 0.0)
            sims = {profiles[i].key: calibrate(s, floor) for i, s in hits.items() if i in profiles}
            # a project standing out in meaning from the query's usual similarity to projects is close in
            # meaning: a reason to show it, as for stakeholders (with the sentence of each side); the words
            # it shares with the query are read for the closest of those the filters admit
            if filters.min_shared_themes and not filters.query_themes:  # as rank admits them
                filters = replace(filters, query_themes=frozenset(query.themes))
            read = sorted((key for key, p in by_key.items() if key in sims and filters.admits(p)),
                          key=lambda key: (-sims[key], key))[:max(k * _OVERFETCH, _MIN_FETCH)]
            signals = project_signals(snap.corpus, snap.corpus.project_usual(vector), sims,
                                      {key: _text(by_key[key]) for key in read}, text, len(read))
        matches = rank(query, by_key.values(), sims, k=k, intent=intent, filters=filters,
                       vocabulary=self.vocabulary, ranking=ranking if entity_type == "stakeholder" else
                       ranking.for_projects(), signals=signals)
        matches = with_words(snap.corpus, text, matches, None if entity_type == "stakeholder" else
                             {m.key: _text(by_key[m.key]) for m in matches})
        matches = self.sentences.theme_evidence(query, self.sentences.close_pairs(query, matches, by_key), by_key)
        shown = render(session, self.vocabulary, matches, by_key, entity_type,
                       ranking if entity_type == "stakeholder" else ranking.for_projects(), intent)
        for out in shown:  # the introductions part, said in words (its counts stay private)
            out.explanation.introductions = bool(out.components.get("introductions"))
        return shown

    @staticmethod
    def _with_records(session: Session, corpus: Corpus, rows: dict[str, int]) -> dict[str, Profile]:
        """Light profiles of these rows (by key) with their participations, read in one query."""
        records = track_records(session, [int(corpus.ids[r]) for r in rows.values()])
        return {key: replace(corpus.profile(r), record=records.get(int(corpus.ids[r]), ())) for key, r in rows.items()}

    def stakeholder_candidates(self, snap: Snapshot, query: Profile, vector: np.ndarray, text: str, k: int,
                                filters: Filters, *, features: bool = False) -> tuple[Any, ...]:
        """Candidate rows from the dense index, the lexical postings and the collaboration graph, with
        their signals (and with ``features``, their consortium features, as the training reads them).
        Filters are applied to the corpus columns first: when they admit few stakeholders, all of
        those are candidates; else each source searches only among them, ranked by its own score
        before it is cut."""
        corpus = snap.corpus
        index = snap.indexes["stakeholder"]
        fetch = max(k * _OVERFETCH, _MIN_FETCH)
        excluded = {r for key in {query.key, *filters.exclude} if (r := corpus.row_of_key(key)) is not None}
        allowed: np.ndarray | None = None
        if filters.narrows:
            allowed = corpus.admitted(countries=filters.countries, kinds=filters.kinds, themes=filters.themes,
                                      resources=filters.resources, query_themes=query.themes,
                                      min_shared_themes=filters.min_shared_themes)
        if allowed is not None and len(allowed) <= _ALL_ADMITTED:
            rows = [int(r) for r in allowed if int(r) not in excluded]
            dense = self._dense(corpus, index, vector, rows)
        else:
            hits = index.search(vector, fetch + len(excluded),
                                allowed=None if allowed is None else corpus.ids[allowed])
            hit_rows = corpus.rows_of_ids([i for i, _ in hits])
            dense = {hit_rows[i]: s for i, s in hits if i in hit_rows}
            rows = []
        text = text or _text(query)
        # Another script finds no term of the (mostly English) TF-IDF vocabulary: its lexical value is read
        # from meaning below, never from terms borrowed from the nearest profiles (which made a neighbour
        # outrank the text's own).
        lexical = corpus.lexical_query(text)
        if not rows:
            graph = corpus.graph_candidates(query, fetch)
            admitted = None
            if allowed is not None:
                admitted = np.zeros(len(corpus), dtype=bool)
                admitted[allowed] = True
                graph = [r for r in graph if admitted[r]]
            lexical_rows = corpus.lexical_top(lexical, fetch + len(excluded), admitted)
            rows = [r for r in dict.fromkeys([*dense, *lexical_rows, *graph]) if r not in excluded]
            dense.update(self._dense(corpus, index, vector, [r for r in rows if r not in dense]))
        lexical_values = corpus.lexical_scores(lexical, rows)
        # of the words alone (never of a value read from meaning), against the usual of the others
        words = words_standing(lexical_usual(corpus, lexical, excluded), lexical_values, words_floor(corpus))
        usual = corpus.usual(vector)
        if not is_latin(text):  # no word in common with the profiles: the lexical value read from meaning
            by_meaning = corpus.lexical_by_meaning(usual, dense, rows)
            lexical_values = {r: max(v, by_meaning.get(r, 0.0)) for r, v in lexical_values.items()}
        sims, signals = corpus.signals(vector, rows, dense, lexical_values, query, self.ranking.model, usual=usual)
        for r, standing in words.items():
            signals[corpus.key(r)]["words"] = standing
        for key, record in self._introductions().items():
            if key in signals and record.value:
                signals[key]["introductions"] = record.value
        if features:
            return rows, sims, signals, corpus.features(query, vector, rows, dense, lexical_values)
        return rows, sims, signals

    def _introductions(self) -> dict[str, Record]:
        """Each stakeholder's record of introductions (by key), when the ranking weighs it; else none."""
        if self.introductions is None or not self.ranking.weights.get("introductions"):
            return {}
        return {entity_key("stakeholder", org): r for org, r in self.introductions.records().items()}

    @staticmethod
    def _dense(corpus: Corpus, index: VectorIndex, vector: np.ndarray, rows: Sequence[int]) -> dict[int, float]:
        """Cosine of the vector to each of these rows' stored vectors (read back from the index)."""
        if not rows:
            return {}
        by_id = index.similarities(vector, [int(corpus.ids[r]) for r in rows])
        id_rows = corpus.rows_of_ids(list(by_id))
        return {id_rows[i]: s for i, s in by_id.items() if i in id_rows}

    def partners_for_stakeholder(self, external_id: str, *, intent: str = "any", k: int = 10,
                                 countries: Sequence[str] = (), kinds: Sequence[str] = (),
                                 themes: Sequence[str] = (), resources: Sequence[str] = (),
                                 min_shared_themes: int = 0, purpose: str | None = None) -> MatchList:
        """Ranked partners for a stored stakeholder, each explained (none shown for similarity alone);
        with a ``purpose``, for that purpose (:meth:`api.reading.Reading.with_purpose`)."""
        snap = self.core.snapshot()
        purpose = purpose_of(purpose)
        row = self.core.row("stakeholder", external_id)
        with Session(self.engine) as session:
            vector = self._stored_vector(session, "stakeholder", row.id)
            query = self.with_second_partners(stakeholder_profiles(session, [row])[row.id], snap)
            query, vector, text, read = self._for_purpose(query, vector, purpose, snap)
            kinds = kinds or read.get("read", {}).get("kinds", ())
            declined = not_suggested(self.engine, external_id)  # its no thanks, and interests it declined
            filters = Filters(countries=frozenset(countries), kinds=frozenset(kinds), themes=frozenset(themes),
                              resources=frozenset(resources),
                              exclude=frozenset({query.key, *(entity_key("stakeholder", o) for o in declined)}),
                              min_shared_themes=min_shared_themes)
            results = self._run(session, snap, query, vector, "stakeholder", k=k, intent=intent, filters=filters,
                                text=text)
        return MatchList(query={"type": "stakeholder", "id": external_id, "name": row.name, **read}, intent=intent,
                         results=results, not_suggested=len(declined))

    def projects_for_stakeholder(self, external_id: str, *, k: int = 10, countries: Sequence[str] = (),
                                 themes: Sequence[str] = (), min_shared_themes: int = 0,
                                 purpose: str | None = None) -> MatchList:
        """Projects this stakeholder could join: those it is not part of yet, and not completed; with a
        ``purpose``, for that purpose."""
        snap = self.core.snapshot()
        purpose = purpose_of(purpose)
        row = self.core.row("stakeholder", external_id)
        with Session(self.engine) as session:
            vector = self._stored_vector(session, "stakeholder", row.id)
            query = stakeholder_profiles(session, [row])[row.id]
            query, vector, text, read = self._for_purpose(query, vector, purpose, snap)
            read.get("read", {}).pop("kinds", None)  # projects have no kind of organisation
            own = repo.participations(session, stakeholder_ids=[row.id])
            mine = external_ids(session, Project, {link.project_id for link in own})
            filters = Filters(countries=frozenset(countries), themes=frozenset(themes),
                              exclude=frozenset(entity_key("project", e) for e in mine.values()),
                              min_shared_themes=min_shared_themes, joinable=True)
            results = self._run(session, snap, query, vector, "project", k=k, intent="any", filters=filters,
                                text=text)
        return MatchList(query={"type": "stakeholder", "id": external_id, "name": row.name, **read}, intent="any",
                         results=results)

    def partners_for_project(self, external_id: str, *, intent: str = "any", k: int = 10,
                             countries: Sequence[str] = (), kinds: Sequence[str] = (),
                             min_shared_themes: int = 0, purpose: str | None = None) -> MatchList:
        """Stakeholders who could fund or join this project: not those already in it; with a
        ``purpose``, for that purpose."""
        snap = self.core.snapshot()
        purpose = purpose_of(purpose)
        row = self.core.row("project", external_id)
        with Session(self.engine) as session:
            vector = self._stored_vector(session, "project", row.id)
            query = self.with_second_partners(project_profiles(session, [row])[row.id], snap)
            query, vector, text, read = self._for_purpose(query, vector, purpose, snap)
            kinds = kinds or read.get("read", {}).get("kinds", ())
            filters = Filters(countries=frozenset(countries), kinds=frozenset(kinds), exclude=query.partners,
                              min_shared_themes=min_shared_themes)
            results = self._run(session, snap, query, vector, "stakeholder", k=k, intent=intent, filters=filters,
                                text=text)
        return MatchList(query={"type": "project", "id": external_id, "name": row.title, **read}, intent=intent,
                         results=results)

    def _for_purpose(self, query: Profile, vector: np.ndarray, purpose: str | None, snap: Snapshot
                     ) -> tuple[Profile, np.ndarray, str, dict[str, Any]]:
        """The query, vector and text searched for a purpose (unchanged without one), and what the purpose
        was read as, to show with the results."""
        if purpose is None:
            return query, vector, "", {}
        query, vector, text, read = self.reading.with_purpose(query, vector, purpose, snap)
        return query, vector, text, {"purpose": purpose, "read": read}

    def match(self, request: MatchRequest, *, vector: np.ndarray | None = None,
              hide: Iterable[str] = ()) -> MatchResponse:
        """Rank stakeholders and projects for free text or a draft project (``vector``: the text's,
        when the caller has it already; ``hide``: stakeholder ids to leave out, as if not stored)."""
        snap = self.core.snapshot()
        query, text = self.draft_query(request, snap)
        with Session(self.engine) as session:
            vector = self.embedder.embed([text])[0] if vector is None else vector
            hidden = frozenset(entity_key("stakeholder", h) for h in hide)
            s_filters = Filters(kinds=frozenset(request.kinds), exclude=query.partners | hidden)
            stakeholders = self._run(session, snap, query, vector, "stakeholder", k=request.k,
                                     intent=request.intent, filters=s_filters, text=text,
                                     ranking=self.ranking.for_query(len(set(request.participants))))
            projects = (self._run(session, snap, query, vector, "project", k=request.k, intent="any",
                                  filters=Filters(joinable=not request.include_completed), text=text)
                        if request.include_projects else [])
        return MatchResponse(query={"type": "draft", "name": query.name, "themes": list(query.themes),
                                    "needs": list(query.needs), "offers": list(query.offers),
                                    "places": [p.name for p in query.places],
                                    "countries": list(query.countries)},
                             intent=request.intent, stakeholders=stakeholders, projects=projects)
