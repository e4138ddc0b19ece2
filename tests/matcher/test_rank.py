"""Behaviour of the pure ranking on hand-made profiles whose right answer is known."""

from __future__ import annotations

import math

import pytest

from matcher.rank import (DEFAULT_WEIGHTS, WORDS_STANDING, Filters, Place, Profile, Ranking, Record, SharedWords,
                          complementarity, intent_fit, project_state, rank, score_pair)
from matcher.themes import Theme

VOCAB = {
    "sand": Theme("sand", "Sand fixation", "", ("sand fixation", "dune")),
    "trees": Theme("trees", "Afforestation", "", ("shelterbelt", "planting")),
}


def profile(key: str, **kw: object) -> Profile:
    defaults: dict[str, object] = {"name": key, "kind": "cso"}
    defaults.update(kw)
    return Profile(key=key, **defaults)  # type: ignore[arg-type]


QUERY = profile("q", kind="cso", countries=("MN",), places=(Place("Gobi"),), themes=("sand", "trees"),
                offers=("volunteers",), needs=("funding",),
                sentences=("We fix dunes with volunteers.", "Shelterbelt planting in the Gobi."))


def test_identical_profile_ranks_first() -> None:
    twin = profile("twin", **{k: getattr(QUERY, k) for k in ("kind", "countries", "places", "themes", "offers",
                                                           "needs", "sentences")})
    other = profile("other", kind="funder", themes=("trees",), offers=("funding",))
    result = rank(QUERY, [other, twin], {"twin": 1.0, "other": 0.3}, k=2)
    assert [m.key for m in result] == ["twin", "other"]


def test_scores_stay_in_range_and_components_add_up() -> None:
    best = profile("best", kind="funder", countries=("MN",), places=(Place("Gobi Desert"),), themes=("sand", "trees"),
                   offers=("funding",), needs=("volunteers",), partners=frozenset({"a", "b", "c"}))
    query = profile("q2", **{**{k: getattr(QUERY, k) for k in ("countries", "places", "themes", "offers", "needs")},
                             "partners": frozenset({"a", "b", "c"}), "partners2": frozenset({"a", "b", "c"})})
    full = {"past_projects": 1.0, "lexical": 1.0, "popularity": 1.0}
    for intent in ("any", "co_funding", "implementation"):
        for sim in (-1.0, 0.0, 0.5, 1.0, 2.0):
            for signals in ({}, full, {"lexical": 7.0, "past_projects": -2.0}):
                m = score_pair(query, best, sim, intent=intent, signals=signals)
                assert 0.0 <= m.score <= 1.0
                assert m.score == pytest.approx(sum(m.components.values()), abs=1e-5)
    perfect = score_pair(query, best, 1.0, intent="co_funding", signals=full)
    assert perfect.components["kinds"] > 0
    # every value is 1 but network2, which saturates: three partners of partners give 1 - e^-1
    weight2 = Ranking().weights_for("co_funding")["network2"]
    assert perfect.score == pytest.approx(1.0 - weight2 * math.exp(-1), abs=1e-5)


def test_k_larger_than_corpus_returns_everything_but_the_query() -> None:
    pool = [profile(f"c{i}") for i in range(5)] + [QUERY]
    result = rank(QUERY, pool, {}, k=50, explained_only=False)
    assert sorted(m.key for m in result) == [f"c{i}" for i in range(5)]


def test_one_sided_fit_scores_below_two_sided() -> None:
    # Both offer the funding the query needs; only one also needs the volunteers the query offers.
    one_sided = profile("one", kind="funder", offers=("funding",))
    two_sided = profile("two", kind="funder", offers=("funding",), needs=("volunteers",))
    assert complementarity(QUERY, one_sided)[0] == pytest.approx(0.5)
    assert complementarity(QUERY, two_sided)[0] == pytest.approx(1.0)
    result = rank(QUERY, [one_sided, two_sided], {"one": 0.5, "two": 0.5}, k=2)
    assert [m.key for m in result] == ["two", "one"]
    assert result[0].explanation.candidate_needs_met == ("volunteers",)
    assert result[0].explanation.query_needs_met == ("funding",)


