"""The national view (issue 16, item 7) and the commitments government profiles carry (item 6)."""

from __future__ import annotations

import csv
import io
from typing import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.service import DLDMatch
from tests.conftest import secretariat_headers


@pytest.fixture
def public(seeded: DLDMatch) -> Iterator[TestClient]:
    with TestClient(create_app(seeded.settings, service=seeded, start="none")) as c:
        yield c


def test_a_country_shows_its_actors_projects_partnerships_and_commitments_with_sources(public: TestClient,
                                                                                          seeded: DLDMatch) -> None:
    view = public.get("/countries/mn").json()
    assert view["country"] == {"code": "MN", "name": "Mongolia"}
    assert view["dust_and_sandstorms"]["role"] == "source"
    assert any("2.1 billion" in f["text"] and f["source"]["para"] == "9" for f in view["ldn"])
    actors = {a["id"]: a for a in view["actors"]}
    assert "gov_mn" in actors and all(a["sources"] for a in view["actors"] if not a["self_declared"])
    projects = {p["id"] for p in view["projects"]}
    assert projects and all(p["sources"] for p in view["projects"])
    for pair in view["partnerships"]:  # each pair is two organisations in one of the country's projects together
        assert pair["a"]["id"] < pair["b"]["id"] and {p["id"] for p in pair["projects"]} <= projects
    assert view["outcomes"] is None  # what introductions became: the secretariat's only
    assert public.get("/countries/MN", headers=secretariat_headers(seeded)).json()["outcomes"]["expressed"] == 0
    # the documents state nothing for the DPRK: nothing is made up
    kp = public.get("/countries/KP").json()
    assert kp["ldn"] == [] and kp["dust_and_sandstorms"] is None
    missing = public.get("/countries/XX")
    assert missing.status_code == 404 and "MN" in missing.json()["message"]
    assert public.get("/countries/Mongolia").status_code == 422


def test_the_national_view_downloads_as_rows_with_their_sources(public: TestClient) -> None:
    text = public.get("/countries/CN", params={"format": "csv"}).text.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "id", "name", "detail", "source"]
    sections = {r[0] for r in rows[1:]}
    assert {"dust and sandstorms", "LDN and SDG 15.3", "actor", "project"} <= sections
    ldn = [r for r in rows if r[0] == "LDN and SDG 15.3"]
    assert any("reversed since 2004" in r[3] and r[4] == "seed document 001, paragraph 8" for r in ldn)
    assert all(r[4] for r in rows[1:]), "every row names its source"
    page = public.get("/country/CN")
    assert page.status_code == 200 and "reversed since 2004" in page.text and "/country/CN?format=xlsx" in page.text


def test_a_government_profile_carries_its_countrys_commitments(public: TestClient) -> None:
    page = public.get("/s/gov_ru").text
    assert "National commitments" in page and "7.5 %" in page and "seed document 001, paragraph 7" in page
    assert "National commitments" not in public.get("/s/future_forest").text  # a CSO does not speak for its State
    assert 'href="/country/MN"' in public.get("/overview").text


def test_the_overview_and_the_pooling_groups_download(public: TestClient) -> None:
    """Issue 17, item 8: the theme × country table and the pooling groups as CSV (and XLSX)."""
    from openpyxl import load_workbook

    table = list(csv.reader(io.StringIO(public.get("/overview", params={"format": "csv"}).text.lstrip("\ufeff"))))
    assert table[0][:3] == ["theme", "China", "Mongolia"] and table[0][-1] == "total"
    page = public.get("/overview").text
    assert all(row[0] in page for row in table[1:])  # the same themes the page shows
    groups = list(csv.reader(io.StringIO(public.get("/pooling-opportunities", params={"format": "csv"}).text
                                         .lstrip("\ufeff"))))
    assert groups[0][0] == "group" and len(groups) > 3 and {r[6] for r in groups[1:]} <= {"stakeholder", "project"}
    mine = public.get("/s/future_forest/pooling", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(mine.content)).active
    assert sheet["A1"].value == "group" and mine.headers["content-disposition"].startswith("attachment")


def test_the_network_picture_labels_every_organisation_and_has_a_legend(public: TestClient) -> None:
    svg = public.get("/overview").text.split('<figure class="network">', 1)[1].split("</svg>", 1)[0]
    circles, labels = svg.count('<a href="/s/'), svg.count("<text")
    assert circles >= 10 and labels >= circles + 3  # a label per organisation, and the legend's
    assert "Kinds" in svg and "a project in common" in svg and "Government" in svg
