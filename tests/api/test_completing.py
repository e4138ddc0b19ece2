"""A draft naming two or more participants is completing a consortium: it is ranked by the weights
fitted on real consortia (``Ranking.completing_weights``), any other search by the users' weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.service import DLDMatch
from matcher.rank import COMPLETING, Ranking

USERS = {"semantic": 0.3, "themes": 0.4, "complementarity": 0.3}
CONSORTIA = {"semantic": 0.5, "network": 0.3, "geography": 0.2}


def test_a_draft_with_its_participants_is_ranked_by_the_consortium_weights(
        loaded: DLDMatch, anonymous: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loaded.search, "ranking", Ranking(weights=dict(USERS), completing_weights=dict(CONSORTIA)))
    text = "Planting saxaul shelterbelts in the Gobi against sand and dust storms, with volunteers."
    assert COMPLETING == 2
    for participants, used in ((["t-lab"], USERS), (["t-lab", "t-firm"], CONSORTIA)):
        found = anonymous.post("/match", json={"text": text, "participants": participants, "k": 5}).json()
        assert found["stakeholders"], participants
        for m in found["stakeholders"]:
            shown = {k for k, v in m["components"].items() if v}
            assert shown <= set(used), (participants, m["id"], shown)
            assert sum(m["components"].values()) == pytest.approx(m["score"], abs=1e-5)
    # partner searches for stored profiles keep the users' weights, however many partners they have
    for m in anonymous.get("/projects/t-belt/partners").json()["results"]:
        assert {k for k, v in m["components"].items() if v} <= set(USERS)


def test_the_ranker_file_carries_them_and_the_introductions_share_applies_to_both(tmp_path: Path) -> None:
    served = Path(__file__).parents[2] / "matcher" / "ranker.json"
    data = json.loads(served.read_text())
    data["completing_weights"] = {"consortium": 3.0, "network": 1.0}
    path = tmp_path / "ranker.json"
    path.write_text(json.dumps(data))
    ranking = Ranking.from_file(path)
    assert ranking.completing_weights is not None
    assert ranking.completing_weights["consortium"] == pytest.approx(0.75)
    assert sum(ranking.completing_weights.values()) == pytest.approx(1.0)
    assert ranking.for_query(3).weights == ranking.completing_weights and ranking.for_query(1) is ranking
    shared = ranking.with_introductions(0.2).for_query(2).weights
    assert shared["introductions"] == 0.2 and shared["consortium"] == pytest.approx(0.6)
