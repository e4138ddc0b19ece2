"""The judged questions and ``dldmatch evaluate-questions``, through the HTTP routes on the seed profiles."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import cli
from evaluation.keywords import SeedKeywords
from evaluation.questions import USERS, folds, has_reason, load_questions, ndcg, request_for, with_purposes
from api.settings import SEED_PROFILES


def test_the_judged_set_has_fifteen_questions_per_user_on_seed_ids() -> None:
    questions = load_questions()
    assert {u: sum(q["user"] == u for q in questions) for u in USERS} == {u: 15 for u in USERS}
    ids = {json.loads(line)["id"] for name in ("stakeholders.jsonl", "projects.jsonl")
           for line in (SEED_PROFILES / name).read_text().splitlines() if line.strip()}
    for q in questions:
        assert all(g["id"] in ids and g["grade"] in (1, 2) for g in q["grades"]), q["id"]
        method, path, _ = request_for(q)
        assert method in ("GET", "POST") and path.startswith("/")
    for fit, held in folds(questions):
        assert not set(fit) & set(held) and {questions[n]["user"] for n in held} == set(USERS)


def test_metrics() -> None:
    assert ndcg(["a", "b", "c"], {"a": 2, "b": 1}) == 1.0
    assert ndcg(["x", "y"], {"a": 2}) == 0.0
    assert 0 < ndcg(["x", "a"], {"a": 2}) < 1
    assert not has_reason({"explanation": {"shared_themes": [], "worked_together": False}})
    assert has_reason({"explanation": {"shared_places": ["Gobi"]}})
    assert not has_reason({"explanation": {"close_in_meaning": {"standing": 3.1, "closer_than": 0.99}}})
    assert has_reason({"explanation": {"close_in_meaning": {"standing": 3.1, "query_sentence": "We plant saxaul.",
                                                            "candidate_sentence": "It plants saxaul."}}})


def test_evaluate_questions_command(tmp_path: Path) -> None:
    report = tmp_path / "questions.json"
    result = CliRunner().invoke(cli, ["evaluate-questions", "--cache", str(tmp_path / "cache"), "--report",
                                      str(report)], env={"DLDMATCH_EMBEDDER": "fake"})
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["overall"]["questions"] == 45 and len(data["questions"]) == 45
    assert 0 <= data["overall"]["ndcg@10"] <= 1 and "overall" in result.stdout
    # the keyword baselines of the same run, on the same questions, the graph's weight chosen on other folds
    assert data["baselines"]["TF-IDF"]["questions"] == 45 and 0 < data["baselines"]["TF-IDF"]["ndcg@10"] < 1
    assert len(data["baselines"]["TF-IDF + co-participation"]["graph_weights"]) == 5
    assert "TF-IDF + co-participation" in result.stdout
    bad = tmp_path / "bad.json"
    bad.write_text('{"questions": [{"id": "x"}]}')
    refused = CliRunner().invoke(cli, ["evaluate-questions", "--questions", str(bad), "--cache",
                                       str(tmp_path / "cache")], env={"DLDMATCH_EMBEDDER": "fake"})
    assert refused.exit_code == 2 and "has no 'user'" in refused.output


def test_questions_on_a_stored_profile_can_be_asked_with_their_words_as_the_purpose() -> None:
    judged = load_questions()
    asked = with_purposes(judged)
    for q, a in zip(judged, asked):
        if q["route"] == "match":
            assert a == q
        else:
            method, path, params = request_for(a)
            assert method == "GET" and params["purpose"] == q["question"] and "purpose" not in q["params"]
    # the keyword baseline searches the same words with the profile's text
    keywords = SeedKeywords(SEED_PROFILES)
    q = next(q for q in asked if q["route"] == "stakeholder_partners")
    text, _, _ = keywords._asked(q)
    assert text.startswith(q["question"]) and len(text) > len(q["question"])
