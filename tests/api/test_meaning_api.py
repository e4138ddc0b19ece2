"""Closeness in meaning through the product path: the corpus keeps a reference sample and a fitted
map, a text in another script gets lexical values from meaning, and a result close in meaning says
why with a sentence of each side."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
from fastapi.testclient import TestClient

from api.app import create_app
from api.service import DLDMatch
from api.settings import ROOT
from matcher.meaning import CLOSE_STANDING, Closeness
from matcher.rank import Explanation, Match, Profile
from tests.conftest import secretariat_headers


def _seed_description(sid: str) -> str:
    for line in (ROOT / "seed_profiles" / "stakeholders.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip() and json.loads(line)["id"] == sid:
            return json.loads(line)["description"]
    raise KeyError(sid)


def test_the_full_build_keeps_a_reference_and_fits_the_map_on_the_profiles_own_texts(seeded: DLDMatch) -> None:
    corpus = seeded.snapshot().corpus
    assert corpus.reference.shape == (len(corpus), seeded.embedder.dim)
    assert corpus.meaning is not None
    values = corpus.meaning.value(np.linspace(-3, 6, 40))
    assert np.all(np.diff(values) >= 0) and values[-1] > values[0]


def test_a_text_in_another_script_has_lexical_values_read_from_meaning(seeded: DLDMatch) -> None:
    with TestClient(create_app(seeded.settings, service=seeded, start="none"), headers=secretariat_headers(seeded)) as client:
        body = client.post("/match", json={"text": "Восстановление пастбищ и борьба с опустыниванием в Гоби.",
                                           "k": 20}).json()
    results = body["stakeholders"]
    assert results
    assert any(r["parts"]["lexical"] > 0 for r in results)
    # the lexical value grows with the similarity (where it is not clipped at 0): it is read from it
    ordered = sorted((r for r in results if r["parts"]["semantic"] > 0), key=lambda r: r["parts"]["semantic"])
    assert len(ordered) >= 3
    lexical = [r["parts"]["lexical"] for r in ordered]
    assert lexical == sorted(lexical)


def test_a_result_close_in_meaning_says_how_close(seeded: DLDMatch) -> None:
    text = _seed_description("neaspec")
    with TestClient(create_app(seeded.settings, service=seeded, start="none"), headers=secretariat_headers(seeded)) as client:
        body = client.post("/match", json={"text": text, "k": 10}).json()
    first = body["stakeholders"][0]
    assert first["id"] == "neaspec"
    close = first["explanation"]["close_in_meaning"]
    assert close is not None and close["standing"] >= CLOSE_STANDING
    assert close["closer_than"] > 0.9
    for r in body["stakeholders"]:
        c = r["explanation"]["close_in_meaning"]
        assert c is None or c["standing"] >= CLOSE_STANDING


def _match(key: str, **reasons: object) -> Match:
    e = Explanation(shared_themes=(), query_needs_met=(), candidate_needs_met=(), shared_countries=(),
                    shared_places=(), shared_partners=(), worked_together=False, intent_resources=(),
                    closeness=Closeness(2.5, 0.98))
    return Match(key=key, score=0.5, components={}, explanation=replace(e, **reasons))


def test_only_results_nothing_else_explains_get_a_sentence_pair_and_a_few_at_most(seeded: DLDMatch) -> None:
    search = seeded.search
    query = Profile(key="q:draft", name="q", kind="project",
                    sentences=("We restore grassland with herders.", "We need seedlings."))
    by_key = {f"s:{n}": Profile(key=f"s:{n}", name=str(n), kind="cso",
                                sentences=("Herders restore grassland with us.", f"Other sentence {n}."))
              for n in range(6)}
    matches = [_match("s:0", shared_countries=("MN",))] + [_match(f"s:{n}") for n in range(1, 6)]
    before = search.sentence_vectors.embedded
    shown = search._close_sentences(query, matches, by_key)
    assert [m.key for m in shown] == [m.key for m in matches]
    assert shown[0].explanation.closeness.query_sentence == ""  # explained by its country already
    paired = [m for m in shown if m.explanation.closeness.query_sentence]
    assert [m.key for m in paired] == ["s:1", "s:2", "s:3"]  # the first three only
    for m in paired:
        c = m.explanation.closeness
        assert c.query_sentence == "We restore grassland with herders."
        assert c.candidate_sentence == "Herders restore grassland with us." and 0 < c.similarity <= 1
    # each distinct sentence embedded once, and not again
    assert search.sentence_vectors.embedded - before == 2 + 1 + 3
    search._close_sentences(query, matches, by_key)
    assert search.sentence_vectors.embedded - before == 6


def test_every_shared_theme_shows_a_sentence_of_each_side(loaded: DLDMatch, client: TestClient) -> None:
    """A theme given by hand to a profile whose text names no keyword of it is shown with the profile's
    name when the name says it, else with its sentence nearest the theme in meaning: never empty."""
    grass = "grassland_rangeland"
    made = client.post("/stakeholders", json={
        "id": "t-herd", "name": "Test Family Union", "kind": "cso", "countries": ["MN"],
        "themes": [grass], "description": "We look after the animals of forty families. Our soum is far away."})
    assert made.status_code == 201, made.text
    made = client.post("/projects", json={
        "id": "t-pasture", "title": "Test Pasture Recovery", "countries": ["MN"], "themes": [grass],
        "description": "Ten families rest their land in turns."})
    assert made.status_code == 201, made.text
    shown = 0
    for path in ("/stakeholders/t-herd/partners", "/stakeholders/t-herd/projects"):
        for m in client.get(path, params={"k": 10}).json()["results"]:
            for t in m["explanation"]["shared_themes"]:
                shown += 1
                assert t["query_evidence"] and t["candidate_evidence"], (path, m["id"], t)
                if m["id"] == "t-pasture" and t["theme"] == grass:
                    assert t["candidate_evidence"]["sentence"] == "Test Pasture Recovery"  # its title says it
                    assert t["query_evidence"]["sentence"] in ("We look after the animals of forty families.",
                                                               "Our soum is far away.")  # its own, by meaning
    assert shown


def test_a_project_close_in_meaning_is_shown_with_that_reason(seeded: DLDMatch) -> None:
    """Projects stand out in meaning from the query's usual similarity to projects as stakeholders do:
    a project that shares nothing else with a question is shown for its closeness, saying how close."""
    for line in (ROOT / "seed_profiles" / "projects.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip() and json.loads(line)["id"] == "neamsp":
            project = json.loads(line)
    with TestClient(create_app(seeded.settings, service=seeded, start="none"), headers=secretariat_headers(seeded)) as client:
        body = client.post("/match", json={"text": f"{project['title']}. {project['description']}", "k": 10,
                                           "themes": [], "countries": ["US"]}).json()
    first = body["projects"][0]
    assert first["id"] == "neamsp"
    close = first["explanation"]["close_in_meaning"]
    assert close is not None and close["standing"] >= CLOSE_STANDING and close["closer_than"] > 0.9
    for r in body["projects"]:
        e = r["explanation"]
        others = (e["shared_themes"] or e["query_needs_met"] or e["candidate_needs_met"] or e["shared_countries"]
                  or e["shared_places"] or e["shared_partners"] or e["dust_and_sandstorms"])
        if not others:  # shown for its closeness alone: the two sentences say why
            assert e["close_in_meaning"]["query_sentence"] and e["close_in_meaning"]["candidate_sentence"], r["id"]
        c = r["explanation"]["close_in_meaning"]
        assert c is None or c["standing"] >= CLOSE_STANDING


def test_a_card_says_closer_than_how_many_projects_or_profiles_and_never_all(seeded: DLDMatch) -> None:
    """On the served page a project card compares with projects and an organisation card with profiles;
    the share is rounded down and kept below 100 (the sample is a sample)."""
    import re

    for line in (ROOT / "seed_profiles" / "projects.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip() and json.loads(line)["id"] == "neamsp":
            project = json.loads(line)
    with TestClient(create_app(seeded.settings, service=seeded, start="none")) as client:
        page = client.get("/search", params={"text": f"{project['title']}. {project['description']}"}).text
    projects = page[page.index('id="projects-heading"'):]
    assert re.search(r"than \d+ % of projects", projects)
    assert not re.search(r"than 100 %", page)
    people = page[:page.index('id="projects-heading"')]
    assert "of projects" not in people
