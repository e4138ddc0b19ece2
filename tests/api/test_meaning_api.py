"""Closeness in meaning through the product path: the corpus keeps a reference sample and a fitted
map, a text in another script gets lexical values from meaning, and a result close in meaning says
why with a sentence of each side."""

from __future__ import annotations

import json

import numpy as np
from fastapi.testclient import TestClient

from api.app import create_app
from api.service import DLDMatch
from api.settings import ROOT
from matcher.meaning import CLOSE_STANDING
from matcher.text import sentences


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
    with TestClient(create_app(seeded.settings, service=seeded, start="none")) as client:
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


def test_a_result_close_in_meaning_shows_a_sentence_of_each_side(seeded: DLDMatch) -> None:
    text = _seed_description("neaspec")
    with TestClient(create_app(seeded.settings, service=seeded, start="none")) as client:
        body = client.post("/match", json={"text": text, "k": 10}).json()
    first = body["stakeholders"][0]
    assert first["id"] == "neaspec"
    close = first["explanation"]["close_in_meaning"]
    assert close is not None and close["standing"] >= CLOSE_STANDING
    assert close["closer_than"] > 0.9
    assert close["query_sentence"] in sentences(text)
    assert close["candidate_sentence"] in sentences(text)  # the same text: its own sentence
    assert close["similarity"] > 0.99
    for r in body["stakeholders"]:
        c = r["explanation"]["close_in_meaning"]
        assert c is None or c["standing"] >= CLOSE_STANDING
