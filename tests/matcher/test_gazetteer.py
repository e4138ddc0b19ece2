from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path

import pytest

from matcher.gazetteer import DATA, all_places, countries_in, lookup, mentions, places_in


def names(text: str) -> list[str]:
    return [p.name for p in places_in(text)]


@pytest.mark.parametrize(("text", "place", "country"), [
    ("We plant saxaul in the Gobi and need co-funding, like others in Mongolia.", "Gobi", "MN"),
    ("我们在内蒙古库布其沙漠植树，也和中国的伙伴合作。", "Kubuqi", "CN"),
    ("ゴビ砂漠で植林をしている日本のNGOです。", "Gobi", "JP"),
    ("고비사막에서 나무를 심는 한국 단체입니다.", "Gobi", "KR"),
    ("Бид Говийн цөлд мод тарьж байна, Монголын төрийн бус байгууллага.", "Gobi", "MN"),
    ("Мы сажаем деревья в пустыне Гоби и работаем в России.", "Gobi", "RU"),
])
def test_each_language_names_a_place_and_a_country(text: str, place: str, country: str) -> None:
    assert place in names(text)
    assert country in countries_in(text)


def test_names_in_six_languages_reach_one_place() -> None:
    for text in ("Inner Mongolia", "内蒙古", "内モンゴル", "내몽골", "Өвөр Монгол", "Внутренняя Монголия"):
        assert names(text) == ["Inner Mongolia"], text
        assert countries_in(text) == [] and countries_in(text, via_places=True) == ["CN"], text


def test_inner_mongolia_is_china_not_mongolia() -> None:
    text = "A project in Inner Mongolia and one in Mongolia; 内蒙古和蒙古国; во Внутренней Монголии"
    assert countries_in(text) == ["MN"]
    assert countries_in("Inner Mongolian herders") == []
    assert countries_in("Mongolian herders") == ["MN"]


def test_korea_alone_is_the_republic_but_north_korea_is_the_dprk() -> None:
    assert countries_in("North Korea") == ["KP"]
    assert countries_in("Korea") == ["KR"]
    assert countries_in("South Korea and the DPRK") == ["KR", "KP"]
    assert countries_in("a North Korean farm and a South Korean NGO") == ["KP", "KR"]
    assert countries_in("Korean donors") == ["KR"]
    assert countries_in("Северная Корея и Южная Корея") == ["KP", "KR"]
    assert countries_in("북한과 한국") == ["KP", "KR"]
    assert countries_in("北朝鮮と韓国") == ["KP", "KR"]
    # Names that contain a Korea but name neither State.
    assert countries_in("the Korean Peninsula and the inter-Korean border") == []
    assert countries_in("the Korean Peninsula", via_places=True) == ["KR", "KP"]


def test_japan_and_japanese_russia_and_russian() -> None:
    assert countries_in("Japanese experts visited Japan") == ["JP"]
    assert countries_in("Russian scientists from the Russian Federation") == ["RU"]
    assert countries_in("японские и российские учёные") == ["JP", "RU"]


def test_acronyms_match_only_in_capitals() -> None:
    assert countries_in("the ROK and the PRC") == ["KR", "CN"]
    assert countries_in("w tym rok, a prc file") == []


def test_word_boundaries_for_latin_and_cyrillic() -> None:
    assert names("Gobiana and Gobisomething") == []
    assert names("the gobi, GOBI") == ["Gobi"]
    # Russian endings are a closed list: bark (кора), root (корень) and whale (кита) are not countries.
    assert countries_in("кора деревьев, корень, кита") == []
    assert countries_in("в Китае, из Кореи, о Монголии, Монголын") == ["CN", "KR", "MN"]


def test_cjk_names_match_inside_running_text() -> None:
    assert names("他们在腾格里沙漠和毛乌素沙地治沙") == ["Tengger", "Mu Us"]
    assert names("쿠부치사막에서") == ["Kubuqi"]
    # 고비 alone is "a critical moment" and starts 고비용 ("high cost").
    assert names("고비용 문제") == []
    # 中国 in 中国地方 (western Honshu) is not China.
    assert countries_in("中国地方の鳥取砂丘") == []


