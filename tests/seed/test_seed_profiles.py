"""Every fact of the seed profiles cites a paragraph of a seed document that exists and mentions it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.service import DLDMatch
from api.settings import ROOT
from matcher.vocab import COUNTRIES
from store.citations import document_paragraphs, mentions, paragraphs

SEED_DOCS = ROOT.parent / "shared" / "seeds"
RECORDS = [json.loads(line) for p in sorted((ROOT / "seed_profiles").glob("*.jsonl"))
           for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
PLACE_FIELDS = {"places", "countries"}


def _names(record: dict[str, Any]) -> list[str]:
    return [record.get("name") or record["title"], *record.get("aliases", [])]


def _citations() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(f"{r['id']}:{s['doc'][:3]}#{s['para']}", r, s) for r in RECORDS for s in r["sources"] if "doc" in s]


@pytest.mark.skipif(not SEED_DOCS.is_dir(), reason="the seed documents live in ../shared/seeds beside the clone")
@pytest.mark.parametrize(("label", "record", "source"), _citations(), ids=[c[0] for c in _citations()])
def test_cited_paragraph_exists_and_mentions_the_entity(label: str, record: dict[str, Any],
                                                        source: dict[str, Any]) -> None:
    paras = document_paragraphs(SEED_DOCS / source["doc"])
    assert source["para"] in paras, f"{label}: no paragraph {source['para']}"
    text = paras[source["para"]]
    if set(source["supports"]) <= PLACE_FIELDS:  # a source for where it happens mentions the place
        places = [p["name"] for p in record["places"]] + [COUNTRIES[c] for c in record["countries"]]
        assert mentions(text, places), label
    else:
        assert mentions(text, _names(record)), f"{label}: paragraph does not mention {_names(record)}"


def test_every_record_cites_a_source_and_outside_entries_cite_an_address() -> None:
    """A public address may support a record outside the seed documents, or a name in the
    organisation's own script (which the English documents do not give)."""
    for r in RECORDS:
        assert r["sources"], r["id"]
        for s in r["sources"]:
            by_address = s.get("url", "").startswith("http")
            assert ("doc" in s and "para" in s) or (by_address and (r.get("outside_seed")
                                                                    or s["supports"] == ["original_name"])), r["id"]
        if r.get("original_name"):
            assert any("original_name" in s["supports"] for s in r["sources"]), r["id"]
            assert not r["original_name"].isascii(), r["id"]


def test_roughly_forty_of_each_and_no_invented_money_or_contacts() -> None:
    stakeholders = [r for r in RECORDS if r["type"] == "stakeholder"]
    projects = [r for r in RECORDS if r["type"] == "project"]
    assert len(stakeholders) >= 40 and len(projects) >= 40
    for r in RECORDS:
        assert "contact" not in r and "budget" not in r and "funding_sought" not in r, r["id"]
    ids = {s["id"] for s in stakeholders}
    for p in projects:
        for part in p["participants"]:
            assert part["stakeholder"] in ids, (p["id"], part)


def test_the_named_actors_of_the_issue_are_present() -> None:
    names = " | ".join(n for r in RECORDS for n in _names(r))
    for expected in ("State Forestry Administration", "China National Coordinating Group to Combat Desertification",
                     "Ministry of Environment and Tourism of Mongolia", "National Forest Agency of Mongolia",
                     "Korea Forest Service", "Ministry of Land and Environment Protection", "UNCCD",
                     "Global Mechanism", "UNEP", "ADB", "ESCAP", "FAO", "GEF", "World Agroforestry Centre", "AFoCO",
                     "DLDD-NEAN", "TEMM", "Future Forest", "Ecopeace Asia", "China Green Foundation",
                     "Green Asia Network", "Elion Group", "Three-North Shelterbelt Programme", "Billion Tree in Desert",
                     "Chagannor Project", "Alxa Tengger Desert Fixation Programme", "Peace Forest Initiative",
                     "Plantation Project in Kubuqi Desert", "Review of the Kubuqi Ecological Restoration Project"):
        assert expected in names, expected


def test_paragraph_labels() -> None:
    doc = "Title\n1. First para\ncontinues.\n2.\n\nSecond.\n2.1. Section\n1. Restart\n"
    assert paragraphs(doc) == {"0": "Title", "1": "1. First para continues.", "2": "2. Second.",
                               "2.1": "2.1. Section", "1#2": "1. Restart"}


def test_every_seed_profile_gets_themes_when_loaded(seeded: DLDMatch) -> None:
    for r in seeded.export_records():
        assert r["themes"], r["id"]
    counts = {t.id: t.stakeholders + t.projects for t in seeded.themes()}
    assert sum(counts.values()) > 100 and counts["afforestation_shelterbelts"] > 5