def test_no_overlap_contributes_zero() -> None:
    stranger = profile("x", kind="cso", countries=("RU",), themes=("other",))
    m = score_pair(QUERY, stranger, 0.0)
    for name in ("semantic", "themes", "complementarity", "geography", "network", "intent"):
        assert m.components[name] == 0.0
    assert m.explanation.shared_themes == ()


def test_ties_are_broken_by_key_deterministically() -> None:
    pool = [profile(k) for k in ("b", "c", "a")]
    first = [m.key for m in rank(QUERY, pool, {}, k=3, explained_only=False)]
    assert first == ["a", "b", "c"]
    assert [m.key for m in rank(QUERY, list(reversed(pool)), {}, k=3, explained_only=False)] == first


def test_explanation_carries_evidence_from_both_sides() -> None:
    cand = profile("c", themes=("sand",), places=(Place("Gobi"),), countries=("MN",),
                   sentences=("Our work is sand fixation.", "Unrelated sentence here."))
    m = score_pair(QUERY, cand, 0.5, vocabulary=VOCAB)
    (shared,) = m.explanation.shared_themes
    assert shared.theme == "sand"
    assert shared.query_evidence is not None and shared.query_evidence.sentence == "We fix dunes with volunteers."
    assert shared.candidate_evidence is not None and "sand fixation" in shared.candidate_evidence.keywords
    assert m.explanation.shared_places == ("Gobi",)
    assert m.explanation.shared_countries == ("MN",)


def test_evidence_found_by_meaning_explains_a_profile_in_another_language() -> None:
    """A Chinese profile has no English keywords: the sentence stored when its theme was assigned by
    meaning is its evidence, in its own language, next to the English side's keyword sentence."""
    cand = profile("c", themes=("sand",), sentences=("我们在库布其固沙。", "另一句话。"),
                   evidence=(("sand", "我们在库布其固沙。"),))
    (shared,) = score_pair(QUERY, cand, 0.5, vocabulary=VOCAB).explanation.shared_themes
    assert shared.candidate_evidence is not None and shared.candidate_evidence.sentence == "我们在库布其固沙。"
    assert shared.candidate_evidence.keywords == ()
    assert shared.query_evidence is not None and shared.query_evidence.sentence == "We fix dunes with volunteers."


def test_shared_partners_and_prior_work_are_explained() -> None:
    query = profile("q", partners=frozenset({"p1", "p2", "c"}))
    cand = profile("c", partners=frozenset({"p1", "p2", "q"}))
    m = score_pair(query, cand, 0.0)
    assert m.explanation.shared_partners == ("p1", "p2")
    assert m.explanation.worked_together
    assert m.components["network"] == pytest.approx(DEFAULT_WEIGHTS["network"] * 2 / 3, abs=1e-5)


def test_intent_prefers_candidates_offering_what_is_sought() -> None:
    funder = profile("f", kind="academia", offers=("funding",))
    trainer = profile("t", kind="academia", offers=("training",))
    co_funding = rank(QUERY, [funder, trainer], {"f": 0.2, "t": 0.4}, intent="co_funding")
    assert co_funding[0].key == "f" and co_funding[0].explanation.intent_resources == ("funding",)
    implementation = rank(QUERY, [funder, trainer], {"f": 0.2, "t": 0.4}, intent="implementation")
    assert implementation[0].key == "t"


