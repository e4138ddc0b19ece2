"""The in-memory corpus in columns: it must score exactly as the full profiles from the database do."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlmodel import Session, select

from api.corpus import Ragged
from api.profiles import stakeholder_profiles
from api.service import DLDMatch
from matcher.rank import Filters
from store.models import Stakeholder

SCORED = ("key", "kind", "countries", "themes", "offers", "needs", "partners")


def _full_profiles(service: DLDMatch) -> dict[str, object]:
    with Session(service.engine) as session:
        rows = list(session.exec(select(Stakeholder)).all())
        return {p.key: p for p in stakeholder_profiles(session, rows).values()}


def test_light_profiles_carry_every_field_scoring_reads(seeded: DLDMatch) -> None:
    corpus = seeded.snapshot().corpus
    full = _full_profiles(seeded)
    assert len(corpus) == len(full) == 42
    for row in range(len(corpus)):
        light = corpus.profile(row)
        original = full[light.key]
        for name in SCORED:
            assert getattr(light, name) == getattr(original, name), (light.key, name)
        assert [p.name for p in light.places] == [p.name for p in original.places]  # type: ignore[attr-defined]
        assert corpus.row_of_key(light.key) == row
    assert corpus.row_of_key("s:nobody") is None and corpus.row_of_key("p:future_forest") is None


def test_filters_in_columns_admit_what_the_matcher_admits(seeded: DLDMatch) -> None:
    corpus = seeded.snapshot().corpus
    query = corpus.profile(corpus.row_of_key("s:future_forest"))  # type: ignore[arg-type]
    cases = [Filters(countries=frozenset({"MN"})), Filters(kinds=frozenset({"cso", "private"})),
             Filters(themes=frozenset({"sand_fixation"})), Filters(resources=frozenset({"funding"})),
             Filters(min_shared_themes=2, query_themes=frozenset(query.themes)),
             Filters(countries=frozenset({"CN", "KR"}), resources=frozenset({"funding", "technology"}))]
    assert set(corpus._bits) == {"theme", "country", "offer"}
    bits = dict(corpus._bits)
    for use_bits in (True, False):  # 64-bit sets when the tables are small, the ragged lists otherwise
        corpus._bits = bits if use_bits else {}
        for f in cases:
            got = corpus.admitted(countries=f.countries, kinds=f.kinds, themes=f.themes, resources=f.resources,
                                  query_themes=query.themes, min_shared_themes=f.min_shared_themes)
            expected = [r for r in range(len(corpus)) if f.admits(corpus.profile(r))]
            assert got.tolist() == expected, (f, use_bits)
            assert expected, f  # each case admits someone, so the comparison means something


def test_saved_lexicon_is_loaded_and_gives_the_same_signal(seeded: DLDMatch) -> None:
    built = seeded.snapshot().corpus
    assert built.lexicon_state == "built"
    assert (seeded.settings.index_dir / "lexicon.json").exists()
    seeded.indexing.build()
    loaded = seeded.snapshot().corpus
    assert loaded.lexicon_state == "loaded"
    text = "saxaul shelterbelts against sand and dust storms in the Gobi"
    rows = range(len(built))
    a = built.lexical_scores(built.lexical_query(text), rows)
    b = loaded.lexical_scores(loaded.lexical_query(text), rows)
    assert a == b and max(a.values()) > 0


def test_a_write_makes_the_saved_lexicon_stale(seeded: DLDMatch) -> None:
    seeded.snapshot().corpus
    seeded.delete("stakeholder", "elion")
    corpus = seeded.snapshot().corpus
    assert corpus.lexicon_state == "built" and len(corpus) == 41
    assert corpus.row_of_key("s:elion") is None


def test_a_damaged_saved_lexicon_is_rebuilt(seeded: DLDMatch) -> None:
    seeded.snapshot().corpus
    named = json.loads((seeded.settings.index_dir / "lexicon.json").read_text())["files"]["postings"]
    (seeded.settings.index_dir / named).write_bytes(b"not a matrix")
    seeded.indexing.build()
    assert seeded.snapshot().corpus.lexicon_state == "built"


def test_ragged_counts() -> None:
    r = Ragged.build([[1, 2, 3], [], [2], [4, 4]])
    assert r.count_in([2, 4]).tolist() == [1, 0, 1, 2]
    assert r.rows_with_any([3]).tolist() == [True, False, False, False]
    assert r.bits().tolist() == [0b1110, 0, 0b100, 0b10000]


@pytest.mark.parametrize("lowered", ["none", "stale and spread"])
def test_bounds_from_columns_prune_without_changing_any_result(seeded: DLDMatch, monkeypatch, lowered: str) -> None:  # type: ignore[no-untyped-def]
    """Pruning by bounds gives the very results of scoring every candidate, also when scores are lowered
    for stale profiles (a third of them, aged past a year) and by the exposure spread."""
    import api.search as service_module

    if lowered != "none":
        from dataclasses import replace
        from datetime import timedelta

        from sqlmodel import Session, select

        from api.core import utcnow
        from store.models import Stakeholder

        with Session(seeded.writer) as session:
            for n, row in enumerate(session.exec(select(Stakeholder).order_by(Stakeholder.id)).all()):
                if n % 3 == 0:
                    row.confirmed_at = utcnow() - timedelta(days=400)
                    session.add(row)
            session.commit()
        monkeypatch.setattr(seeded.search, "ranking", replace(seeded.search.ranking, spread=0.1))

    queries = [("future_forest", "co_funding"), ("elion", "any"), ("kfs", "implementation"), ("unccd", "any")]

    def results() -> list[list[tuple[str, float]]]:
        seeded.indexing.build()
        return [[(m.id, m.score) for m in seeded.partners_for_stakeholder(q, intent=i, k=5,
                                                                          min_shared_themes=0).results]
                for q, i in queries]

    pruned = results()
    kept: list[tuple[int, int]] = []
    real = service_module.within_reach

    def counting(sims, signals, **kw):  # type: ignore[no-untyped-def]
        out = real(sims, signals, **kw)
        kept.append((len(out), len(sims)))
        return out

    monkeypatch.setattr(service_module, "within_reach", counting)
    results()
    monkeypatch.setattr(service_module, "within_reach", lambda sims, signals, **kw: list(sims))
    assert results() == pruned
    assert sum(n for n, _ in kept) < sum(total for _, total in kept)  # some candidates were pruned


def test_upper_bounds_hold_for_every_candidate(seeded: DLDMatch) -> None:
    from matcher.rank import score_pair

    from dataclasses import replace

    corpus = seeded.snapshot().corpus
    for key in ("s:future_forest", "s:elion", "s:green_asia_network", "s:gov_kr"):
        query = corpus.profile(corpus.row_of_key(key))  # type: ignore[arg-type]
        if key == "s:gov_kr":  # a question about dust and sandstorms: pairs across their path are a reason
            query = replace(query, themes=(*query.themes, "dust_sandstorms"))
        bounds = corpus.upper_bounds(query, range(len(corpus)))
        for row in range(len(corpus)):
            m = score_pair(query, corpus.profile(row), 0.5, ranking=seeded.ranking)
            for name, most in bounds[corpus.key(row)].items():
                assert m.values[name] <= most + 1e-9, (key, corpus.key(row), name)


def test_lexical_scores_and_top_rows_agree_with_the_whole_matrix(seeded: DLDMatch) -> None:
    corpus = seeded.snapshot().corpus
    assert corpus.postings is not None
    for text in ("saxaul shelterbelts against sand and dust storms in the Gobi",
                 "green economy business with local livelihoods", "xyzzy"):
        query = corpus.lexical_query(text)
        exact = np.asarray((corpus.postings @ query.T).todense()).ravel()  # type: ignore[union-attr]
        scores = corpus.lexical_scores(query, range(len(corpus)))
        assert np.allclose([scores[r] for r in range(len(corpus))], exact, atol=1e-6)
        expected = sorted(np.flatnonzero(exact > 0), key=lambda r: (-exact[r], r))[:10]
        assert corpus.lexical_top(query, 10) == [int(r) for r in expected]
        allowed = np.arange(len(corpus)) % 2 == 0
        assert all(r % 2 == 0 for r in corpus.lexical_top(query, 10, allowed))
    # With a budget of one posting only the rarest term is read: fewer rows, scored exactly all the same.
    query = corpus.lexical_query("saxaul shelterbelts against sand and dust storms in the Gobi")
    few = corpus.lexical_top(query, 10, budget=1)
    assert 0 < len(few) <= len(corpus.lexical_top(query, 10))


def _graph_corpus() -> "Corpus":
    """Six organisations: ``q1`` and ``q2`` are the query's participants. ``hub`` worked with ``q1``
    and with everyone else; ``close`` worked with both participants and no one else."""
    from api.corpus import Corpus, ProfileRows

    names = ["q1", "q2", "hub", "close", "far", "x"]
    rows = [ProfileRows(n + 1, name, "academia", ["DE"] if name != "far" else ["FR"], [], [], [], [])
            for n, name in enumerate(names)]
    projects = {10: ["q1", "hub"], 11: ["q1", "close"], 12: ["q2", "close"], 13: ["hub", "far"], 14: ["hub", "x"],
                15: ["hub", "q2"], 16: ["far", "x"]}
    links = [(names.index(m) + 1, p) for p, members in projects.items() for m in members]
    vectors = np.eye(len(projects), 4, dtype=np.float32)
    return Corpus.build(rows, links, {p: n % 4 for n, p in enumerate(projects)}, vectors)


def test_graph_candidates_are_ranked_by_resource_allocation_before_the_cut() -> None:
    from matcher.rank import Profile

    corpus = _graph_corpus()
    query = Profile(key="q:draft", name="", kind="project", countries=("DE",),
                    partners=frozenset({"s:q1", "s:q2"}))
    ranked = [corpus.key(r) for r in corpus.graph_candidates(query, 10)]
    # close and hub each worked with both participants (each has 2 partners): 1/2 + 1/2 = 1.0;
    # the participants never worked together, so neither is reached from the other
    assert set(ranked) == {"s:hub", "s:close"}
    assert corpus.graph_candidates(query, 1) == [corpus.row_of_key(ranked[0])]  # the cut keeps the best
    lone = Profile(key="q:draft", name="", kind="project", partners=frozenset({"s:far"}))
    # far worked with hub (4 other partners) and x: both reached, and equally (1/2 each)
    assert {corpus.key(r) for r in corpus.graph_candidates(lone, 10)} == {"s:hub", "s:x"}


def test_consortium_features_read_the_graph_and_the_fit() -> None:
    from matcher.ltr import FEATURES
    from matcher.rank import Profile

    corpus = _graph_corpus()
    query = Profile(key="q:draft", name="", kind="project", countries=("DE",),
                    partners=frozenset({"s:q1", "s:q2"}))
    rows = [corpus.row_of_key(k) for k in ("s:hub", "s:close", "s:far")]
    f = corpus.features(query, np.array([1, 0, 0, 0], dtype=np.float32), rows, {}, {})
    col = {name: n for n, name in enumerate(FEATURES)}
    hub, close, far = f
    assert close[col["graph_shared"]] == 1.0 and hub[col["graph_shared"]] == 1.0  # both worked with q1 and q2
    assert far[col["graph_shared"]] == 0.0 and far[col["graph_ra"]] == 0.0
    assert far[col["graph_second"]] > 0  # far's partner hub is a partner of the participants
    assert hub[col["degree"]] > close[col["degree"]]
    assert hub[col["country_fit"]] == 1.0 and far[col["country_fit"]] == 0.0
    assert hub[col["past_best"]] == 1.0  # hub took part in project 10, whose vector is the query's
    assert ((0 <= f) & (f <= 1)).all()


def test_a_question_about_dust_from_downwind_finds_partners_at_the_source(seeded: DLDMatch) -> None:
    """Through the product path on the seed profiles: a Korean body asking about dust and sandstorms is
    shown partners in China and Mongolia with that reason in words, and the CSV says it too."""
    from api.downloads import MATCH_HEADER, match_rows
    from api.schemas import MatchRequest

    answer = seeded.match(MatchRequest(text="We forecast the dust and sandstorms that reach Korea every spring and "
                                            "look for partners working where they start.", countries=["KR"],
                                       include_projects=False))
    linked = [m for m in answer.stakeholders if m.explanation.dust_and_sandstorms]
    assert linked, [m.id for m in answer.stakeholders]
    for m in linked:
        assert set(m.explanation.dust_and_sandstorms.source) <= {"CN", "MN"}
        assert m.explanation.dust_and_sandstorms.affected == ["KR"]
    row = match_rows(linked, "")[0]
    dust = row[MATCH_HEADER.index("dust and sandstorms")]
    assert "source" in dust and "KR" in dust


def test_an_asker_that_says_where_it_is_gets_the_dust_link_without_naming_countries(seeded: DLDMatch) -> None:
    """A firm that only says it is Japanese and that yellow dust reaches it (no countries given) is read as
    asking about dust and sandstorms from Japan: projects in the source countries are shown with that
    reason. A country only named in a question is not where the asker is, and links nothing."""
    from api.schemas import MatchRequest

    answer = seeded.match(MatchRequest(text="We are a Japanese trading house. Yellow sand reaches our warehouses "
                                            "each spring, and we would fund restoration where it starts. "
                                            "Which projects could we join?", include_projects=True, k=20))
    assert "dust_sandstorms" in answer.query["themes"] and answer.query["countries"] == ["JP"]
    linked = [m for m in answer.projects if m.explanation.dust_and_sandstorms]
    assert linked, [m.id for m in answer.projects]
    for m in linked:
        assert set(m.explanation.dust_and_sandstorms.source) <= {"CN", "MN"}
        assert m.explanation.dust_and_sandstorms.affected == ["JP"]
    # the source countries named as well ("yellow dust from Mongolia and China") leave the asker downwind
    named = seeded.match(MatchRequest(text="We're a Japanese manufacturer; yellow dust from Mongolia and China hits "
                                           "our factories. Which projects could we join?", include_projects=True, k=20))
    assert set(named.query["countries"]) == {"JP", "MN", "CN"}
    assert [m.explanation.dust_and_sandstorms.affected for m in named.projects
            if m.explanation.dust_and_sandstorms] and all(
        m.explanation.dust_and_sandstorms.affected == ["JP"] for m in named.projects if m.explanation.dust_and_sandstorms)
    for text in ("Which projects in Japan study yellow dust?",  # a country asked about is not the asker's
                 # the asker at the source, naming only where the dust goes (judged question cso-10's wording)
                 "Our volunteers restore bare ground where the spring dust storms start, so less dust blows on to "
                 "Seoul and Tokyo. Who could co-fund us?",
                 "We are looking for partners in Mongolia to stop dust storms reaching Korea."):
        asked = seeded.match(MatchRequest(text=text, include_projects=True, k=20))
        assert not any(m.explanation.dust_and_sandstorms for m in [*asked.projects, *asked.stakeholders]), text
