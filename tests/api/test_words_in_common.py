"""Words in common as a reason: the TF-IDF cosine of the two texts standing well above the query's
usual one, shown with the words (weightiest first), from a stakeholder's postings row, a changed
row's new text or a project's text; never from a value read from meaning."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from api.app import create_app
from api.features import lexical_usual, words_floor, words_standing
from api.service import DLDMatch
from tests.conftest import secretariat_headers

TEXT = "The Tripartite Environment Ministers Meeting and its two working groups"


def test_a_result_sharing_rare_words_says_which(seeded: DLDMatch) -> None:
    with TestClient(create_app(seeded.settings, service=seeded, start="none"),
                    headers=secretariat_headers(seeded)) as client:
        body = client.post("/match", json={"text": TEXT, "k": 10}).json()
        page = client.get("/search", params={"text": TEXT})
        table = client.get("/search", params={"text": TEXT, "format": "csv"})
    temm = next(m for m in body["stakeholders"] if m["id"] == "temm")
    words = temm["explanation"]["words_in_common"]
    assert words and "tripartite" in " ".join(words) and len(words) <= 4
    assert all(w in TEXT.lower() for w in words)
    project = next(m for m in body["projects"] if m["id"] == "temm_dss_research")
    assert project["explanation"]["words_in_common"]
    # a result with no word of weight in common says none
    assert any(not m["explanation"]["words_in_common"] for m in body["stakeholders"])
    assert "Words in common:" in page.text and "tripartite" in page.text.lower()
    rows = list(csv.DictReader(io.StringIO(table.content.decode("utf-8-sig"))))
    assert any("tripartite" in r["words in common"] for r in rows)


def test_words_come_from_the_row_or_the_text_and_pairs_stand_for_their_words(seeded: DLDMatch) -> None:
    corpus = seeded.snapshot().corpus
    lexicon = corpus.lexicon
    query = corpus.lexical_query(TEXT)
    row = corpus.row_of_key("s:temm")
    assert row is not None
    from_row = lexicon.words_of_row(query, row)
    assert from_row and len(from_row) <= 4
    singles = {w for w in from_row if " " not in w}
    assert not any(w in pair.split() for pair in from_row if " " in pair for w in singles)
    assert lexicon.words_of_text(query, "A meeting of environment ministers.")[:1] == ("environment ministers",)
    assert lexicon.words_of_text(query, "Nothing alike here.") == ()
    assert lexicon.words_of_row(None, row) == () and lexicon.words_of_row(query, len(corpus) + 5) == ()


def test_a_changed_rows_words_are_those_of_its_new_text(seeded: DLDMatch) -> None:
    corpus = seeded.snapshot().corpus
    row = corpus.row_of_key("s:temm")
    assert row is not None
    query = corpus.lexical_query("tree planting and ministers meeting")
    assert "ministers meeting" in corpus.lexicon.words_of_row(query, row)
    changed = corpus.lexicon.with_rows({row: "Tree planting in the Gobi"}, (), len(corpus))
    assert "tree planting" in changed.words_of_row(query, row)
    assert "ministers meeting" not in changed.words_of_row(query, row)  # the old text no longer counts


def test_words_must_reach_the_floor_and_stand_out_from_the_others(seeded: DLDMatch) -> None:
    corpus = seeded.snapshot().corpus
    floor = words_floor(corpus)
    assert 0 < floor < 1
    query = corpus.lexical_query(TEXT)
    own = corpus.row_of_key("s:temm")
    usual, without = lexical_usual(corpus, query), lexical_usual(corpus, query, {own})
    assert len(without.ordered) == len(usual.ordered) - (own in set(corpus.reference_rows.tolist()))
    standings = words_standing(without, {"above": floor, "below": floor * 0.99, "none": 0.0}, floor)
    assert set(standings) == {"above"}


def test_a_question_in_another_script_has_no_words_in_common(seeded: DLDMatch) -> None:
    with TestClient(create_app(seeded.settings, service=seeded, start="none"),
                    headers=secretariat_headers(seeded)) as client:
        body = client.post("/match", json={"text": "三方环境部长会议及其两个工作组关于沙尘暴的联合研究", "k": 20}).json()
    shown = body["stakeholders"] + body["projects"]
    assert shown and all(not m["explanation"]["words_in_common"] for m in shown)
    assert any(m["parts"]["lexical"] > 0 for m in shown)  # its lexical value, read from meaning, explains nothing