def test_filters() -> None:
    pool = [profile("mn", countries=("MN",), kind="funder", offers=("funding",), themes=("sand",)),
            profile("kr", countries=("KR",), kind="cso", offers=("training",), themes=("trees",))]
    assert [m.key for m in rank(QUERY, pool, {}, filters=Filters(countries=frozenset({"KR"})))] == ["kr"]
    assert [m.key for m in rank(QUERY, pool, {}, filters=Filters(kinds=frozenset({"funder"})))] == ["mn"]
    assert [m.key for m in rank(QUERY, pool, {}, filters=Filters(themes=frozenset({"trees"})))] == ["kr"]
    assert [m.key for m in rank(QUERY, pool, {}, filters=Filters(resources=frozenset({"funding"})))] == ["mn"]
    assert rank(QUERY, pool, {}, filters=Filters(exclude=frozenset({"mn", "kr"}))) == []


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        rank(QUERY, [], {}, k=0)
    with pytest.raises(ValueError):
        Ranking().weights_for("bribe")


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("intent", ["any", "co_funding"])
def test_pruning_by_bounds_never_changes_the_top_k(seed: int, intent: str) -> None:
    import random

    from matcher.rank import within_reach

    rng = random.Random(seed)
    pick = lambda pool, n: tuple(rng.sample(pool, rng.randint(0, n)))  # noqa: E731
    candidates = [profile(f"c{i:03d}", kind=rng.choice(["cso", "funder", "private", "academia"]),
                          countries=pick(["MN", "CN", "KR", "JP"], 2), places=tuple(Place(p) for p in pick(["Gobi", "Alxa"], 1)),
                          themes=pick(["sand", "trees", "water", "soil"], 3), offers=pick(["funding", "technology", "volunteers"], 2),
                          needs=pick(["funding", "training"], 1), partners=frozenset(pick(["q", "c001", "c002"], 2)))
                  for i in range(150)]
    sims = {c.key: rng.random() for c in candidates}
    signals = {c.key: {"lexical": rng.random() ** 3, "past_projects": rng.random(), "popularity": rng.random()}
               for c in candidates}
    learned = random.Random(seed + 1000)  # the consortium value (weighted only by a LambdaMART model file)
    for c in candidates:
        signals[c.key]["consortium"] = learned.random() ** 2
    files = __import__("api.settings", fromlist=["ROOT"]).ROOT / "matcher"
    # the served ranker, the consortium model alone (most of the score in the signals), the defaults
    ranking = (Ranking.from_file(files / "ranker.json") if seed % 4 == 3 else
               Ranking.from_file(files / "consortium.json") if seed % 4 == 1 else Ranking())
    if seed % 3 == 2:  # the introductions signal switched on (issue 16, item 2): a signal the bound reads
        ranking = ranking.with_introductions(0.2)
        for c in candidates:
            if rng.random() < 0.3:
                signals[c.key]["introductions"] = rng.random()
    k = rng.choice([1, 5, 10])
    everything = rank(QUERY, candidates, sims, k=k, intent=intent, ranking=ranking, signals=signals)
    kept = set(within_reach(sims, signals, k=k, intent=intent, ranking=ranking))
    pruned = rank(QUERY, [c for c in candidates if c.key in kept], sims, k=k, intent=intent, ranking=ranking,
                  signals=signals)
    assert [(m.key, m.score) for m in pruned] == [(m.key, m.score) for m in everything]
    if seed % 4 == 1:  # the model alone puts most of the score in the signals: most candidates fall away
        assert len(kept) < len(candidates) / 2


def test_the_shipped_lambdamart_model_loads_and_scores_in_order() -> None:
    import numpy as np

    from api.settings import ROOT
    from matcher.ltr import FEATURES

    ranking = Ranking.from_file(ROOT / "matcher" / "consortium.json")
    assert ranking.model is not None and abs(sum(ranking.weights.values()) - 1) < 1e-6
    assert ranking.model.meta["data"]["report_year_never_seen"] and ranking.model.meta["features"] == list(FEATURES)
    weak, strong = np.zeros(len(FEATURES)), np.ones(len(FEATURES))
    values = ranking.model.value(np.vstack([weak, strong]))
    assert ((0 <= values) & (values <= 1)).all() and values[1] > values[0]
    parts = ranking.model.parts(strong)
    assert set(parts) == set(FEATURES)


