from __future__ import annotations

import json

from api.settings import ROOT
import numpy as np

from matcher.text import is_latin, latin_share, normalise_place, sentences
from matcher.themes import (Theme, assign_themes, assign_themes_in_any_language, best_evidence, merge_assignments,
                            themes_by_meaning)
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


def test_script_detection() -> None:
    assert is_latin("Sand fixation in the Kubuqi Desert, Inner Mongolia.")
    assert is_latin("Écologie des steppes") and is_latin("2020")
    for text in ("库布其沙漠的防沙治沙", "고비 사막의 나무 심기", "ゴビ砂漠で植林", "Опустынивание в Монголии",
                 "Говийн цөлжилттэй тэмцэх"):
        assert not is_latin(text), text
    assert latin_share("UNCCD 与 库布其") < 0.5


def test_themes_by_meaning_keep_the_close_ones_with_their_sentence() -> None:
    parts = ["我们固沙。", "我们植树。", "别的。"]
    sims = np.array([[0.60, 0.10, 0.0], [0.20, 0.55, 0.0], [0.1, 0.1, 0.2]])
    got = themes_by_meaning(parts, sims, ["sand", "trees", "water"])
    assert [(a.theme, s) for a, s in got] == [("sand", "我们固沙。"), ("trees", "我们植树。")]
    # far below the best theme: left out even above the threshold
    assert [a.theme for a, _ in themes_by_meaning(parts, sims, ["sand", "trees", "water"], margin=0.01)] == ["sand"]
    # nothing reaches the threshold: the best theme still comes back, so every text has one
    weak = themes_by_meaning(["x。"], np.array([[0.1, 0.2, 0.05]]), ["sand", "trees", "water"])
    assert [a.theme for a, _ in weak] == ["trees"] and weak[0][0].confidence == 0.2
    assert themes_by_meaning([], np.zeros((0, 3)), ["sand", "trees", "water"]) == []


def test_word_prefilter_never_changes_what_the_keywords_find() -> None:
    """could_match only skips keywords that cannot match: themes and evidence are the same as when
    every keyword pattern is searched in every sentence."""
    from api.service import load_vocabulary
    from matcher.text import could_match, keyword_pattern, words_of

    vocabulary = list(load_vocabulary(ROOT / "seed_profiles" / "themes.json").values())
    texts = [json.loads(line)["description"] for name in ("stakeholders.jsonl", "projects.jsonl")
             for line in (ROOT / "seed_profiles" / name).read_text().splitlines() if line.strip()]
    texts += ["Dune-fixing; SAND FIXATION and shelter-belts.", "co-funding for agro-forestry, dunes", ""]
    checked = 0
    for text in texts:
        words = words_of(text)
        for theme in vocabulary:
            for keyword in theme.keywords:
                found = any(keyword_pattern(keyword).search(s) for s in sentences(text))
                assert not found or could_match(keyword, words), (keyword, text[:60])
                checked += found
    assert checked > 100


def _vocabulary() -> list[Theme]:
    from api.service import load_vocabulary

    return list(load_vocabulary(ROOT / "seed_profiles" / "themes.json").values())


def test_every_theme_has_a_label_and_keywords_in_the_five_other_languages() -> None:
    for theme in _vocabulary():
        assert {lang for lang, _ in theme.labels} == {"zh", "ja", "ko", "ru", "mn"}, theme.id
        assert {lang for lang, words in theme.translated if words} == {"zh", "ja", "ko", "ru", "mn"}, theme.id
        assert all(label.strip() for _, label in theme.labels)
        assert theme.label_in("zh-CN") == dict(theme.labels)["zh"] and theme.label_in("fr") == theme.label


def test_themes_from_keywords_in_each_language_with_their_sentence() -> None:
    """Sentences written for this test (not from any seed or translation file): each language finds the
    themes its English version finds by keywords, with the sentence that shows them."""
    vocabulary = _vocabulary()
    english = "We plant shelterbelts and give training to local herders. We also monitor dust storms."
    wanted = {a.theme for a in assign_themes(english, vocabulary)}
    assert {"afforestation_shelterbelts", "capacity_building", "grassland_rangeland", "dust_sandstorms"} <= wanted
    texts = {
        "zh": "我们营造防护林，并为当地牧民举办培训。我们还监测沙尘暴。",
        "ja": "私たちは防風林を造成し、地元の遊牧民に研修を行っています。黄砂の観測も行っています。",
        "ko": "우리는 방풍림을 조성하고 지역 유목민을 위한 교육을 합니다. 황사도 관측합니다.",
        "ru": "Мы создаём лесополосы и проводим обучение для местных скотоводов. Мы также наблюдаем пыльные бури.",
        "mn": "Бид ойн зурвас байгуулж, нутгийн малчдад сургалт явуулдаг. Мөн шороон шуурга ажигладаг.",
    }
    for lang, text in texts.items():
        got = dict((a.theme, s) for a, s in assign_themes_in_any_language(text, vocabulary))
        assert {"afforestation_shelterbelts", "capacity_building", "grassland_rangeland",
                "dust_sandstorms"} <= set(got), (lang, sorted(got))
        assert got["dust_sandstorms"] in sentences(text) and got["dust_sandstorms"] != sentences(text)[0], lang


def test_keywords_of_other_languages_keep_to_their_words() -> None:
    vocabulary = _vocabulary()
    found = lambda text: {a.theme for a, _ in assign_themes_in_any_language(text, vocabulary)}  # noqa: E731
    assert "drought" not in found("Энэ ганц төсөл юм.")  # "ган" (drought) is a word, not a prefix
    assert "drought" in found("Ган гачгийн эрсдэлийг бууруулна.")
    assert "ldn_reporting" in found("我们支持蒙古设定LDN目标。")  # an English acronym inside Chinese
    assert found("Привет, как дела?") == set()


def test_the_common_names_of_dust_and_of_sloping_land_are_read_in_each_language() -> None:
    """Yellow dust is the dust theme and fruit trees on hillsides are agroforestry on sloping land, in
    English as in the words the other languages already had (黄沙, 黄砂, 황사; 坡地, 斜面, 경사지)."""
    vocabulary = _vocabulary()
    found = lambda text: ({a.theme for a in assign_themes(text, vocabulary)} if is_latin(text)  # noqa: E731
                          else {a.theme for a, _ in assign_themes_in_any_language(text, vocabulary)})
    assert "dust_sandstorms" in found("Yellow dust from the continent hits our factories every spring.")
    assert "dust_sandstorms" in found("Asian dust reaches Osaka in April.")
    assert "dust_sandstorms" in found("Желтая пыль приходит каждую весну.")
    for text in ("Farm families plant fruit and nut trees on eroded hillsides.", "农户在山坡上种植果树。",
                 "農家が斜面に果樹を植えています。", "농가가 경사지에 과수를 심습니다.",
                 "Фермеры сажают плодовые деревья на склонах.", "Малчид энгэрт жимсний мод тарьдаг."):
        assert "agroforestry_sloping_land" in found(text), text
