"""The projects' lexical part: the words a question shares with a project's title and description,
weighed in the stakeholders' vocabulary; in another script, read from meaning; read for a bounded
number of the candidates closest in meaning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import cli
from api.features import project_signals
from api.service import DLDMatch
from api.settings import ROOT
from matcher.text import is_latin
from tests.conftest import secretariat_headers


def _projects(seeded: DLDMatch, text: str) -> list[dict]:
    with TestClient(create_app(seeded.settings, service=seeded, start="none"),
                    headers=secretariat_headers(seeded)) as client:
        response = client.post("/match", json={"text": text, "k": 50})
    assert response.status_code == 200, response.text
    return response.json()["projects"]


def test_a_project_sharing_the_questions_rare_words_has_the_highest_lexical_part(seeded: DLDMatch) -> None:
    projects = _projects(seeded, "Which project develops a DSS forecasting model with two working groups?")
    by_id = {p["id"]: p["parts"]["lexical"] for p in projects}
    assert by_id.get("temm_dss_research", 0) > 0.1
    assert max(by_id, key=lambda key: (by_id[key], key)) == "temm_dss_research"
    assert min(by_id.values()) == 0.0  # a project sharing none of the words gets nothing from them


def test_a_question_in_another_script_reads_the_projects_lexical_part_from_meaning(seeded: DLDMatch) -> None:
    projects = _projects(seeded, "沙尘暴预报模型的联合研究，以及在蒙古恢复草原。")
    assert projects
    ordered = sorted((p for p in projects if p["parts"]["semantic"] > 0), key=lambda p: p["parts"]["semantic"])
    lexical = [p["parts"]["lexical"] for p in ordered]
    assert len(ordered) >= 3 and any(v > 0 for v in lexical)
    assert lexical == sorted(lexical)  # grows with the similarity: read from it, not from borrowed words


def test_the_lexical_part_is_read_for_the_closest_candidates_only(seeded: DLDMatch) -> None:
    corpus = seeded.snapshot().corpus
    usual = corpus.project_usual(np.ones(seeded.embedder.dim, dtype=np.float32) / np.sqrt(seeded.embedder.dim))
    sims = {"project:a": 0.9, "project:b": 0.5, "project:c": 0.7}
    texts = {key: "sand and dust storm forecasting model" for key in sims}
    signals = project_signals(corpus, usual, sims, texts, "a dust storm forecasting model", limit=2)
    assert set(signals) == set(sims)
    assert {key for key, s in signals.items() if "lexical" in s} == {"project:a", "project:c"}
    assert signals["project:a"]["lexical"] > 0.5
    none = project_signals(corpus, usual, sims, {}, "a dust storm forecasting model", limit=2)
    assert all("lexical" not in s for s in none.values())  # no text read: no words in common counted


def test_fit_questions_projects_only_keeps_the_stakeholder_weights(tmp_path: Path) -> None:
    out = tmp_path / "ranker.json"
    served = json.loads((ROOT / "matcher" / "ranker.json").read_text())
    out.write_text(json.dumps(served))
    result = CliRunner().invoke(cli, ["fit-questions", "--projects-only", "--output", str(out),
                                      "--cache", str(tmp_path / "cache")], env={"DLDMATCH_EMBEDDER": "fake"})
    assert result.exit_code == 0, result.output
    assert "projects, cross-validated nDCG@10" in result.output
    data = json.loads(out.read_text())
    assert data["weights"] == served["weights"] and data["intent_weight"] == served["intent_weight"]
    assert data["completing_weights"] == served["completing_weights"] and data["model"] == served["model"]
    assert "lexical" in data["project_weights"] and abs(sum(data["project_weights"].values()) - 1) < 1e-3
    fitted = data["fitted_on"]["projects"]
    assert fitted["questions"] == 15 and fitted["cross_validated"]["folds"] == 5
    assert data["fitted_on"]["cross_validated"] == served["fitted_on"]["cross_validated"]  # the stakeholders' own
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"model": served["model"]}))
    refused = CliRunner().invoke(cli, ["fit-questions", "--projects-only", "--output", str(bare)],
                                 env={"DLDMATCH_EMBEDDER": "fake"})
    assert refused.exit_code == 2 and "no fitted weights" in refused.output
    assert json.loads(bare.read_text()) == {"model": served["model"]}  # nothing written
    with_rows = CliRunner().invoke(cli, ["fit-questions", "--projects-only", "--output", str(out),
                                         "--rows", str(tmp_path / "rows.json")], env={"DLDMATCH_EMBEDDER": "fake"})
    assert with_rows.exit_code == 2 and "--rows" in with_rows.output and not (tmp_path / "rows.json").exists()


def test_fit_questions_users_only_keeps_the_projects_and_completing_weights(tmp_path: Path) -> None:
    out = tmp_path / "ranker.json"
    served = json.loads((ROOT / "matcher" / "ranker.json").read_text())
    odd = {**{k: 0.0 for k in served["weights"]}, "popularity": 1.0}  # what no fit on the questions gives
    served = {**served, "weights": odd, "intent_weight": 0.0,
              "fitted_on": {**served["fitted_on"], "consortia": {**served["fitted_on"]["consortia"],
                                                                 "ndcg@10_fitted": 0.5}}}
    out.write_text(json.dumps(served))
    rows = tmp_path / "rows.json"
    args = ["fit-questions", "--users-only", "--no-consortia", "--output", str(out), "--cache", str(tmp_path / "cache"),
            "--rows", str(rows)]
    result = CliRunner().invoke(cli, args, env={"DLDMATCH_EMBEDDER": "fake"})
    assert result.exit_code == 0, result.output
    assert "cross-validated nDCG@10 (5 folds over 45 questions)" in result.output and rows.exists()
    data = json.loads(out.read_text())
    assert data["project_weights"] == served["project_weights"] and data["model"] == served["model"]
    assert data["completing_weights"] == served["completing_weights"]
    assert set(data["weights"]) == set(odd) and data["weights"] != odd
    assert abs(sum(data["weights"].values()) + data["intent_weight"] - 1) < 1e-3
    fitted = data["fitted_on"]
    assert fitted["users"]["command"] == fitted["command"] == "dldmatch fit-questions --users-only"
    assert fitted["consortia"]["ndcg@10_fitted"] is None  # no consortia asked: the earlier figure is not kept
    assert fitted["in_sample_ndcg@10"]["stakeholders"] > fitted["in_sample_ndcg@10"]["stakeholders_before"]
    assert fitted["cross_validated"] != served["fitted_on"]["cross_validated"]
    assert data["bands"] != served["bands"]
    again = CliRunner().invoke(cli, args, env={"DLDMATCH_EMBEDDER": "fake"})  # from the rows written, asking nothing
    assert again.exit_code == 0, again.output
    assert json.loads(out.read_text())["weights"] == data["weights"]
    both = CliRunner().invoke(cli, ["fit-questions", "--users-only", "--projects-only", "--output", str(out)],
                              env={"DLDMATCH_EMBEDDER": "fake"})
    assert both.exit_code == 2 and "not both" in both.output
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({**served, "completing_weights": None}))
    refused = CliRunner().invoke(cli, ["fit-questions", "--users-only", "--no-consortia", "--output", str(bare)],
                                 env={"DLDMATCH_EMBEDDER": "fake"})
    assert refused.exit_code == 2 and "no fitted weights" in refused.output
    assert json.loads(bare.read_text())["completing_weights"] is None  # nothing written
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**served, "model": "another model"}))
    mismatched = CliRunner().invoke(cli, ["fit-questions", "--users-only", "--no-consortia", "--output", str(other)],
                                    env={"DLDMATCH_EMBEDDER": "fake"})
    assert mismatched.exit_code == 2 and "not the one in" in mismatched.output
    assert json.loads(other.read_text())["model"] == "another model"  # nothing written


def test_projects_filtered_by_shared_themes_keep_their_lexical_part(seeded: DLDMatch) -> None:
    with TestClient(create_app(seeded.settings, service=seeded, start="none"),
                    headers=secretariat_headers(seeded)) as client:
        response = client.get("/stakeholders/elion/projects", params={"min_shared_themes": 1, "k": 20})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results and any(p["parts"]["lexical"] > 0 for p in results)


def test_a_purpose_reaches_the_projects_lexical_part(seeded: DLDMatch) -> None:
    with TestClient(create_app(seeded.settings, service=seeded, start="none"),
                    headers=secretariat_headers(seeded)) as client:
        response = client.get("/stakeholders/elion/projects",
                              params={"purpose": "a DSS forecasting model with two working groups", "k": 50})
    assert response.status_code == 200, response.text
    by_id = {p["id"]: p["parts"]["lexical"] for p in response.json()["results"]}
    assert max(by_id, key=lambda key: (by_id[key], key)) == "temm_dss_research"


def test_a_mixed_script_text_keeps_its_latin_words(seeded: DLDMatch) -> None:
    corpus = seeded.snapshot().corpus
    usual = corpus.project_usual(np.ones(seeded.embedder.dim, dtype=np.float32) / np.sqrt(seeded.embedder.dim))
    text = "我们需要一个沙尘暴预报模型，用于蒙古和中国北方的早期预警系统与联合研究。 dust storm forecasting model"
    assert not is_latin(text)
    sims = {"project:a": 0.2, "project:b": 0.1}
    signals = project_signals(corpus, usual, sims, {key: "sand and dust storm forecasting model" for key in sims},
                              text, limit=5)
    assert all(s["lexical"] > 0.3 for s in signals.values())  # its English words count, not only its meaning
