"""The corpus a catch-up updates from the changed rows only holds what a full build from the database
holds: the same profile of every stakeholder, the same filters, popularity and project vectors."""

from __future__ import annotations

import numpy as np
import pytest

from api.corpus import Corpus
from api.features import lexical_usual, words_floor
from api.schemas import MatchRequest, ProjectIn, StakeholderIn
from api.service import DLDMatch
from api.settings import ROOT, Settings
from embeddings.fake import FakeEmbedder


@pytest.fixture
def incremental(settings: Settings) -> DLDMatch:
    svc = DLDMatch(settings.model_copy(update={"seed_dir": ROOT / "seed_profiles", "corpus_incremental_above": 0}),
                   FakeEmbedder())
    svc.start()
    return svc


def _by_key(corpus: Corpus) -> dict[str, tuple]:
    out = {}
    for row in range(len(corpus)):
        key = corpus.key(row)
        if corpus.row_of_key(key) is None:
            continue  # a dead row
        p = corpus.profile(row)
        vectors = sorted(tuple(np.round(corpus.project_vectors[v], 5)) for v in corpus.projects_of[row])
        out[key] = (p.kind, p.countries, tuple(x.name for x in p.places), tuple(sorted(p.themes)), p.offers, p.needs,
                    p.partners, round(float(corpus.popularity[row]), 5), tuple(vectors))
    return out


def _writes(svc: DLDMatch) -> None:
    svc.create(StakeholderIn.model_validate({
        "type": "stakeholder", "id": "t-oasis", "name": "Test Oasis Group", "kind": "cso", "countries": ["MN"],
        "description": "A test group restoring oases and planting saxaul with herders in the Gobi.",
        "needs": ["funding"], "offers": ["volunteers"]}))
    elion = svc.get_stakeholder("elion")
    svc.replace(StakeholderIn.model_validate({
        "type": "stakeholder", **{k: v for k, v in elion.model_dump(mode="json").items()
                                  if k in StakeholderIn.model_fields and k != "type"},
        "countries": ["CN", "MN"], "offers": [{"kind": "market_access"}]}))
    svc.create(ProjectIn.model_validate({
        "type": "project", "id": "t-belt", "title": "Test oasis shelterbelt",
        "description": "Saxaul shelterbelts around Gobi oases, planted with herders.",
        "participants": [{"stakeholder": "t-oasis", "role": "lead"}, {"stakeholder": "future_forest", "role": "implementer"},
                         {"stakeholder": "kfs", "role": "co_funder"}]}))
    svc.delete("stakeholder", "green_asia_network")
    svc.delete("project", next(p.id for p in svc.list_projects(limit=200).items if p.participants))


def test_updated_corpus_equals_a_full_build(incremental: DLDMatch) -> None:
    _writes(incremental)
    updated = incremental.snapshot().corpus
    assert updated.changed_rows > 0 and updated.alive is not None  # it really was updated in place of a build
    full = incremental.indexing._build_corpus()
    assert _by_key(updated) == _by_key(full)
    for filters in ({"countries": ["MN"]}, {"kinds": ["cso"]}, {"themes": ["sand_fixation"]},
                    {"resources": ["funding"]}):
        got = {updated.key(r) for r in updated.admitted(**filters)}
        assert got == {full.key(r) for r in full.admitted(**filters)} and got, filters


def test_lexical_signal_of_changed_rows_comes_from_their_new_text(incremental: DLDMatch) -> None:
    before = incremental.snapshot().corpus
    _writes(incremental)
    corpus = incremental.snapshot().corpus
    assert corpus.tfidf is before.tfidf  # the vocabulary and weights of the last full build
    query = corpus.lexical_query("restoring oases with herders in the Gobi")
    row = corpus.row_of_key("s:t-oasis")
    assert row is not None and row >= len(before)  # appended
    scores = corpus.lexical_scores(query, range(len(corpus)))
    expected = float((corpus.tfidf.transform([dict(_texts(incremental))[int(corpus.ids[row])]]) @ query.T).toarray()[0, 0])
    assert scores[row] == pytest.approx(expected, rel=1e-5) and scores[row] > 0
    top = corpus.lexical_top(query, 5)
    assert top[0] == row and all(corpus.row_of_key(corpus.key(r)) is not None for r in top)
    gone = before.row_of_key("s:green_asia_network")
    assert gone is not None and corpus.row_of_key("s:green_asia_network") is None and scores[gone] == 0.0


def test_search_after_incremental_updates(incremental: DLDMatch) -> None:
    _writes(incremental)
    found = incremental.match(MatchRequest(text="restoring oases and planting saxaul with herders in the Gobi", k=10))
    ids = [m.id for m in found.stakeholders]
    assert "t-oasis" in ids and "green_asia_network" not in ids
    partners = incremental.partners_for_stakeholder("future_forest", k=20, min_shared_themes=0)
    assert "green_asia_network" not in [m.id for m in partners.results]


def _texts(svc: DLDMatch) -> list[tuple[int, str]]:
    from sqlmodel import Session

    from api.indexing import _lexicon_rows

    with Session(svc.engine) as session:
        return list(_lexicon_rows(session))


def test_an_incremental_update_keeps_the_reference_sample_and_the_meaning_map(incremental: DLDMatch) -> None:
    before = incremental.snapshot().corpus
    assert before.meaning is not None and len(before.reference)
    _writes(incremental)
    after = incremental.snapshot().corpus
    assert after is not before and after.changed_rows
    assert after.meaning == before.meaning
    assert np.array_equal(after.reference, before.reference)


def test_projects_close_in_meaning_are_read_against_the_live_projects_only(incremental: DLDMatch) -> None:
    """The usual similarity to projects is read over the live projects: after an update that deletes
    one and adds one, the sample is the updated corpus's own, as a full build would have it."""
    vector = incremental.embedder.embed(["Saxaul shelterbelts around Gobi oases"])[0]
    before = incremental.snapshot().corpus
    assert len(before.project_usual(vector).ordered) == len(before.project_at)
    _writes(incremental)
    after = incremental.snapshot().corpus
    full = incremental.indexing._build_corpus()
    assert len(after.project_usual(vector).ordered) == len(full.project_at) == len(before.project_at)
    assert np.allclose(np.sort(after.project_usual(vector).ordered), np.sort(full.project_usual(vector).ordered))


def test_the_reference_and_the_words_floor_survive_an_incremental_update(incremental: DLDMatch) -> None:
    before = incremental.snapshot().corpus
    _writes(incremental)
    corpus = incremental.snapshot().corpus
    assert corpus.changed_rows > 0 and np.array_equal(corpus.reference_rows, before.reference_rows)
    assert len(corpus.reference_rows) and words_floor(corpus) == words_floor(before) > 0
    dead = corpus.row_of_key("s:green_asia_network") is None
    query = corpus.lexical_query("restoring oases with herders in the Gobi")
    usual = lexical_usual(corpus, query)
    live = [r for r in corpus.reference_rows if corpus.alive is None or corpus.alive[int(r)]]
    assert dead and len(usual.ordered) == len(live) < len(corpus.reference_rows)  # the deleted one is left out
