"""What outcomes teach the ranking (issue 16, item 2): the introductions signal read from the outcomes
of accepted interests and forum meetings, through the routes; off unless the weight is set."""

from __future__ import annotations

from typing import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.app import create_app
from api.core import utcnow
from api.introductions import Introductions
from api.service import DLDMatch
from api.settings import Settings
from embeddings.fake import FakeEmbedder
from store.models import MeetingOutcome
from tests.conftest import SMALL, _close

CSO, FUND, FIRM, LAB, CITY = "t-cso", "t-fund", "t-firm", "t-lab", "t-city"  # tests/data/small.jsonl


@pytest.fixture
def weighted(settings: Settings, embedder: FakeEmbedder) -> Iterator[DLDMatch]:
    svc = DLDMatch(settings.model_copy(update={"introductions_weight": 0.2}), embedder)
    svc.start()
    svc.import_files([SMALL])
    svc.introductions.least = 1  # five organisations in the test data: a record counts from one introduction
    yield svc
    _close(svc)


def _member(svc: DLDMatch, org: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {svc.accounts.create_token('member', organisation=org)}"}


def _introduce(c: TestClient, svc: DLDMatch, a: str, b: str, result: str | None, *, accept: bool = True,
               withdraw: bool = False) -> None:
    """``a`` expresses interest in ``b``; ``b`` accepts (or declines); ``a`` tells the outcome."""
    iid = c.post("/interests", json={"to": b}, headers=_member(svc, a)).json()["id"]
    action = "accept" if accept else "decline"
    assert c.post(f"/interests/{iid}/{action}", headers=_member(svc, b)).status_code == 200
    if result:
        told = c.post(f"/interests/{iid}/outcome", json={"result": result}, headers=_member(svc, a))
        assert told.status_code == 200, told.text
    if withdraw:
        assert c.post(f"/interests/{iid}/withdraw", headers=_member(svc, a)).status_code == 200


def _history(svc: DLDMatch) -> None:
    with TestClient(create_app(svc.settings, service=svc, start="none")) as c:
        # one pair, however often it is introduced: withdrawing and asking again adds nothing
        for _ in range(3):
            _introduce(c, svc, CSO, FUND, "agreement_reached", withdraw=True)
        _introduce(c, svc, FIRM, LAB, "met")  # both sides: met, no cooperation
        _introduce(c, svc, CSO, CITY, None, accept=False)  # declined: consent, not a failure
        _introduce(c, svc, LAB, CITY, None)  # accepted, never answered: not counted yet
    svc.introductions.forget()


def test_outcomes_become_each_organisations_record_one_introduction_a_pair(weighted: DLDMatch) -> None:
    _history(weighted)
    records = weighted.introductions.records()
    assert {org: (r.introductions, r.cooperation) for org, r in records.items()} == {
        CSO: (1, 1), FUND: (1, 1), FIRM: (1, 0), LAB: (1, 0)}
    # 2 of 4 usual; one cooperation of one, smoothed over 4 at the usual rate: (1 + 2) / 5 = 0.6, lift 0.2
    assert records[FUND].value == pytest.approx(0.2)
    assert records[FIRM].value == 0.0  # no worse than nothing: a poor record gets no part, not a negative one
    # as served: a record counts from five partners on, so nothing about a handful of pairs shows in rankings
    assert all(r.value == 0 for r in Introductions(weighted.engine).records().values())


def test_a_partner_search_shows_the_part_and_says_why_without_the_counts(weighted: DLDMatch) -> None:
    _history(weighted)
    with TestClient(create_app(weighted.settings, service=weighted, start="none")) as c:
        results = {m["id"]: m for m in c.get(f"/stakeholders/{LAB}/partners", params={"k": 10}).json()["results"]}
    assert FUND in results and FIRM in results
    fund = results[FUND]
    assert fund["parts"]["introductions"] == pytest.approx(0.2)
    assert fund["components"]["introductions"] == pytest.approx(0.2 * 0.2, abs=1e-5)  # weight x value
    assert sum(fund["components"].values()) == pytest.approx(fund["score"], abs=1e-5)
    assert fund["explanation"]["introductions"] is True
    assert not results[FIRM]["components"].get("introductions")  # met, no cooperation: no lift
    assert results[FIRM]["explanation"]["introductions"] is False


def test_the_web_page_says_it_in_the_readers_language(weighted: DLDMatch) -> None:
    _history(weighted)
    with TestClient(create_app(weighted.settings, service=weighted, start="none")) as c:
        page = c.get(f"/s/{LAB}/partners").text
        korean = c.get(f"/s/{LAB}/partners", params={"lang": "ko"}).text
    assert "Its introductions through dldmatch became cooperation more often than usual." in page
    assert "dldmatch를 통한 소개가 협력으로 이어진 비율이 평균보다 높습니다." in korean


def test_off_by_default_the_same_history_changes_nothing(loaded: DLDMatch, anonymous: TestClient) -> None:
    before = anonymous.get(f"/stakeholders/{LAB}/partners", params={"k": 10}).json()["results"]
    loaded.introductions.least = 1
    _history(loaded)
    after = anonymous.get(f"/stakeholders/{LAB}/partners", params={"k": 10}).json()["results"]
    assert [(m["id"], m["score"]) for m in after] == [(m["id"], m["score"]) for m in before]
    assert all(not m["components"].get("introductions") and m["explanation"]["introductions"] is False
               for m in after)
    assert loaded.introductions.records()  # the records exist; the ranking does not weigh them


def test_forum_meetings_count_and_the_records_are_read_again_after_a_while(weighted: DLDMatch) -> None:
    slow = Introductions(weighted.engine, ttl=3600, least=1)
    assert slow.records() == {}
    with Session(weighted.writer) as session:
        session.add(MeetingOutcome(forum="f1", a=FIRM, b=FUND, org=FIRM, stage="first", result="met",
                                   answered_at=utcnow()))
        session.add(MeetingOutcome(forum="f1", a=FIRM, b=FUND, org=FUND, stage="later",
                                   result="agreement_reached", answered_at=utcnow()))
        session.commit()
    assert slow.records() == {}  # read at most once an hour here
    slow.forget()
    got = slow.records()
    assert {org: (r.introductions, r.cooperation) for org, r in got.items()} == {FIRM: (1, 1), FUND: (1, 1)}


def test_a_failed_read_keeps_the_records_read_before(weighted: DLDMatch, monkeypatch: pytest.MonkeyPatch) -> None:
    _history(weighted)
    kept = weighted.introductions.records()
    assert kept

    def broken() -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr(weighted.introductions, "answers", broken)
    weighted.introductions.forget()
    assert weighted.introductions.records() == kept
    with TestClient(create_app(weighted.settings, service=weighted, start="none")) as c:
        assert c.get(f"/stakeholders/{LAB}/partners").status_code == 200
