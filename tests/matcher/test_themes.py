from __future__ import annotations

import json

from api.settings import ROOT
from matcher.text import normalise_place, sentences
from matcher.themes import Theme, assign_themes, best_evidence, merge_assignments
from matcher.vocab import infer_needs

SAND = Theme("sand", "Sand fixation", "", ("sand fixation", "dune"))
TREES = Theme("trees", "Afforestation", "", ("shelterbelt", "tree planting"))


def test_assignment_grows_with_evidence_and_is_ordered() -> None:
    text = "Dunes move every spring. Sand fixation in Kubuqi stops the dunes. We also do tree planting."
    got = assign_themes(text, [TREES, SAND])
    assert [a.theme for a in got] == ["sand", "trees"]
    assert got[0].confidence > got[1].confidence >= 0.5
    assert all(a.source == "auto" for a in got)
    assert assign_themes("Nothing relevant at all.", [SAND]) == []


def test_manual_themes_win_over_automatic_ones() -> None:
    merged = merge_assignments(["trees"], assign_themes("Sand fixation and shelterbelt work.", [SAND, TREES]))
    assert [(a.theme, a.source) for a in merged] == [("trees", "manual"), ("sand", "auto")]


def test_best_evidence_prefers_the_sentence_with_most_keywords() -> None:
    parts = ["A dune.", "Sand fixation of the dune belt.", "Nothing."]
    ev = best_evidence(parts, SAND)
    assert ev is not None and ev.sentence == "Sand fixation of the dune belt."
    assert best_evidence(["Nothing here."], SAND) is None


def test_sentences_and_places() -> None:
    assert sentences("We plant. Since 2010 in the Gobi! Need help?") == ["We plant. Since 2010 in the Gobi!",
                                                                          "Need help?"]
    assert sentences("") == []
    assert normalise_place("Kubuqi Desert") == normalise_place("the Kubuqi") == "kubuqi"
    assert normalise_place("Inner Mongolia") != normalise_place("Mongolia")


def test_needs_are_read_from_free_text() -> None:
    assert infer_needs("We plant saxaul in the Gobi and need co-funding and volunteers.") == ["funding", "volunteers"]
    assert infer_needs("We offer training to herders.") == []


def test_vocabulary_file_is_complete() -> None:
    themes = json.loads((ROOT / "seed_profiles" / "themes.json").read_text())["themes"]
    ids = [t["id"] for t in themes]
    assert len(ids) == len(set(ids)) >= 17
    for t in themes:
        assert t["label"] and t["definition"] and t["keywords"] and t["sdg"] and t["neaspec_areas"]
