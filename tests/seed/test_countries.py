"""The facts about each member State (seed_profiles/countries.json) cite a paragraph of a seed document
that exists and says them; the dust-and-sandstorm roles the ranking uses are the documents'."""

from __future__ import annotations

import json
import re

import pytest

from api.settings import ROOT
from matcher.rank import DUST_AFFECTED, DUST_SOURCES
from matcher.vocab import COUNTRIES
from store.citations import document_paragraphs

SEED_DOCS = ROOT.parent / "shared" / "seeds"
FACTS = json.loads((ROOT / "seed_profiles" / "countries.json").read_text(encoding="utf-8"))["countries"]


def _facts() -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    out = []
    for code, country in FACTS.items():
        if "dust_and_sandstorms" in country:
            out.append((code, country["dust_and_sandstorms"]))
        out.extend((code, fact) for fact in country.get("ldn", []))
    return out


def test_every_member_state_is_listed_and_the_dust_roles_are_the_rankings() -> None:
    assert set(FACTS) == set(COUNTRIES)
    roles = {code: c["dust_and_sandstorms"]["role"] for code, c in FACTS.items() if "dust_and_sandstorms" in c}
    assert {c for c, r in roles.items() if r == "source"} == DUST_SOURCES
    assert {c for c, r in roles.items() if r == "affected"} == DUST_AFFECTED


@pytest.mark.skipif(not SEED_DOCS.is_dir(), reason="the seed documents live in ../shared/seeds beside the clone")
@pytest.mark.parametrize(("code", "fact"), _facts(), ids=[f"{c}-{f.get('kind', f.get('role'))}" for c, f in _facts()])
def test_each_fact_cites_a_paragraph_that_says_it(code: str, fact: dict) -> None:  # type: ignore[type-arg]
    paragraph = document_paragraphs(SEED_DOCS / fact["source"]["doc"])[fact["source"]["para"]]
    names = {"CN": "China", "MN": "Mongolia", "RU": "Russian Federation", "JP": "Japan", "KR": "Republic of Korea"}
    assert names[code] in paragraph, (code, fact["source"])
    for figure in re.findall(r"\d+(?:\.\d+)?", fact["text"]):  # every number of the fact is the paragraph's
        assert figure in paragraph, (code, figure)
