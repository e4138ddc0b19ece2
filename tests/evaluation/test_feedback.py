"""``dldmatch evaluate-feedback``: simulated feedback given through the interest routes, the folds it is
measured on, and the keyword baselines of the same run."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import cli
from api.service import DLDMatch
from api.settings import SEED_PROFILES
from evaluation.baselines import GRAPH_WEIGHTS
from evaluation.feedback import STAND_IN, ask_question, asker_of, give_feedback, stakeholder_questions, two_folds
from evaluation.keywords import SeedKeywords
from evaluation.questions import USERS, load_questions

ALWAYS = {2: (1.0, 1.0), 1: (1.0, 0.0), 0: (0.0, 0.0)}  # the graded accept (2 cooperates), the others decline


def test_feedback_goes_through_the_interest_routes_and_becomes_records(loaded: DLDMatch) -> None:
    with TestClient(create_app(loaded.settings, service=loaded, start="none")) as client:
        tokens: dict[str, str] = {}

        def ask(method: str, path: str, params: dict[str, Any], who: str | None = None) -> tuple[int, Any]:
            if who and who not in tokens:
                tokens[who] = loaded.accounts.create_token("secretariat" if who == "secretariat" else "member",
                                                           organisation=None if who == "secretariat" else who)
            headers = {"Authorization": f"Bearer {tokens[who]}"} if who else {}
            r = (client.post(path, json=params, headers=headers) if method == "POST"
                 else client.get(path, params=params, headers=headers))
            return r.status_code, r.json()

        assert ask("POST", "/stakeholders", STAND_IN, who="secretariat")[0] == 201
        shown = [m["id"] for m in ask_question(ask, {"route": "stakeholder_partners", "results": "stakeholders",
                                                      "id": "q0", "params": {"stakeholder": "t-lab"}})]
        assert "t-fund" in shown and STAND_IN["id"] not in shown  # the stand-in is never scored
        questions = [
            {"id": "q1", "user": "secretariat", "route": "stakeholder_partners", "params": {"stakeholder": "t-lab"},
             "results": "stakeholders", "grades": [{"id": "t-fund", "grade": 2}, {"id": "t-cso", "grade": 1}]},
            {"id": "q2", "user": "cso", "route": "match", "params": {"text": "saxaul shelterbelts in the Gobi"},
             "results": "stakeholders", "grades": [{"id": "t-fund", "grade": 2}]},
        ]
        assert asker_of(questions[0], ask) == "t-lab" and asker_of(questions[1], ask) == STAND_IN["id"]
        counts = give_feedback(ask, questions, ALWAYS, random.Random(1))
    contacted = min(5, len(shown))
    assert counts["expressed"] + counts["already_introduced"] >= contacted
    assert counts["accepted"] + counts["declined"] == counts["expressed"]
    loaded.introductions.forget()
    loaded.introductions.least = 1  # five organisations in the test data: a record counts from one introduction
    records = loaded.introductions.records()
    # the fund was graded 2 in both questions: two introductions (from the lab and from the stand-in), both cooperation
    assert (records["t-fund"].introductions, records["t-fund"].cooperation) == (2, 2)
    assert records["t-fund"].value > 0
    assert records["t-cso"].cooperation == 0 and records["t-cso"].value == 0  # graded 1: accepted, no cooperation


def test_two_folds_hold_every_question_out_once_with_every_kind_of_user() -> None:
    questions = stakeholder_questions(load_questions())
    assert len(questions) == 30 and all(q["results"] == "stakeholders" for q in questions)
    folds = two_folds(questions)
    held = [n for _, h in folds for n in h]
    assert sorted(held) == list(range(len(questions)))
    for given, h in folds:
        assert not set(given) & set(h)
        assert {questions[n]["user"] for n in h} == {u for u in USERS if u != "firm"}


def test_the_keyword_baselines_leave_out_whom_the_service_leaves_out() -> None:
    keywords = SeedKeywords(SEED_PROFILES)
    questions = {q["id"]: q for q in load_questions()}
    own = keywords.rank(questions["cso-01"])
    assert own and "green_asia_network" not in own and len(own) <= 10
    project = questions["cso-05"]
    members = set(keywords.members[project["params"]["project"]])
    assert members and not members & set(keywords.rank(project, 0.5))
    assert keywords.choose_graph_weight([questions["sec-01"], questions["sec-07"]]) in (0.0, *GRAPH_WEIGHTS)
    # as the service's filters: co-funders able to fund, projects still open to join
    funders = keywords.rank(questions["cso-02"])
    assert funders and set(funders) <= keywords.funders and "green_asia_network" not in keywords.funders
    projects = keywords.rank(questions["firm-01"])
    assert projects and not set(projects) & keywords.closed and keywords.closed
    # a past partner rises with the graph: the co-participation part counts
    q = questions["sec-01"]
    partner = sorted(keywords.partners["met_mn"])[0]
    plain, graphed = keywords.rank(q), keywords.rank(q, 1.0)
    assert partner in graphed and (partner not in plain or graphed.index(partner) <= plain.index(partner))


def test_evaluate_feedback_command(tmp_path: Path) -> None:
    report = tmp_path / "feedback.json"
    env = {"DLDMATCH_EMBEDDER": "fake"}
    result = CliRunner().invoke(cli, ["evaluate-feedback", "--seeds", "1", "--behaviours", "judged", "--weights",
                                      "0,0.2", "--cache", str(tmp_path / "cache"), "--report", str(report)], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert set(data["judged"]["by_weight"]) == {"0.0", "0.2"}
    assert data["judged"]["by_weight"]["0.0"]["overall"]["questions"] == 30  # each held out once
    assert set(data["baselines"]) == {"TF-IDF", "TF-IDF + co-participation"}
    assert data["feedback"]["judged"][0]["expressed"] > 0
    assert 0 <= data["feedback"]["judged"][0]["lifted"] <= data["feedback"]["judged"][0]["with_a_record"]
    assert "TF-IDF + co-participation" in result.stdout and "weight 0.2" in result.stdout
    for bad, said in ((["--weights", "0.9"], "between 0 and 0.5"), (["--weights", "a"], "numbers"),
                      (["--behaviours", "kind"], "judged, null")):
        refused = CliRunner().invoke(cli, ["evaluate-feedback", *bad, "--cache", str(tmp_path / "cache")], env=env)
        assert refused.exit_code == 2 and said in refused.output