def test_project_state_reads_status_and_years() -> None:
    assert project_state("ongoing", 2015, 2024, 2026) == "completed"  # its end year has passed
    assert project_state("planned", None, 2027, 2026) == "planned"
    assert project_state(None, None, None, 2026) == "unknown"
    assert project_state(None, 2028, None, 2026) == "planned"
    assert project_state("completed", 2025, 2027, 2026) == "completed"


def test_completed_projects_are_never_offered_to_join() -> None:
    q = profile("q", kind="private", themes=("sand",))
    done = profile("done", kind="project", themes=("sand",), state="completed")
    live = profile("live", kind="project", themes=("sand",), state="ongoing")
    unknown = profile("unknown", kind="project", themes=("sand",))
    got = [m.key for m in rank(q, [done, live, unknown], {}, k=5, filters=Filters(joinable=True))]
    assert got == ["live", "unknown"]
    assert "done" in [m.key for m in rank(q, [done, live], {}, k=5)]


def test_results_nothing_explains_are_left_out() -> None:
    q = profile("q", themes=("sand",))
    bare = profile("bare")  # similar text, nothing shared
    themed = profile("themed", themes=("sand",))
    got = rank(q, [bare, themed], {"bare": 0.99, "themed": 0.1}, k=5)
    assert [m.key for m in got] == ["themed"]
    assert [m.key for m in rank(q, [bare, themed], {"bare": 0.99, "themed": 0.1}, k=5, explained_only=False)][0] == "bare"


def test_funders_are_read_from_offers_and_from_their_track_record() -> None:
    q = profile("q", kind="cso", countries=("MN",))
    offers = profile("offers", kind="funder", offers=("funding",))
    cofunded = profile("cofunded", kind="government", record=(Record("p:belt", "Belt", "co_funder", ("MN",)),))
    led_far = profile("led_far", kind="government", record=(Record("p:x", "X", "lead", ("CN",)),))
    cso_led = profile("cso_led", kind="cso", record=(Record("p:y", "Y", "lead", ("MN",)),))
    values = {c.key: intent_fit("co_funding", q, c) for c in (offers, cofunded, led_far, cso_led)}
    assert values["offers"][0] == 1.0 and values["offers"][1] == ("funding",)
    assert values["cofunded"][0] == pytest.approx(0.7) and values["cofunded"][2][0].project == "p:belt"
    assert values["led_far"][0] == pytest.approx(0.5 * 0.8)  # led, but in none of the query's countries
    assert values["cso_led"][0] == 0.0  # a CSO leading a project is not thereby a funder
    m = score_pair(q, cofunded, 0.0, intent="co_funding")
    assert m.explanation.track_record and m.explanation.reason


def test_the_able_to_fund_filter_reads_offers_and_the_track_record() -> None:
    from matcher.rank import Filters, Profile, Record

    only = Filters(able_to_fund=True)
    led = (Record("p:x", "X", "lead"),)
    assert only.admits(Profile(key="s:a", name="A", kind="cso", offers=("funding",)))
    assert not only.admits(Profile(key="s:b", name="B", kind="cso", record=led))  # a CSO leading is not funding
    assert only.admits(Profile(key="s:c", name="C", kind="government", record=led))
    assert only.admits(Profile(key="s:d", name="D", kind="academia", record=(Record("p:y", "Y", "co_funder"),)))
    assert not only.admits(Profile(key="s:e", name="E", kind="academia"))
    assert only.admits(Profile(key="p:f", name="F", kind="project"))  # projects are not asked to fund
    assert Filters().admits(Profile(key="s:e", name="E", kind="academia"))


