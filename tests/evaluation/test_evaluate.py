"""The evaluation command and the training of the ranker, on a small slice of the real CORDIS data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import cli
from evaluation.baselines import Tfidf
from evaluation.evaluate import load, org_id, queries, to_records
from api.service import DLDMatch
from api.settings import ROOT, Settings
from embeddings.fake import FakeEmbedder
from matcher.metrics import summarise
from matcher.ltr import FEATURES
from matcher.rank import Ranking

DATA = ROOT.parent / "shared" / "eval" / "cordis-h2020-dev"
pytestmark = pytest.mark.skipif(not (DATA / "projects.jsonl").exists(), reason="needs ../shared/eval beside the clone")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every project of a few hundred, with the organisations they name: real data, small enough to embed fast."""
    projects, orgs = load(DATA)
    chosen = [p for p in projects if p["start_date"] < "2016-07-01"][:120] + \
             [p for p in projects if p["start_date"] >= "2016-07-01"][:25]
    used = {x["org_id"] for p in chosen for x in p["participants"]}
    folder = tmp_path_factory.mktemp("cordis")
    (folder / "projects.jsonl").write_text("\n".join(json.dumps(p) for p in chosen) + "\n")
    (folder / "organisations.jsonl").write_text("\n".join(json.dumps(o) for k, o in orgs.items() if k in used) + "\n")
    return folder


def test_metrics() -> None:
    assert summarise([1, 4, None, 60], 50) == {"queries": 4, "recall@10": 0.5, "recall@50": 0.5, "mrr": 0.3125}
    assert summarise([], 50)["queries"] == 0


def test_adapter_writes_valid_records_without_future_projects(small: Path, tmp_path: Path) -> None:
    projects, orgs = load(small)
    lines = to_records(projects, orgs, "2016-07-01")
    service = DLDMatch(Settings(database_url="sqlite://", index_dir=tmp_path, embedder="fake", seed_dir=None),
                       FakeEmbedder())
    stakeholders, imported = service.parse_lines(lines)
    assert len(stakeholders) == len(orgs)
    assert len(imported) == 120 and all(p.start_year and p.start_year <= 2016 for p in imported)
    assert org_id("PIC:999979888") == "pic-999979888"
    assert org_id("NAME:3C PRECON GMBH").startswith("name-3c-precon-gmbh-")


def test_queries_hide_one_participant_and_leak_nothing(small: Path) -> None:
    projects, orgs = load(small)
    qs = queries(projects, orgs, start="2016-07-01", end="9999")
    from matcher.rank import COMPLETING

    # every query completes a consortium: ranked by the completing weights, never by the users' (for_query)
    assert qs and all(q.target not in q.participants and len(set(q.participants)) >= COMPLETING for q in qs)
    by_project = {p["project_id"]: p for p in projects}
    for q in qs:
        countries = {x["country"] for x in by_project[q.project]["participants"]
                     if org_id(x["org_id"]) in q.participants}
        assert set(q.countries) <= countries  # only the given participants' countries
    before = {org_id(x["org_id"]) for p in projects if p["start_date"] < "2016-07-01" for x in p["participants"]}
    assert all(q.findable == (q.target in before) for q in qs)
    assert len(queries(projects, orgs, start="2016-07-01", end="9999", limit=10)) == 10


def test_text_only_queries_give_no_participant_and_count_every_member_right(small: Path) -> None:
    projects, orgs = load(small)
    plain = queries(projects, orgs, start="2016-07-01", end="9999")
    both = queries(projects, orgs, start="2016-07-01", end="9999", text_only=True)
    alone = [q for q in both if not q.participants]
    assert [q for q in both if q.participants] == plain  # the leave-one-out queries are unchanged
    assert len(alone) == len({q.project for q in plain})
    for q in alone:
        members = {q2.target for q2 in plain if q2.project == q.project}
        assert {q.target, *q.also} == members and not q.countries


def test_tfidf_baselines_rank_every_other_organisation(small: Path) -> None:
    projects, orgs = load(small)
    baseline = Tfidf(projects, orgs, "2016-07-01", org_id)
    q = queries(projects, orgs, start="2016-07-01", end="9999")[0]
    ranking = baseline.rank(q)
    assert len(ranking) == len(orgs) - len(q.participants) and not set(ranking) & set(q.participants)
    # co-participation: an organisation that worked with a given participant before rises
    graph = baseline.co_participation(q)
    assert graph.max() > 0 and graph.max() <= 1
    lifted = baseline.rank(q, graph_weight=1.0)
    best = baseline.ids[int(graph.argmax())]
    assert lifted.index(best) <= ranking.index(best)
    weight, tried = baseline.choose_graph_weight(queries(projects, orgs, start="2016-07-01", end="9999")[:20])
    assert weight in tried and all(0 <= v <= 1 for v in tried.values())


def test_evaluate_and_train_commands(small: Path, tmp_path: Path) -> None:
    env = {"DLDMATCH_EMBEDDER": "fake"}
    runner = CliRunner()
    output = tmp_path / "ranker.json"
    trained = runner.invoke(cli, ["train", "--data", str(small), "--cutoff", "2016-07-01", "--cache",
                                  str(tmp_path / "cache"), "--output", str(output)], env=env)
    assert trained.exit_code == 0, trained.output
    model = json.loads(output.read_text())
    assert model["kind"] == "lambdamart" and model["features"] == list(FEATURES)
    # fitted and chosen on the two years before the cut-off, never on the year reported
    assert model["data"]["fit"]["queries_until"] == model["data"]["choose"]["queries_from"] == "2015-07-01"
    assert model["data"]["choose"]["queries_until"] == "2016-07-01"
    assert model["data"]["fit"]["rows"] > 0 and "choose_ndcg@10" in model["metrics"]
    served = Ranking.from_file(output)
    assert served.model is not None and served.weights["consortium"] > 0
    assert abs(sum(served.weights.values()) - 1) < 1e-6

    report = tmp_path / "report.json"
    result = runner.invoke(cli, ["evaluate", "--data", str(small), "--cutoff", "2016-07-01", "--queries", "40",
                                 "--cache", str(tmp_path / "cache"), "--report", str(report)], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["queries"] == 40 and set(data["results"]) == {"dldmatch", "tfidf", "tfidf+graph"}
    for name in ("dldmatch", "tfidf", "tfidf+graph"):
        assert 0 <= data["results"][name]["all"]["mrr"] <= 1
    assert "dldmatch / tfidf+graph (all)" in result.stdout
    again = runner.invoke(cli, ["evaluate", "--data", str(small), "--cutoff", "2016-07-01", "--queries", "40",
                                "--cache", str(tmp_path / "cache"), "--report", str(report)], env=env)
    assert again.exit_code == 0 and json.loads(report.read_text())["results"] == data["results"]
