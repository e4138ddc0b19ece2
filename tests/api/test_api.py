"""The HTTP API on an in-memory database with the fake embedder."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.service import DLDMatch
from tests.conftest import SMALL

NEW = {"id": "t-new", "name": "Test New Funder", "kind": "funder", "countries": ["MN"], "places": ["Gobi"],
       "description": "A new test funder for saxaul shelterbelts and afforestation in the Gobi.",
       "offers": ["funding"], "needs": ["volunteers"], "contact": {"name": "Secret Person", "email": "s@example.org"}}


def test_health_and_themes(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["stakeholders"] == 5 and health["projects"] == 2
    assert health["model_id"] == "fake-hash-64"
    assert health["index"]["stakeholder"]["count"] == 5
    themes = client.get("/themes").json()
    counts = {t["id"]: t for t in themes}
    assert counts["afforestation_shelterbelts"]["stakeholders"] >= 2
    assert all(t["definition"] and t["sdg"] for t in themes)


def test_list_get_filter_and_paginate(client: TestClient) -> None:
    page = client.get("/stakeholders", params={"limit": 2}).json()
    assert page["total"] == 5 and [s["id"] for s in page["items"]] == ["t-city", "t-cso"]
    second = client.get("/stakeholders", params={"limit": 2, "offset": 2}).json()
    assert [s["id"] for s in second["items"]] == ["t-firm", "t-fund"]
    assert [s["id"] for s in client.get("/stakeholders", params={"country": "mn"}).json()["items"]] == ["t-cso"]
    assert [s["id"] for s in client.get("/stakeholders", params={"kind": "funder"}).json()["items"]] == ["t-fund"]
    by_theme = client.get("/stakeholders", params={"theme": "sand_fixation"}).json()["items"]
    assert "t-firm" in [s["id"] for s in by_theme]
    cso = client.get("/stakeholders/t-cso").json()
    assert cso["projects"] == [{"id": "t-belt", "title": "Test Gobi Shelterbelt", "role": "lead"}]
    project = client.get("/projects/t-belt").json()
    assert [p["id"] for p in project["participants"]] == ["t-cso", "t-lab"]
    assert project["funding_sought"] == {"amount": 50000.0, "currency": "USD"}
    assert client.get("/projects", params={"status": "planned"}).json()["total"] == 1


def test_contacts_are_never_public(client: TestClient) -> None:
    for url in ("/stakeholders", "/stakeholders/t-cso", "/stakeholders/t-fund/partners?min_shared_themes=0",
                "/projects/t-belt", "/projects/t-kubuqi/partners?min_shared_themes=0"):
        body = client.get(url).text
        assert "person@example.org" not in body and "Test Person" not in body and '"contact"' not in body


def test_errors_are_json_and_name_the_field(client: TestClient) -> None:
    missing = client.get("/stakeholders/nobody")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert client.get("/projects/nothing/partners").status_code == 404
    bad = client.post("/stakeholders", json={**NEW, "countries": ["Mongolia"]})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "countries"
    assert client.post("/stakeholders", json={**NEW, "id": "t-cso"}).status_code == 409
    wrong_id = client.put("/stakeholders/t-cso", json={**NEW, "id": "t-other"})
    assert wrong_id.status_code == 422 and wrong_id.json()["errors"][0]["field"] == "id"
    bad_intent = client.get("/stakeholders/t-cso/partners", params={"intent": "bribe"})
    assert bad_intent.status_code == 422 and bad_intent.json()["errors"][0]["field"] == "query.intent"
    assert client.get("/stakeholders/t-cso/partners", params={"k": 0}).status_code == 422
    theme = client.post("/match", json={"text": "sand fixation", "themes": ["astrology"]})
    assert theme.status_code == 422 and theme.json()["errors"][0]["field"] == "themes"
    ghost = client.post("/match", json={"text": "sand fixation", "participants": ["ghost"]})
    assert ghost.status_code == 422 and ghost.json()["errors"][0]["field"] == "participants.0"


def test_oversized_body_is_refused(client: TestClient, loaded: DLDMatch) -> None:
    huge = "x" * (loaded.settings.max_body_bytes + 1)
    response = client.post("/match", content=json.dumps({"text": huge}), headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "payload_too_large"


def test_index_not_ready_is_503(loaded: DLDMatch) -> None:
    loaded.indexing._snapshot = None  # as before start-up has built it
    with TestClient(create_app(loaded.settings, service=loaded, start="none")) as c:
        response = c.get("/stakeholders/t-cso/partners")
        assert response.status_code == 503 and response.json()["error"] == "index_not_ready"
        assert c.post("/match", json={"text": "sand fixation"}).status_code == 503
        assert c.get("/health").json()["status"] == "starting"


def test_co_funding_partners_are_ranked_and_explained(client: TestClient) -> None:
    body = client.get("/stakeholders/t-cso/partners", params={"intent": "co_funding"}).json()
    assert body["query"]["id"] == "t-cso" and body["intent"] == "co_funding"
    first = body["results"][0]
    assert first["id"] == "t-fund"
    assert abs(sum(first["components"].values()) - first["score"]) < 1e-4
    e = first["explanation"]
    assert e["query_needs_met"] == ["funding", "seedlings_materials"] and e["candidate_needs_met"] == ["volunteers"]
    assert e["intent_resources"] == ["funding"]
    assert e["shared_places"] == ["Gobi"]
    shared = {t["theme"]: t for t in e["shared_themes"]}
    assert "afforestation_shelterbelts" in shared
    assert "saxaul" in shared["afforestation_shelterbelts"]["query_evidence"]["sentence"]
    assert "shelterbelts" in shared["afforestation_shelterbelts"]["candidate_evidence"]["sentence"]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_shared_past_partners_are_explained(client: TestClient) -> None:
    # t-cso and t-firm both worked with t-lab.
    body = client.get("/stakeholders/t-cso/partners", params={"min_shared_themes": 0, "k": 10}).json()
    firm = next(r for r in body["results"] if r["id"] == "t-firm")
    assert [p["id"] for p in firm["explanation"]["shared_partners"]] == ["t-lab"]
    lab = next(r for r in body["results"] if r["id"] == "t-lab")
    assert lab["explanation"]["worked_together"]


def test_projects_to_join_leave_out_own_projects(client: TestClient) -> None:
    firm = client.get("/stakeholders/t-fund/projects").json()
    assert [r["id"] for r in firm["results"]] == ["t-belt"]  # t-kubuqi: nothing explains it, so not shown
    assert all(r["explanation"]["shared_themes"] or r["explanation"]["shared_countries"] for r in firm["results"])
    lab = client.get("/stakeholders/t-lab/projects", params={"min_shared_themes": 0}).json()
    assert lab["results"] == []


def test_project_partners_leave_out_participants(client: TestClient) -> None:
    body = client.get("/projects/t-belt/partners", params={"intent": "co_funding", "min_shared_themes": 0}).json()
    ids = [r["id"] for r in body["results"]]
    assert "t-cso" not in ids and "t-lab" not in ids
    assert ids[0] == "t-fund"
    assert body["results"][0]["explanation"]["query_needs_met"] == ["funding"]


def test_free_text_match_reads_needs_and_ranks_both_kinds(client: TestClient) -> None:
    body = client.post("/match", json={"text": "We plant saxaul shelterbelts in the Gobi and need co-funding.",
                                       "countries": ["MN"], "places": ["Gobi"], "intent": "co_funding",
                                       "participants": ["t-cso"], "k": 3}).json()
    assert body["query"]["needs"] == ["funding"]
    assert "afforestation_shelterbelts" in body["query"]["themes"]
    assert body["stakeholders"][0]["id"] == "t-fund"
    assert "t-cso" not in [r["id"] for r in body["stakeholders"]]
    assert body["projects"][0]["id"] == "t-belt"
    assert [r["id"] for r in body["stakeholders"]] == ["t-fund", "t-firm"]  # the two able to fund


def test_create_update_delete_update_the_index_without_rebuild(client: TestClient, loaded: DLDMatch) -> None:
    created = client.post("/stakeholders", json=NEW)
    assert created.status_code == 201 and "contact" not in created.json()
    assert client.get("/health").json()["index"]["stakeholder"] == {"state": "updated", "count": 6}
    partners = client.get("/stakeholders/t-cso/partners", params={"intent": "co_funding"}).json()["results"]
    assert "t-new" in [r["id"] for r in partners[:2]]

    changed = client.put("/stakeholders/t-new", json={**NEW, "kind": "private", "offers": ["market_access"]})
    assert changed.status_code == 200 and changed.json()["kind"] == "private"
    assert client.get("/stakeholders/t-new").json()["offers"] == [{"kind": "market_access", "detail": ""}]

    assert client.delete("/stakeholders/t-new").status_code == 204
    assert client.get("/stakeholders/t-new").status_code == 404
    assert client.get("/health").json()["index"]["stakeholder"]["count"] == 5
    partners = client.get("/stakeholders/t-cso/partners", params={"min_shared_themes": 0}).json()["results"]
    assert "t-new" not in [r["id"] for r in partners]


def test_deleting_a_project_keeps_its_participants(client: TestClient) -> None:
    assert client.delete("/projects/t-belt").status_code == 204
    assert client.get("/stakeholders/t-cso").json()["projects"] == []
    assert client.get("/health").json()["index"]["project"]["count"] == 1


def test_project_create_validates_participants(client: TestClient) -> None:
    body = {"id": "t-p", "title": "P", "participants": [{"stakeholder": "ghost", "role": "lead"}]}
    response = client.post("/projects", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "participants.0.stakeholder"
    ok = client.post("/projects", json={**body, "participants": [{"stakeholder": "t-fund", "role": "co_funder"}]})
    assert ok.status_code == 201 and ok.json()["participants"][0]["role"] == "co_funder"


def test_docs_are_served_without_a_cdn(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "/docs-static/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    assert client.get("/docs-static/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-static/swagger-ui.css").status_code == 200
    assert "/stakeholders/{external_id}/partners" in client.get("/openapi.json").json()["paths"]


def test_the_small_fixture_is_what_the_tests_think(client: TestClient) -> None:
    assert len(SMALL.read_text().splitlines()) == 7


def test_a_profile_in_another_script_gets_themes_by_meaning_with_its_own_sentences(client: TestClient,
                                                                                   loaded: DLDMatch) -> None:
    chinese = "我们在库布其沙漠固沙植树。我们为牧民提供培训，并寻找资金伙伴。"
    created = client.post("/stakeholders", json={**NEW, "id": "t-zh", "name": "测试组织", "description": chinese})
    assert created.status_code == 201, created.text
    themes = client.get("/stakeholders/t-zh").json()["themes"]
    assert themes and all(t["source"] == "auto" for t in themes)
    assert all(t["evidence"] in ("我们在库布其沙漠固沙植树。", "我们为牧民提供培训，并寻找资金伙伴。") for t in themes)
    partners = client.get("/stakeholders/t-zh/partners", params={"min_shared_themes": 0}).json()["results"]
    shown = [st["query_evidence"]["sentence"] for m in partners for st in m["explanation"]["shared_themes"]]
    assert shown and all(not s.isascii() for s in shown)  # the Chinese side's evidence is Chinese
    exported = [r for r in loaded.export_records() if r["id"] == "t-zh"]
    assert exported[0]["themes"] == themes  # evidence kept on export, so a re-import finds it again


def test_projects_show_status_years_and_lead_and_completed_ones_are_not_offered(client: TestClient) -> None:
    done = {"type": "project", "id": "t-done", "title": "Test Gobi Shelterbelt Finished",
            "description": "Planting saxaul shelterbelts in the Gobi against sand and dust storms, finished.",
            "countries": ["MN"], "places": ["Gobi"], "status": "ongoing", "start_year": 2010, "end_year": 2015,
            "participants": [{"stakeholder": "t-fund", "role": "lead"}]}
    assert client.post("/projects", json=done).status_code == 201
    text = {"text": "Saxaul shelterbelts in the Gobi against sand and dust storms", "k": 10}
    shown = {r["id"]: r for r in client.post("/match", json=text).json()["projects"]}
    assert "t-done" not in shown and "t-belt" in shown  # its end year has passed: completed, not to join
    assert shown["t-belt"]["status"] == "ongoing" and shown["t-belt"]["start_year"] == 2020
    everything = client.post("/match", json={**text, "include_completed": True}).json()["projects"]
    past = next(r for r in everything if r["id"] == "t-done")
    assert past["status"] == "completed" and past["end_year"] == 2015
    assert [p["id"] for p in past["lead"]] == ["t-fund"]
    lab = client.get("/stakeholders/t-lab/projects").json()["results"]
    assert "t-done" not in [r["id"] for r in lab]


def test_a_funder_is_known_by_its_track_record_and_shown_with_it(client: TestClient) -> None:
    """t-city offers no funding; having co-funded a Gobi project makes it a co-funder, with evidence."""
    record = {"type": "project", "id": "t-cofunded", "title": "Test Gobi Grant",
              "description": "A grant for shelterbelts in the Gobi.", "countries": ["MN"], "places": ["Gobi"],
              "participants": [{"stakeholder": "t-city", "role": "co_funder"},
                               {"stakeholder": "t-lab", "role": "other"}]}
    assert client.post("/projects", json=record).status_code == 201
    body = client.get("/stakeholders/t-cso/partners", params={"intent": "co_funding"}).json()
    by_id = {r["id"]: r for r in body["results"]}
    assert "t-city" in by_id, [r["id"] for r in body["results"]]
    assert by_id["t-city"]["explanation"]["track_record"] == [
        {"project": "t-cofunded", "title": "Test Gobi Grant", "role": "co_funder"}]
    assert by_id["t-city"]["parts"]["intent"] == pytest.approx(0.7)
    for r in body["results"]:  # every result has a reason, a 0-100 fit and a band
        e = r["explanation"]
        assert (e["shared_themes"] or e["query_needs_met"] or e["candidate_needs_met"] or e["shared_countries"]
                or e["shared_places"] or e["shared_partners"] or e["worked_together"] or e["intent_resources"]
                or e["track_record"]), r["id"]
        assert 0 <= r["fit"] <= 100 and r["band"] in ("strong", "good", "possible")


def test_a_question_names_its_countries_places_and_needs_in_any_language(client: TestClient) -> None:
    body = client.post("/match", json={"text": "We run a tree nursery near Sainshand in Mongolia. Who could co-fund us?"}).json()
    assert body["query"]["countries"] == ["MN"] and "Sainshand" in body["query"]["places"]
    assert "funding" in body["query"]["needs"]
    chinese = client.post("/match", json={"text": "我们在库布齐沙漠做固沙和绿色经济。"}).json()
    assert "Kubuqi" in chinese["query"]["places"] and chinese["query"]["countries"] == ["CN"]
    firm = next(r for r in chinese["stakeholders"] if r["id"] == "t-firm")
    assert firm["explanation"]["shared_places"] == ["Kubuqi"] and firm["explanation"]["shared_countries"] == ["CN"]


def test_what_a_question_offers_is_read_and_meets_the_needs_of_others(client: TestClient) -> None:
    body = client.post("/match", json={"text": "Our company in Gansu supplies seedlings and we can share research "
                                               "data from our monitoring plots.", "k": 5}).json()
    assert sorted(body["query"]["offers"]) == ["research_data", "seedlings_materials"]
    by_id = {r["id"]: r for r in body["stakeholders"]}
    assert "seedlings_materials" in by_id["t-cso"]["explanation"]["candidate_needs_met"]
    projects = {r["id"]: r for r in body["projects"]}
    assert projects["t-kubuqi"]["explanation"]["candidate_needs_met"] == ["research_data"]


def test_offers_given_explicitly_win_over_the_text(client: TestClient) -> None:
    body = client.post("/match", json={"text": "We supply seedlings.", "offers": ["funding"], "k": 5}).json()
    assert body["query"]["offers"] == ["funding"]
    bad = client.post("/match", json={"text": "We supply seedlings.", "offers": ["gold"]})
    assert bad.status_code == 422 and "offers" in json.dumps(bad.json())


def test_co_funders_are_only_those_able_to_fund(client: TestClient) -> None:
    """t-lab is close to the CSO (a shared project) but neither offers funding nor has funded: not a
    co-funder, though it is a partner for any other purpose; a firm that offers funding is one."""
    funders = client.get("/stakeholders/t-cso/partners", params={"intent": "co_funding", "k": 10}).json()["results"]
    assert [r["id"] for r in funders] == ["t-fund", "t-firm"]
    assert all(r["explanation"]["intent_resources"] == ["funding"] for r in funders)
    anyone = client.get("/stakeholders/t-cso/partners", params={"intent": "any", "k": 10}).json()["results"]
    assert "t-lab" in [r["id"] for r in anyone]
    drafted = client.post("/match", json={"text": "Dust and sandstorm monitoring with GIS data; who co-funds it?",
                                          "intent": "co_funding"}).json()["stakeholders"]
    assert drafted and all(r["explanation"]["intent_resources"] or r["explanation"]["track_record"] for r in drafted)
    assert "t-lab" not in [r["id"] for r in drafted]