def test_dust_and_sandstorms_pair_their_source_and_affected_areas() -> None:
    """For a question about dust and sandstorms, one side where they start (China, Mongolia) and the
    other downwind (Republic of Korea, Japan) is a reason of its own, in either direction; it counts
    as much as a shared country, and nothing else about the pair needs to be shared."""
    korean = profile("kr", kind="government", countries=("KR",), themes=("dust_sandstorms",))
    mongolian = profile("mn", kind="cso", countries=("MN",), themes=("trees",))
    japanese = profile("jp", kind="cso", countries=("JP",), themes=("trees",))
    m = score_pair(korean, mongolian, 0.2)
    assert m.explanation.dust is not None and m.explanation.dust.source == ("MN",)
    assert m.explanation.dust.affected == ("KR",) and m.explanation.reason and m.values["geography"] == 0.5
    assert rank(korean, [mongolian, japanese], {"mn": 0.2, "jp": 0.2}, k=5)[0].key == "mn"
    assert [x.key for x in rank(korean, [japanese], {"jp": 0.2}, k=5)] == []  # both downwind: no reason
    back = score_pair(profile("q", countries=("CN",), themes=("dust_sandstorms",)), japanese, 0.2)
    assert back.explanation.dust is not None and back.explanation.dust.source == ("CN",)
    assert score_pair(profile("q", countries=("KR",), themes=("trees",)), mongolian, 0.2).explanation.dust is None


def test_the_exposure_spread_lowers_the_experienced_as_a_part_of_its_own() -> None:
    """Ranking.spread lowers a stakeholder's score by spread × its experience (popularity), shown as a
    negative part so the parts still add up; without the experience signal (projects) nothing changes."""
    from dataclasses import replace as copy

    seasoned = profile("old", kind="funder", themes=("trees",), offers=("funding",))
    newcomer = profile("new", kind="funder", themes=("trees",), offers=("funding",))
    spread = copy(Ranking(), spread=0.3)
    old = score_pair(QUERY, seasoned, 0.5, ranking=spread, signals={"popularity": 1.0})
    new = score_pair(QUERY, newcomer, 0.5, ranking=spread, signals={"popularity": 0.0})
    plain = score_pair(QUERY, seasoned, 0.5, signals={"popularity": 1.0})
    assert old.components["spread"] == -0.3 and "spread" not in new.components and "spread" not in plain.components
    assert old.score == pytest.approx(sum(old.components.values()), abs=1e-6)
    assert old.score == pytest.approx(plain.score - 0.3, abs=1e-6)
    assert "spread" not in score_pair(QUERY, seasoned, 0.5, ranking=spread).components  # no signal: a project


def test_a_stale_candidate_is_lowered_by_a_share_of_its_score() -> None:
    fresh = profile("f", kind="funder", themes=("trees",), offers=("funding",))
    stale = profile("s", kind="funder", themes=("trees",), offers=("funding",), stale=True)
    a, b = score_pair(QUERY, fresh, 0.5), score_pair(QUERY, stale, 0.5)
    assert b.score == pytest.approx(0.85 * a.score, abs=1e-5) and b.components["stale"] < 0
    assert b.score == pytest.approx(sum(b.components.values()), abs=1e-5)
    assert [m.key for m in rank(QUERY, [stale, fresh], {"f": 0.5, "s": 0.5}, k=2)] == ["f", "s"]


def test_words_in_common_weighing_well_above_the_usual_explain_a_result() -> None:
    q = profile("q", themes=("sand",))
    worded, usual = profile("worded"), profile("usual")  # nothing shared but words
    signals = {"worded": {"words": WORDS_STANDING}, "usual": {"words": WORDS_STANDING - 0.01}}
    got = rank(q, [worded, usual], {"worded": 0.5, "usual": 0.9}, k=5, signals=signals)
    assert [m.key for m in got] == ["worded"]
    assert got[0].explanation.words == SharedWords(WORDS_STANDING) and got[0].explanation.reason
    # a lexical value read from meaning (another script) is no word in common: it explains nothing
    assert rank(q, [usual], {"usual": 0.9}, k=5, signals={"usual": {"lexical": 0.9}}) == []
