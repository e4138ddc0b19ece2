"""``evaluation.fit_questions``: weights fitted on judged questions by nDCG@10, reported across folds."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import cli
from evaluation.fit_questions import bands, cross_validate, fit, mean_ndcg, ranked


def _row(n: int, user: str, good_by: str) -> dict:
    """A question whose answer graded 2 is best on ``good_by`` and worst on the other part."""
    other = "themes" if good_by == "semantic" else "semantic"
    return {"id": f"{user}-{n}", "user": user, "results": "stakeholders", "grades": {"right": 2},
            "candidates": [("right", {good_by: 0.9, other: 0.1}), ("wrong", {good_by: 0.3, other: 0.9})]}


def test_fit_finds_the_part_that_ranks_the_answers_first() -> None:
    rows = [_row(n, u, "themes") for n in range(3) for u in ("cso", "firm", "secretariat")]
    equal = {"semantic": 0.5, "themes": 0.5}
    weights = fit(rows, ("semantic", "themes"))
    assert abs(sum(weights.values()) - 1) < 1e-3 and weights["themes"] > weights["semantic"]
    assert mean_ndcg(rows, weights) == 1.0 > mean_ndcg(rows, equal)
    assert ranked(rows[0], weights) == ["right", "wrong"]


def test_cross_validation_scores_each_question_with_weights_fitted_without_it() -> None:
    """Questions that disagree: whatever a fold learns from the others, it cannot reach 1 on all."""
    rows = [_row(n, u, "themes") for n in range(4) for u in ("cso", "firm", "secretariat")]
    rows += [_row(10 + n, u, "semantic") for n in range(1) for u in ("cso", "firm", "secretariat")]
    cv = cross_validate(rows)
    assert set(cv["questions"]) == {r["id"] for r in rows} and set(cv["by_user"]) == {"cso", "firm", "secretariat"}
    assert cv["ndcg@10"] < 1.0
    assert all(cv["questions"][f"{u}-10"] < 1.0 for u in ("cso", "firm", "secretariat"))  # the odd ones out


def test_bands_come_from_the_scores_of_graded_answers() -> None:
    rows = [_row(n, "cso", "themes") for n in range(3)]
    edges = bands(rows, {"themes": 1.0}, {})
    assert edges["strong"] == 0.9 and edges["good"] <= 0.9 * edges["strong"]


def test_bands_are_on_the_scores_served_for_each_intent_and_pooled_where_few() -> None:
    """Without an intent the service renormalises the other weights; the edges must be on that scale."""
    weights = {"themes": 0.5, "intent": 0.5}

    def row(n: int, intent: str) -> dict:
        return {"id": f"q{n}", "user": "cso", "results": "stakeholders", "intent": intent, "grades": {"a": 2, "b": 1},
                "candidates": [("a", {"themes": 0.8, "intent": 1.0}), ("b", {"themes": 0.4, "intent": 1.0})]}

    rows = [row(n, "any") for n in range(8)] + [row(10 + n, "co_funding") for n in range(8)] + [row(20, "implementation")]
    edges = bands(rows, weights, {})
    assert edges["by"]["any"] == {"strong": 0.8, "good": 0.4}  # 1.0 x themes: the intent weight renormalised away
    assert edges["by"]["co_funding"] == {"strong": 0.9, "good": 0.7}  # 0.5 x themes + 0.5 x intent
    assert "implementation" not in edges["by"]  # one question: the pooled edges serve it
    from matcher.rank import Ranking

    ranking = Ranking(bands=(edges["strong"], edges["good"]),
                      group_bands={g: (b["strong"], b["good"]) for g, b in edges["by"].items()})
    assert ranking.fit(0.8, "any")[1] == "strong" and ranking.fit(0.8, "co_funding")[1] == "good"


def test_fit_questions_command_writes_a_ranker_the_service_loads(tmp_path: Path) -> None:
    out = tmp_path / "ranker.json"
    completing = {"consortium": 0.7, "lexical": 0.3}
    out.write_text(json.dumps({"completing_weights": completing}))  # the ranker file written over
    result = CliRunner().invoke(cli, ["fit-questions", "--output", str(out), "--cache", str(tmp_path / "cache"),
                                      "--no-consortia"], env={"DLDMATCH_EMBEDDER": "fake"})
    assert result.exit_code == 0, result.output
    assert "cross-validated nDCG@10" in result.output
    data = json.loads(out.read_text())
    assert data["completing_weights"] == completing  # no consortia asked: the file's own are kept
    assert data["model"] and data["fitted_on"]["cross_validated"]["folds"] == 5
    assert {"strong", "good", "by"} <= set(data["bands"]) and data["project_weights"]
    from matcher.rank import Ranking

    ranking = Ranking.from_file(out)
    assert abs(sum(ranking.weights_for("co_funding").values()) - 1) < 1e-6
    assert ranking.for_projects().weights != ranking.weights
    refused = CliRunner().invoke(cli, ["fit-questions", "--model", str(tmp_path / "missing.json")],
                                 env={"DLDMATCH_EMBEDDER": "fake"})
    assert refused.exit_code == 2 and "error" in refused.output
    no_data = CliRunner().invoke(cli, ["fit-questions", "--consortia", str(tmp_path)], env={"DLDMATCH_EMBEDDER": "fake"})
    assert no_data.exit_code == 2 and "no CORDIS data" in no_data.output


def test_the_users_weights_are_fitted_on_the_questions_and_the_completing_weights_on_the_consortia() -> None:
    """Consortia (every one names two or more participants) are ranked by the completing weights only:
    they fit those, and never hold the users' weights back from what the questions need."""
    from evaluation.fit_questions import anchor_ndcg, fit_completing

    rows = [_row(n, u, "themes") for n in range(2) for u in ("cso", "firm", "secretariat")]
    anchor = [{"id": f"c{n}", "user": "cordis", "results": "stakeholders", "grades": {"t": 1},
               "candidates": [("t", {"semantic": 0.9, "themes": 0.5}), ("o", {"semantic": 0.1, "themes": 0.6})]}
              for n in range(5)]
    users = fit(rows, ("semantic", "themes"))
    completing = fit_completing(anchor, ("semantic", "themes"))
    assert mean_ndcg(rows, users) == 1.0 and anchor_ndcg(anchor, users) < 1.0
    assert anchor_ndcg(anchor, completing) == 1.0 and mean_ndcg(rows, completing) < 1.0


