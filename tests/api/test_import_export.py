"""The JSON Lines exchange format: all-or-nothing imports that name the line and field, and exact round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.errors import InvalidInput
from api.service import DLDMatch
from api.settings import Settings
from embeddings.fake import FakeEmbedder
from tests.conftest import SEEDS, SMALL


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _export(svc: DLDMatch) -> list[str]:
    return [json.dumps(r, sort_keys=True, ensure_ascii=False) for r in svc.export_records()]


def test_one_bad_line_imports_nothing_and_names_line_and_field(loaded: DLDMatch) -> None:
    before = _export(loaded)
    changed = json.loads(_lines(SMALL)[0])
    changed["description"] = "A changed description that must not be stored."
    new = {"type": "stakeholder", "id": "t-new", "name": "New", "kind": "cso"}
    bad = {"type": "stakeholder", "id": "t-bad", "name": "Bad", "kind": "wizard"}
    with pytest.raises(InvalidInput) as caught:
        loaded.import_lines([json.dumps(changed), json.dumps(new), json.dumps(bad)])
    assert [(e["line"], e["field"]) for e in caught.value.errors] == [(3, "kind")]
    assert _export(loaded) == before


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ("{not json", None, "not valid JSON"),
        ('["a list"]', None, "JSON object"),
        ('{"type": "org", "id": "x"}', "type", "stakeholder"),
        ('{"type": "stakeholder", "id": "x", "kind": "cso"}', "name", "required"),
        ('{"type": "stakeholder", "id": "x", "name": "X", "kind": "cso", "countries": ["Mongolia"]}', "countries",
         "two-letter"),
        ('{"type": "stakeholder", "id": "x", "name": "X", "kind": "cso", "offers": ["cash"]}', "offers.0.kind", ""),
        ('{"type": "stakeholder", "id": "x", "name": "X", "kind": "cso", "themes": ["astrology"]}', "themes.0.id",
         "unknown theme"),
        ('{"type": "stakeholder", "id": "x", "name": "X", "kind": "cso", "colour": "red"}', "colour", "unknown field"),
        ('{"type": "project", "id": "p", "title": "P", "participants": [{"stakeholder": "ghost"}]}',
         "participants.0.stakeholder", "ghost"),
        ('{"type": "project", "id": "p", "title": "P", "start_year": 2020, "end_year": 2010}', "(line)",
         "end_year"),
    ],
)
def test_each_kind_of_error_is_named(service: DLDMatch, line: str, field: str | None, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.import_lines(['{"type": "stakeholder", "id": "ok", "name": "OK", "kind": "cso"}', line])
    (error,) = caught.value.errors
    assert error["line"] == 2 and error["field"] == field and message in error["message"]
    assert service.health().stakeholders == 0


def test_a_repeated_id_is_an_error(service: DLDMatch) -> None:
    line = '{"type": "stakeholder", "id": "ok", "name": "OK", "kind": "cso"}'
    with pytest.raises(InvalidInput) as caught:
        service.import_lines([line, "", line])
    assert caught.value.errors[0]["line"] == 3 and "first on line 1" in caught.value.errors[0]["message"]


def test_reimport_is_an_upsert_that_changes_and_embeds_nothing(loaded: DLDMatch, embedder: FakeEmbedder) -> None:
    calls = embedder.calls
    report = loaded.import_files([SMALL])
    assert report.unchanged == 7 and report.embedded == 0
    assert report.stakeholders_created == report.projects_created == 0
    assert embedder.calls == calls


def test_changing_a_project_reembeds_exactly_its_participants(loaded: DLDMatch, embedder: FakeEmbedder) -> None:
    project = json.loads(_lines(SMALL)[5])
    project["description"] += " Now also with drip irrigation."
    calls = embedder.calls
    report = loaded.import_lines([json.dumps(project)])
    assert report.projects_updated == 1
    # the project and its two participants (their text includes the project's first sentence only,
    # which did not change) -> only the project is re-embedded.
    assert report.embedded == 1 and embedder.calls == calls + 1
    project["title"] = "Renamed shelterbelt"
    assert loaded.import_lines([json.dumps(project)]).embedded == 3


def test_export_import_export_is_identical(seeded: DLDMatch, tmp_path: Path) -> None:
    seeded.import_files([SMALL])
    first = _export(seeded)
    assert len(first) == sum(len(_lines(p)) for p in SEEDS) + len(_lines(SMALL))
    fresh = DLDMatch(Settings(database_url="sqlite://", index_dir=tmp_path / "other", embedder="fake",
                              seed_dir=None), FakeEmbedder())
    fresh.start()
    fresh.import_lines(first)
    assert _export(fresh) == first


def test_export_keeps_contacts_and_manual_themes(service: DLDMatch) -> None:
    service.import_lines([json.dumps({"type": "stakeholder", "id": "x", "name": "X", "kind": "cso",
                                      "themes": ["drought"], "contact": {"email": "a@b.org"},
                                      "description": "Sand fixation work."})])
    (record,) = list(service.export_records())
    assert record["contact"] == {"email": "a@b.org"}
    assert {"id": "drought", "confidence": 1.0, "source": "manual"} in record["themes"]
    assert any(t["id"] == "sand_fixation" and t["source"] == "auto" for t in record["themes"])
