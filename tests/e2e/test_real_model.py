"""End to end on the real all-MiniLM-L6-v2 (from the PyPI package, offline) and the seed profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.service import DLDMatch
from api.settings import ROOT, Settings
from evaluation.questions import has_reason
from embeddings.sentence import SentenceTransformerEmbedder

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="module")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("e2e")
    return Settings(database_url=f"sqlite:///{tmp / 'db.sqlite'}", index_dir=tmp / "index",
                    seed_dir=ROOT / "seed_profiles")


@pytest.fixture(scope="module")
def client(real_settings: Settings, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    app = create_app(real_settings, service=DLDMatch(real_settings, embedder), start="sync")
    with TestClient(app) as c:
        yield c


def test_model_is_the_packaged_minilm_offline(embedder: SentenceTransformerEmbedder) -> None:
    import os

    vectors = embedder.embed(["sand fixation in the Kubuqi desert", "dune stabilisation in Kubuqi",
                              "particulate matter in Seoul"])
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert embedder.model_id == "sentence-transformers/all-MiniLM-L6-v2@bf16" and vectors.shape == (3, 384)
    exact = SentenceTransformerEmbedder(precision="float32").embed(["sand fixation in the Kubuqi desert"])[0]
    assert float(exact @ vectors[0]) > 0.99
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_seed_cso_finds_five_explained_co_funders(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["stakeholders"] >= 40 and health["projects"] >= 40
    for cso in ("future_forest", "green_asia_network", "cgf"):
        body = client.get(f"/stakeholders/{cso}/partners", params={"intent": "co_funding"}).json()
        assert len(body["results"]) >= 5, cso
        for match in body["results"]:
            assert has_reason(match), (cso, match["id"])
            for theme in match["explanation"]["shared_themes"]:
                assert theme["query_evidence"]["sentence"] and theme["candidate_evidence"]["sentence"]
        able = [m for m in body["results"][:5]  # offers funding, or has co-funded, supported or led projects
                if m["explanation"]["intent_resources"] == ["funding"] or m["explanation"]["track_record"]]
        assert len(able) >= 3, (cso, [m["id"] for m in body["results"][:5]])


def test_firm_finds_projects_to_join(client: TestClient) -> None:
    """Only projects one can still join (the completed Kubuqi review is never offered), each with its
    status; China's national desert programmes, where Elion works, among the first five."""
    body = client.get("/stakeholders/elion/projects").json()
    ids = [r["id"] for r in body["results"]]
    assert ids and "kubuqi_review" not in ids
    assert all(r["status"] in ("planned", "ongoing", "unknown") for r in body["results"])
    assert {"three_north_shelterbelt", "beijing_tianjin_desertification", "alxa_tengger"} & set(ids[:5]), ids


def test_free_text_about_saxaul_in_the_gobi(client: TestClient) -> None:
    body = client.post("/match", json={"text": "We plant saxaul shelterbelts in the Gobi against sand and dust "
                                               "storms and need co-funding.", "countries": ["MN"],
                                       "intent": "co_funding"}).json()
    assert body["query"]["needs"] == ["funding"]
    top = body["stakeholders"][:5]
    assert any(m["explanation"]["intent_resources"] == ["funding"] for m in top)
    assert any("MN" in m["countries"] for m in body["projects"][:5])


def test_restart_embeds_nothing(real_settings: Settings, embedder: SentenceTransformerEmbedder,
                                client: TestClient) -> None:
    again = DLDMatch(real_settings, embedder)
    report = again.start()
    assert report["seeded"] is None and report["embedded"] == 0
    assert report["index"] == {"stakeholder": "loaded", "project": "loaded"}
