"""Questionnaire intake: the template, a filled template, bad rows, probable duplicates."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from api.cli import cli
from api.intake import PROJECT_COLUMNS, STAKEHOLDER_COLUMNS
from matcher.dedupe import Candidate, find_duplicates, name_similarity, normalise_name

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

STEPPE = {"name": "Test Steppe Herders Union", "kind": "CSO", "countries": "Mongolia; KR", "places": "Gobi",
          "description": "Herders restoring pasture and grassland with rotational grazing.",
          "offers": "volunteers: herder families; Land or site access", "needs": "funding",
          "contact_name": "Private Person", "contact_email": "private@example.org"}
PASTURE = {"id": "t-pasture", "title": "Test Pasture Rest", "status": "Ongoing", "start_year": 2024,
           "funding_sought_amount": "12,000", "funding_sought_currency": "usd", "seeks": "funding",
           "participants": "test-steppe-herders-union: lead; t-lab: technical_partner",
           "description": "Resting degraded pasture in the Gobi."}


def filled(client: TestClient, stakeholders: list[dict[str, Any]], projects: list[dict[str, Any]]) -> bytes:
    book = load_workbook(io.BytesIO(client.get("/templates/questionnaire.xlsx").content))
    for name, rows in (("stakeholders", stakeholders), ("projects", projects)):
        sheet = book[name]
        header = [c.value for c in sheet[1]]
        for row in rows:
            sheet.append([row.get(h) for h in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client: TestClient, data: bytes, name: str = "q.xlsx", **params: Any) -> Any:
    return client.post("/import", params=params, files={"file": (name, data, XLSX)})


def test_template_lists_every_column_and_the_vocabulary(client: TestClient) -> None:
    response = client.get("/templates/questionnaire.xlsx")
    assert response.status_code == 200 and response.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["instructions", "stakeholders", "projects", "vocabulary"]
    assert [c.value for c in book["stakeholders"][1]] == list(STAKEHOLDER_COLUMNS)
    assert [c.value for c in book["projects"][1]] == list(PROJECT_COLUMNS)
    vocabulary = {(r[0], r[1]) for r in book["vocabulary"].iter_rows(min_row=2, values_only=True)}
    assert ("resource", "funding") in vocabulary and ("theme", "sand_fixation") in vocabulary
    assert client.get("/templates/projects.csv").text.startswith("id,title,")


def test_a_filled_template_imports(client: TestClient) -> None:
    response = upload(client, filled(client, [STEPPE], [PASTURE]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["imported"]["stakeholders_created"] == 1 and body["imported"]["projects_created"] == 1
    assert body["flagged"] == []
    steppe = client.get("/stakeholders/test-steppe-herders-union").json()
    assert steppe["kind"] == "cso" and steppe["countries"] == ["MN", "KR"]
    assert steppe["offers"] == [{"kind": "volunteers", "detail": "herder families"},
                                {"kind": "land_access", "detail": ""}]
    assert "grassland_rangeland" in [t["id"] for t in steppe["themes"]]
    assert "private@example.org" not in client.get("/stakeholders/test-steppe-herders-union").text
    project = client.get("/projects/t-pasture").json()
    assert project["funding_sought"] == {"amount": 12000.0, "currency": "USD"}
    assert [(p["id"], p["role"]) for p in project["participants"]] == [
        ("test-steppe-herders-union", "lead"), ("t-lab", "technical_partner")]


def test_a_bad_row_imports_nothing_and_says_which_row_column_and_why(client: TestClient) -> None:
    before = client.get("/health").json()
    bad_kind = {**STEPPE, "name": "Another Test Org", "kind": "wizard"}
    bad_year = {**PASTURE, "start_year": "soon"}
    response = upload(client, filled(client, [STEPPE, bad_kind], [bad_year]))
    assert response.status_code == 422
    errors = [(e["sheet"], e["row"], e["column"]) for e in response.json()["errors"]]
    assert errors == [("stakeholders", 3, "kind"), ("projects", 2, "start_year")]
    assert "wizard" in response.json()["errors"][0]["message"]
    after = client.get("/health").json()
    assert (after["stakeholders"], after["projects"]) == (before["stakeholders"], before["projects"])
    assert client.get("/stakeholders/test-steppe-herders-union").status_code == 404


def test_validation_errors_point_at_template_columns(client: TestClient) -> None:
    rows = [{**STEPPE, "contact_email": "not-an-address"}, {**STEPPE, "name": "X Org", "themes": "astrology"},
            {**STEPPE, "name": "Y Org", "countries": "Atlantis"}]
    response = upload(client, filled(client, rows, [{**PASTURE, "participants": "ghost: lead"}]))
    errors = [(e["row"], e["column"]) for e in response.json()["errors"]]
    assert errors == [(2, "contact_email"), (3, "themes"), (4, "countries"), (2, "participants")]


def test_probable_duplicates_are_flagged_not_duplicated(client: TestClient) -> None:
    lookalike = {**STEPPE, "name": "Test Land Fund Ltd.", "kind": "funder"}
    body = upload(client, filled(client, [lookalike], [])).json()
    (flag,) = body["flagged"]
    assert flag["similar_to"]["id"] == "t-fund" and flag["reason"] == "name" and flag["row"] == 2
    assert body["imported"]["stakeholders_created"] == 0
    assert client.get("/stakeholders", params={"q": "Land Fund"}).json()["total"] == 1

    confirmed = upload(client, filled(client, [{**lookalike, "confirm_new": "yes"}], [])).json()
    assert confirmed["flagged"] == [] and confirmed["imported"]["stakeholders_created"] == 1


def test_a_project_naming_a_flagged_organisation_is_an_error(client: TestClient) -> None:
    lookalike = {**STEPPE, "id": "t-fund-2", "name": "Test Land Fund", "kind": "funder"}
    project = {**PASTURE, "participants": "t-fund-2: co_funder"}
    response = upload(client, filled(client, [lookalike], [project]))
    assert response.status_code == 422
    assert "flagged as a possible duplicate" in response.json()["errors"][0]["message"]


def test_csv_dry_run_and_unreadable_files(client: TestClient) -> None:
    csv = "name,kind,countries,description\nTest CSV Org,academia,JP,Dust and sandstorm research.\n"
    dry = client.post("/import", params={"dry_run": True}, files={"file": ("s.csv", csv.encode(), "text/csv")})
    assert dry.status_code == 200 and dry.json()["dry_run"] and dry.json()["imported"] is None
    assert client.get("/stakeholders/test-csv-org").status_code == 404
    real = client.post("/import", files={"file": ("s.csv", csv.encode(), "text/csv")})
    assert real.json()["imported"]["stakeholders_created"] == 1
    odd = client.post("/import", files={"file": ("notes.pdf", b"%PDF", "application/pdf")})
    assert odd.status_code == 422 and odd.json()["errors"][0]["field"] == "file"
    broken = upload(client, b"not a workbook")
    assert broken.status_code == 422 and "xlsx" in broken.json()["errors"][0]["message"]
    extra = client.post("/import", files={"file": ("s.csv", b"name,kind,colour\nA,cso,red\n", "text/csv")})
    assert extra.status_code == 422 and extra.json()["errors"][0]["column"] == "colour"


def test_cli_imports_a_questionnaire(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "q.xlsx"
    path.write_bytes(filled(client, [STEPPE, {**STEPPE, "name": "Test Land Fund", "kind": "funder"}], []))
    env = {"DLDMATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "DLDMATCH_INDEX_DIR": str(tmp_path / "i"),
           "DLDMATCH_EMBEDDER": "fake"}
    runner = CliRunner()
    runner.invoke(cli, ["import", str(Path(__file__).parent.parent / "data" / "small.jsonl")], env=env)
    result = runner.invoke(cli, ["import", str(path)], env=env)
    assert result.exit_code == 0
    assert '"stakeholders_created": 1' in result.stdout
    assert "looks like stored 't-fund'" in result.stderr
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(filled(client, [{**STEPPE, "kind": ""}], []))
    result = runner.invoke(cli, ["import", str(bad)], env=env)
    assert result.exit_code == 2 and "stakeholders row 2: kind:" in result.stderr


def test_duplicate_detection_is_pure_and_careful() -> None:
    assert normalise_name("The Elion Group, Ltd.") == "elion"
    assert name_similarity(Candidate("a", "Korea Forest Service"), Candidate("b", "KFS", ("Korea Forest Service",))) == 1
    assert name_similarity(Candidate("a", "Korea Forest Service"), Candidate("b", "China Green Foundation")) < 0.5
    found = find_duplicates([Candidate("n", "Green Asia Network.")],
                            [Candidate("gan", "Green Asia Network"), Candidate("cgf", "China Green Foundation")])
    assert [(d.existing, d.reason) for d in found] == [("gan", "name")]
    import numpy as np

    same = find_duplicates([Candidate("n", "Totally Different Name")], [Candidate("x", "Other")],
                           new_vectors=np.array([[1.0, 0.0]]), existing_vectors=np.array([[0.999, 0.04]]))
    assert [(d.existing, d.reason) for d in same] == [("x", "description")]
