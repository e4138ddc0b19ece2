from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import cli
from api.service import DLDMatch
from api.settings import Settings
from tests.conftest import SEEDS, secretariat_headers


def test_pooling_on_the_seed_data_cites_themes_and_places(seeded: DLDMatch) -> None:
    with TestClient(create_app(seeded.settings, service=seeded, start="none"), headers=secretariat_headers(seeded)) as client:
        body = client.get("/pooling").json()
        assert body["total"] >= 3
        for group in body["groups"]:
            assert len(group["members"]) >= 3 and group["shared_themes"]
            assert any(m["evidence"] for m in group["members"])
            assert any(m["brings"] for m in group["members"])  # someone closes someone's gap
        assert any(g["shared_places"] or g["shared_countries"] for g in body["groups"])
        scores = [g["score"] for g in body["groups"]]
        assert scores == sorted(scores, reverse=True)
        assert client.get("/pooling").json() == body  # deterministic

        theme = body["groups"][0]["shared_themes"][0]["id"]
        filtered = client.get("/pooling", params={"theme": theme}).json()
        assert filtered["total"] >= 1 and all(theme in [t["id"] for t in g["shared_themes"]] for g in filtered["groups"])
        assert client.get("/pooling", params={"country": "RU", "kind": "private"}).json()["total"] == 0
        assert client.get("/pooling", params={"theme": "astrology"}).status_code == 422

        member = body["groups"][0]["members"][0]
        if member["type"] == "stakeholder":
            mine = client.get(f"/stakeholders/{member['id']}/pooling").json()
            assert mine["member_of"]
        assert client.get("/stakeholders/nobody/pooling").status_code == 404


def test_cli_pool_gives_the_api_answer(tmp_path: Path) -> None:
    env = {"DLDMATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "DLDMATCH_EMBEDDER": "fake",
           "DLDMATCH_INDEX_DIR": str(tmp_path / "idx")}
    runner = CliRunner()
    assert runner.invoke(cli, ["import", *map(str, SEEDS)], env=env).exit_code == 0
    result = runner.invoke(cli, ["pool", "--json", "--k", "5"], env=env)
    assert result.exit_code == 0
    settings = Settings(database_url=env["DLDMATCH_DATABASE_URL"], index_dir=tmp_path / "idx", embedder="fake",
                        seed_dir=None)
    service = DLDMatch(settings)
    service.start()
    assert json.loads(result.stdout) == service.pooling(k=5).model_dump(mode="json")
    text = runner.invoke(cli, ["pool", "--k", "1"], env=env)
    assert text.exit_code == 0 and "themes:" in text.stdout and "brings" in text.stdout