def test_consortia_ties_go_by_id_as_in_the_service() -> None:
    """Weights that score every candidate alike rank the answer by its id, not first."""
    from evaluation.fit_questions import anchor_ndcg

    row = {"id": "c", "user": "cordis", "results": "stakeholders", "grades": {"z": 1},
           "candidates": [("z", {"semantic": 0.5}), ("a", {"semantic": 0.5}), ("b", {"semantic": 0.1})]}
    assert anchor_ndcg([row], {"semantic": 0.0, "intent": 1.0}) < 1.0  # z, third by id among ties
    assert anchor_ndcg([row], {"semantic": 1.0}) < 1.0  # tied with a, which comes first by id


def test_a_part_shown_as_a_reason_keeps_its_floor() -> None:
    """Questions whose answers share fewer themes than the wrong ones pull ``themes`` towards 0; a card
    that names a shared theme must still score it, so the fit keeps its floor and fits the rest above."""
    from evaluation.fit_questions import REASON_FLOOR

    rows = [{"id": f"{u}-{n}", "user": u, "results": "stakeholders", "grades": {"right": 2},
             "candidates": [("right", {"semantic": 0.9, "themes": 0.0}), ("wrong", {"semantic": 0.85, "themes": 1.0})]}
            for n in range(2) for u in ("cso", "firm", "secretariat")]
    for weights in (fit(rows, ("semantic", "themes")),
                    fit(rows, ("semantic", "themes"), start={"semantic": 1.0, "themes": 0.0})):
        assert weights["themes"] >= REASON_FLOOR - 1e-4 and abs(sum(weights.values()) - 1) < 1e-3
        assert mean_ndcg(rows, weights) == 1.0
    assert fit(rows, ("semantic", "themes"), floors={"themes": 0.5})["themes"] >= 0.5 - 1e-4


def test_the_fit_takes_the_best_of_several_starts() -> None:
    """A coordinate search stops where no single change helps; searches from other starts can do better,
    never worse, and the same rows give the same weights every run."""
    import numpy as np

    from evaluation.fit_questions import _best_of, _search

    def objective(w: np.ndarray) -> float:  # a local top at (1, 0, 0), the best near (0, 0.5, 0.5)
        return float(max(w[0] - 0.5, 1.0 - abs(w[1] - 0.5) - abs(w[2] - 0.5) - w[0] * 2))

    stuck = np.array([1.0, 0.0, 0.0])
    assert objective(_search(objective, stuck)) == objective(stuck)
    best = _best_of(objective, stuck)
    assert objective(best) > objective(stuck) and np.allclose(best, _best_of(objective, stuck))