def test_longest_match_first_and_no_overlaps() -> None:
    found = mentions("Ulaanbaatar, the South Gobi Province and the Gobi Desert")
    assert [(m.text, m.place.name if m.place else None) for m in found] == [
        ("Ulaanbaatar", "Ulaanbaatar"), ("South Gobi Province", "Ömnögovi"), ("Gobi Desert", "Gobi")]
    spans = [(m.start, m.end) for m in found]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_spelling_variants_and_diacritics() -> None:
    assert names("Zamyn Uud, Zamiin-Uud, Замын-Үүд") == ["Zamyn-Uud"]
    assert names("Omnogovi") == names("Ömnögovĭ") == ["Ömnögovi"]
    assert names("Hunshandake or Otindag") == ["Hunshandake"]
    assert names("Alashan and Alxa League") == ["Alxa"]


def test_places_carry_kind_countries_and_known_coordinates() -> None:
    ub = lookup("Ulaanbaatar")
    assert ub is not None and ub.countries == ("MN",) and ub.kind == "town"
    assert ub.lat is not None and ub.lon is not None and abs(ub.lat - 47.9) < 0.2 and abs(ub.lon - 106.9) < 0.2
    gobi = lookup("Gobi Desert")
    assert gobi is not None and gobi.kind == "desert" and set(gobi.countries) == {"MN", "CN"}
    tumen = lookup("Tumen River")
    assert tumen is not None and tumen.kind == "river" and tumen.lat is None
    assert lookup("Kubuqi Desert") == lookup("库布其沙漠") == lookup("쿠부치 사막")
    assert lookup("Nowhere at all") is None


def test_the_data_file_is_small_complete_and_cited() -> None:
    assert DATA.stat().st_size < 300_000
    data = json.loads(DATA.read_text(encoding="utf-8"))
    kinds = {p["kind"] for p in data["places"]}
    assert {"country", "province", "aimag", "desert", "river", "town"} <= kinds
    countries = {p["id"] for p in data["places"] if p["kind"] == "country"}
    assert countries == {"CN", "MN", "JP", "KR", "KP", "RU"}
    for p in data["places"]:
        assert p["names"].get("en"), p["id"]
        assert p["source"], p["id"]
        assert (p["lat"] is None) == (p["lon"] is None), p["id"]
    country = {p["id"]: p for p in data["places"]}["MN"]
    assert set(country["names"]) == {"en", "zh", "ja", "ko", "mn", "ru"}
    assert len(all_places()) == len(data["places"])


def test_the_data_file_is_what_the_build_script_makes() -> None:
    pytest.importorskip("pycountry")
    pytest.importorskip("babel")
    script = Path(__file__).resolve().parents[2] / "scripts" / "build_gazetteer.py"
    spec = importlib.util.spec_from_file_location("build_gazetteer", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    stored = json.loads(DATA.read_text(encoding="utf-8"))
    assert built["places"] == stored["places"]
    assert built["demonyms"] == stored["demonyms"] and built["ambiguous"] == stored["ambiguous"]


@pytest.mark.parametrize(("text", "home"), [
    ("We're a Japanese manufacturer; yellow dust hits our factories.", ["JP"]),
    ("Our company in Gansu supplies shrub seedlings.", ["CN"]),
    ("我们是一家日本企业，想资助治沙。", ["JP"]),
    ("私たちは韓国のNGOです。", ["KR"]),
    ("우리는 몽골의 단체입니다.", ["MN"]),
    ("Мы — российская компания.", ["RU"]),
    ("Бид Монголын төрийн бус байгууллага.", ["MN"]),
    ("We are a firm from Japan; we are based in Ulaanbaatar too.", ["JP", "MN"]),
    ("Мы базируемся в Монголии.", ["MN"]),
    ("Which projects in Mongolia could we join?", []),
    ("Yellow dust from Mongolia reaches Japan.", []),
    ("Japan funds it. We want to know more?", []),
    # where the asker looks or works with others is not where it is
    ("We'd like to fund restoration in Mongolia.", []),
    ("Our partners in China fund us.", []),
    ("We are looking for partners in Mongolia to stop dust storms.", []),
    ("Мы ищем партнёров в Китае.", []),
    ("我们是一家日本企业，想资助蒙古的治沙项目。", ["JP"]),
    ("Our volunteers restore bare ground where the dust storms start, so less dust blows on to Seoul and Tokyo.", []),
    # questions without a question mark ask
    ("私たちはモンゴルのプロジェクトに参加できますか。", []),
])
def test_home_countries_are_those_the_asker_says_it_is_in(text: str, home: list[str]) -> None:
    from matcher.gazetteer import home_countries

    assert home_countries(text) == home
