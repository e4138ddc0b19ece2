"""A partner search's purpose: what the partnership is for, read like a question (themes, needs,
places, countries, kinds of organisation), standing in for the stored profile's own, on the API and
the CLI alike."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sqlmodel import Session

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import cli
from api.profiles import stakeholder_profiles
from api.service import DLDMatch
from matcher.themes import evidence_for
from api.reading import PURPOSE_MAX
from tests.conftest import SMALL


def partners(client: TestClient, route: str, **params: object) -> dict:
    response = client.get(route, params={"min_shared_themes": 0, "k": 10, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_purpose_narrows_the_search_and_says_what_it_was_read_as(client: TestClient) -> None:
    plain = partners(client, "/stakeholders/t-cso/partners")
    assert "purpose" not in plain["query"]
    body = partners(client, "/stakeholders/t-cso/partners",
                    purpose="Partners for the dust and sandstorm monitoring round-table in Japan")
    assert body["query"]["purpose"] == "Partners for the dust and sandstorm monitoring round-table in Japan"
    read = body["query"]["read"]
    assert read["themes"][0] == "dust_sandstorms" and read["countries"] == ["JP"] and read["kinds"] == []
    ranked, before = [r["id"] for r in body["results"]], [r["id"] for r in plain["results"]]
    lab = next(r for r in body["results"] if r["id"] == "t-lab")
    lab_before = next(r for r in plain["results"] if r["id"] == "t-lab")
    # the lab works on what the purpose names: it gains, and shares a theme it did not share before
    assert lab["score"] > lab_before["score"] and ranked.index("t-lab") <= before.index("t-lab")
    assert not lab_before["explanation"]["shared_themes"]
    shared = {t["theme"]: t for t in lab["explanation"]["shared_themes"]}
    # the theme the purpose names is shown with the purpose's own sentence, and the lab's
    assert "dust_sandstorms" in shared
    assert "round-table" in shared["dust_sandstorms"]["query_evidence"]["sentence"]
    assert "dust" in shared["dust_sandstorms"]["candidate_evidence"]["sentence"]
    assert "JP" in lab["explanation"]["shared_countries"]  # Japan, where the purpose is


def test_kinds_a_purpose_asks_for_are_kept_to_unless_kinds_are_given(client: TestClient) -> None:
    body = partners(client, "/stakeholders/t-cso/partners", purpose="which firms could take part?")
    assert body["query"]["read"]["kinds"] == ["private"]
    assert [r["id"] for r in body["results"]] == ["t-firm"]
    given = partners(client, "/stakeholders/t-cso/partners", purpose="which firms could take part?",
                     kind=["academia"])
    assert {r["kind"] for r in given["results"]} == {"academia"}
    # one body named is not a kind asked for
    one = partners(client, "/stakeholders/t-cso/partners", purpose="partners beyond the Korean government")
    assert one["query"]["read"]["kinds"] == [] and len(one["results"]) > 1


def test_project_partners_and_projects_to_join_take_a_purpose(client: TestClient) -> None:
    plain = partners(client, "/projects/t-kubuqi/partners")
    body = partners(client, "/projects/t-kubuqi/partners", purpose="air quality in low-carbon cities")
    assert body["query"]["read"]["themes"] and body["query"]["read"]["kinds"] == []
    score = {r["id"]: r["score"] for r in body["results"]}
    before = {r["id"]: r["score"] for r in plain["results"]}
    assert "t-city" in score and score["t-city"] > before.get("t-city", 0.0)
    assert not {"t-firm", "t-lab"} & set(score)  # participants are still left out
    projects = client.get("/stakeholders/t-city/projects", params={"purpose": "sand fixation with herders"}).json()
    assert "sand_fixation" in projects["query"]["read"]["themes"]
    assert projects["results"][0]["id"] == "t-kubuqi", projects["results"]
    assert "sand_fixation" in [t["theme"] for t in projects["results"][0]["explanation"]["shared_themes"]]


def test_a_blank_purpose_is_none_and_a_bad_one_is_refused_naming_the_field(client: TestClient) -> None:
    plain = partners(client, "/stakeholders/t-cso/partners")
    blank = partners(client, "/stakeholders/t-cso/partners", purpose="   ")
    assert blank == plain
    long = client.get("/stakeholders/t-cso/partners", params={"purpose": "x" * (PURPOSE_MAX + 1)})
    assert long.status_code == 422 and "purpose" in long.text
    nul = client.get("/stakeholders/t-cso/partners", params={"purpose": "dust\x00"})
    assert nul.status_code == 422 and "purpose" in json.dumps(nul.json())


def test_a_purpose_in_another_language_is_read_too(client: TestClient) -> None:
    body = partners(client, "/stakeholders/t-cso/partners", purpose="哪些企业可以参与固沙项目？")
    read = body["query"]["read"]
    assert read["kinds"] == ["private"] and "sand_fixation" in read["themes"]
    assert [r["id"] for r in body["results"]] == ["t-firm"]


def test_the_cli_takes_a_purpose_and_prints_what_it_was_read_as(tmp_path: Path) -> None:
    env = {"DLDMATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "DLDMATCH_INDEX_DIR": str(tmp_path / "idx"),
           "DLDMATCH_EMBEDDER": "fake"}
    runner = CliRunner()
    assert runner.invoke(cli, ["import", str(SMALL)], env=env).exit_code == 0
    result = runner.invoke(cli, ["match", "--stakeholder", "t-cso", "--purpose", "which firms could take part?"],
                           env=env)
    assert result.exit_code == 0, result.output
    assert "Purpose: which firms could take part?" in result.stdout and "kinds: private" in result.stdout
    assert "1. " in result.stdout and "Test Desert Firm" in result.stdout and "2. " not in result.stdout
    themed = runner.invoke(cli, ["match", "--stakeholder", "t-cso", "--purpose", "dust and sandstorm monitoring",
                                 "--k", "3"], env=env)
    assert themed.exit_code == 0 and "purpose: dust and sandstorm monitoring" in themed.stdout
    both = runner.invoke(cli, ["match", "--text", "sand fixation", "--purpose", "firms"], env=env)
    assert both.exit_code == 2 and "--purpose goes with --stakeholder or --project" in both.stderr
    long = runner.invoke(cli, ["match", "--stakeholder", "t-cso", "--purpose", "x" * (PURPOSE_MAX + 1)], env=env)
    assert long.exit_code != 0 and "purpose" in long.stderr


def test_what_is_shown_from_the_purpose_is_said_to_be_the_purposes(client: TestClient) -> None:
    """In any language: a theme's sentence read from a Russian purpose (ё read as е) or a short Chinese
    one is listed among the purpose's sentences, so the page and the CLI label it as the purpose's."""
    for purpose in ("Ещё нужны партнёры по мониторингу пыльных бурь.", "沙尘暴。我们需要监测沙尘暴的伙伴。"):
        body = partners(client, "/stakeholders/t-cso/partners", purpose=purpose)
        mine = set(body["query"]["read"]["sentences"])
        shown = [t["query_evidence"]["sentence"] for r in body["results"]
                 for t in r["explanation"]["shared_themes"] if t["query_evidence"]]
        # the CSO's profile is in English: every sentence shown in the purpose's script is the purpose's
        assert shown and all(s in mine for s in shown if not s.isascii()), (shown, mine)
        assert any(not s.isascii() for s in shown)


def test_the_offers_a_purpose_names_are_the_partners_not_the_profiles(client: TestClient) -> None:
    for purpose in ("NGOs that provide training", "提供培训的非政府组织"):
        body = partners(client, "/stakeholders/t-cso/partners", purpose=purpose)
        needs_met = [n for r in body["results"] for n in r["explanation"]["candidate_needs_met"]]
        assert "training" not in needs_met  # the CSO is not said to offer training: the partner is to
        assert "training" in body["query"]["read"]["needs"], purpose  # it is what the search needs
    mine = partners(client, "/stakeholders/t-cso/partners", purpose="我们提供培训。")
    assert "training" not in mine["query"]["read"]["needs"]  # said of itself: not a need


def test_the_partner_page_says_what_the_purpose_was_read_as_and_keeps_it(client: TestClient) -> None:
    page = client.get("/s/t-cso/partners", params={"purpose": 'dust <b>"&" monitoring', "intent": "any"})
    assert page.status_code == 200
    html = page.text
    assert "Read from the purpose" in html and "<b>" not in html and "&lt;b&gt;" in html
    assert 'value="dust &lt;b&gt;&#34;&amp;&#34; monitoring"' in html
    # the switch between intents keeps the purpose, encoded
    assert "/s/t-cso/partners?intent=co_funding&amp;purpose=dust+%3Cb%3E%22%26%22+monitoring" in html
    assert "The purpose:" in html
    kinds = client.get("/s/t-cso/partners", params={"purpose": "which universities?"}).text
    assert "Only organisations of these kinds are shown" in kinds and "Academia" in kinds
    none = client.get("/p/t-kubuqi/partners", params={"purpose": "which universities?"}).text
    assert "No organisation of the kinds the purpose names fits yet." in none  # the lab is in it already
    long = client.get("/s/t-cso/partners", params={"purpose": "x" * (PURPOSE_MAX + 1)})
    assert long.status_code == 422 and "purpose" in long.text


def test_a_theme_a_purpose_names_is_shown_with_the_purposes_sentence_in_any_language(loaded: DLDMatch) -> None:
    """The firm's own English sentence names sand fixation; a purpose naming it, in Chinese or English,
    shows that theme with its own sentence, not with the firm's."""
    search = loaded.search
    row = loaded.core.row("stakeholder", "t-firm")
    with Session(loaded.core.engine) as session:
        profile = stakeholder_profiles(session, [row])[row.id]
    assert any("sand fixation" in s for s in profile.sentences)
    vector = np.ones(loaded.embedder.dim, dtype=np.float32)
    for purpose in ("固沙", "Partners for sand fixation."):
        narrowed, _, _, read = search.reading.with_purpose(profile, vector, purpose)
        assert "sand_fixation" in narrowed.themes
        shown = evidence_for(list(narrowed.sentences), loaded.vocabulary["sand_fixation"], dict(narrowed.evidence))
        assert shown is not None and shown.sentence in read["sentences"], (purpose, shown)
    # a purpose naming no theme keeps the profile's sentences after its own
    narrowed, _, _, read = search.reading.with_purpose(profile, vector, "which NGOs?")
    assert narrowed.sentences[0] == "which NGOs?" and set(profile.sentences) <= set(narrowed.sentences)
