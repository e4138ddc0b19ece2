"""What became of introductions (issue 16, items 1 and 2): outcomes of accepted interests, the questions
asked about them through the outbox, the secretariat's funnel, and "no thanks"."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.app import create_app
from api.core import utcnow
from api.service import DLDMatch
from store.models import Interest
from tests.conftest import at_once

A, B, C = "t-cso", "t-fund", "t-firm"  # tests/data/small.jsonl


def _bearer(svc: DLDMatch, role: str = "member", org: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {svc.accounts.create_token(role, organisation=org)}"}


def _accepted(anonymous: TestClient, a: dict[str, str], b: dict[str, str], to: str = B) -> int:
    iid = anonymous.post("/interests", json={"to": to}, headers=a).json()["id"]
    assert anonymous.post(f"/interests/{iid}/accept", headers=b).json()["status"] == "accepted"
    return int(iid)


def _age(svc: DLDMatch, iid: int, days: int) -> None:
    """As if the interest had been accepted ``days`` ago."""
    with Session(svc.writer) as session:
        row = session.get(Interest, iid)
        assert row is not None
        row.accepted_at = utcnow() - timedelta(days=days)
        session.add(row)
        session.commit()


def test_each_side_tells_what_came_of_an_accepted_interest(anonymous: TestClient, loaded: DLDMatch) -> None:
    a, b, c = _bearer(loaded, org=A), _bearer(loaded, org=B), _bearer(loaded, org=C)
    open_one = anonymous.post("/interests", json={"to": C}, headers=a).json()["id"]
    refused = anonymous.post(f"/interests/{open_one}/outcome", json={"result": "met"}, headers=a)
    assert refused.status_code == 409 and "never accepted" in refused.json()["message"]
    iid = _accepted(anonymous, a, b)
    told = anonymous.post(f"/interests/{iid}/outcome", json={"result": "met", "note": "Met in Ulaanbaatar"}, headers=a)
    assert told.status_code == 200, told.text
    assert told.json()["org"]["id"] == A and told.json()["label"] == "We met" and told.json()["version"] == 1
    assert anonymous.post(f"/interests/{iid}/outcome", json={"result": "cooperation_started"},
                          headers=b).json()["org"]["id"] == B
    # the interest shows both answers to both sides; a third organisation does not see it at all
    shown = anonymous.get(f"/interests/{iid}", headers=b).json()
    assert {(o["org"]["id"], o["result"]) for o in shown["outcomes"]} == {(A, "met"), (B, "cooperation_started")}
    assert shown["accepted_at"]
    assert anonymous.post(f"/interests/{iid}/outcome", json={"result": "met"}, headers=c).status_code == 404
    assert anonymous.get("/outcomes", headers=c).json() == []
    # answering again without the version read is refused, with the version read it changes the answer
    again = anonymous.post(f"/interests/{iid}/outcome", json={"result": "agreement_reached"}, headers=a)
    assert again.status_code == 409 and "already answered" in again.json()["message"]
    changed = anonymous.post(f"/interests/{iid}/outcome", json={"result": "agreement_reached", "version": 1},
                             headers=a)
    assert changed.status_code == 200 and changed.json()["version"] == 2
    stale = anonymous.post(f"/interests/{iid}/outcome", json={"result": "met", "version": 1}, headers=a)
    assert stale.status_code == 409
    # the later question opens about six months after acceptance
    early = anonymous.post(f"/interests/{iid}/outcome", json={"stage": "later", "result": "met"}, headers=a)
    assert early.status_code == 409 and "six months" in early.json()["message"]
    _age(loaded, iid, 160)
    assert anonymous.post(f"/interests/{iid}/outcome", json={"stage": "later", "result": "agreement_reached"},
                          headers=a).status_code == 200
    # plain-word errors naming the field
    bad = anonymous.post(f"/interests/{iid}/outcome", json={"result": "great"}, headers=a)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "result"
    assert anonymous.post(f"/interests/{iid}/outcome", json={"result": "met"}).status_code == 401
    assert anonymous.post(f"/interests/{iid}/outcome", json={"result": "met"},
                          headers=_bearer(loaded, role="secretariat")).status_code == 403


def test_the_funnel_counts_each_interest_at_the_furthest_stage_either_side_reached(
        client: TestClient, anonymous: TestClient, loaded: DLDMatch) -> None:
    a, b, c = _bearer(loaded, org=A), _bearer(loaded, org=B), _bearer(loaded, org=C)
    met = _accepted(anonymous, a, b)
    anonymous.post(f"/interests/{met}/outcome", json={"result": "no_answer"}, headers=a)
    anonymous.post(f"/interests/{met}/outcome", json={"result": "cooperation_started"}, headers=b)
    _accepted(anonymous, c, a, to=A)  # accepted, nothing told yet
    anonymous.post("/interests", json={"to": B}, headers=c)  # still open
    funnel = client.get("/outcomes/funnel").json()
    assert funnel["overall"] == {"expressed": 3, "accepted": 2, "met": 1, "cooperation": 1, "agreement": 0}
    assert funnel["by"]["kind"]["cso"]["expressed"] == 2  # A (a CSO) is in two of them
    assert sum(v["expressed"] for v in funnel["by"]["country"].values()) >= 3
    assert anonymous.get("/outcomes/funnel", headers=a).status_code == 403
    rows = list(csv.reader(io.StringIO(client.get("/outcomes/funnel", params={"format": "csv"}).text.lstrip("\ufeff"))))
    assert rows[0] == ["group", "value", "expressed", "accepted", "met", "cooperation", "agreement"]
    assert rows[1] == ["all", "all", "3", "2", "1", "1", "0"]
    assert rows[-1] == ["forum meetings", "all", "0", "0", "0", "0", "0"]  # no forum scheduled here
    assert client.get("/outcomes/funnel").json()["meetings"]["scheduled"] == 0
    page = client.get("/conversion")
    assert page.status_code == 200 and "What introductions became" in page.text


def test_the_funnel_is_counted_again_only_after_a_change_and_then_shows_it(
        client: TestClient, anonymous: TestClient, loaded: DLDMatch, monkeypatch: pytest.MonkeyPatch) -> None:
    """The funnel reads whole tables: it is read once per change, not once per request, and a change
    (an answer told, a profile edited, a row changed directly) shows at the next request."""
    from api.outcomes import Outcomes

    counted = []
    real = Outcomes._count_funnel
    monkeypatch.setattr(Outcomes, "_count_funnel", staticmethod(lambda session: counted.append(1) or real(session)))
    a, b = _bearer(loaded, org=A), _bearer(loaded, org=B)
    iid = _accepted(anonymous, a, b)
    first = client.get("/outcomes/funnel").json()["overall"]
    assert client.get("/outcomes/funnel").json()["overall"] == first and len(counted) == 1
    assert first["accepted"] >= 1 and first["cooperation"] == 0
    anonymous.post(f"/interests/{iid}/outcome", json={"result": "cooperation_started"}, headers=b)
    assert client.get("/outcomes/funnel").json()["overall"]["cooperation"] == 1 and len(counted) == 2
    _age(loaded, iid, 3)  # a versioned change made outside the routes is seen too
    client.get("/outcomes/funnel")
    assert len(counted) == 3
    # each caller gets its own copy: changing one answer does not change the next
    loaded.outcomes.funnel()["overall"]["expressed"] = -1
    assert loaded.outcomes.funnel()["overall"]["expressed"] >= 1


def test_questions_are_asked_when_due_and_only_once(anonymous: TestClient, loaded: DLDMatch) -> None:
    loaded.accounts.create_account("m@cso.example", "member", organisation=A, password="cso member pass")
    loaded.accounts.create_account("m@fund.example", "member", organisation=B, password="fund member pass")
    a, b = _bearer(loaded, org=A), _bearer(loaded, org=B)
    iid = _accepted(anonymous, a, b)
    assert loaded.outcomes.remind() == {"first": 0, "later": 0}  # just accepted: nothing due
    _age(loaded, iid, 15)
    anonymous.post(f"/interests/{iid}/outcome", json={"result": "met"}, headers=b)  # B answered already
    assert loaded.outcomes.remind() == {"first": 1, "later": 0}  # so only A is asked
    assert loaded.outcomes.remind() == {"first": 0, "later": 0}  # and only once
    [mail] = [m for m in loaded.outbox.recent(to="m@cso.example") if "What came of" in m.subject]
    assert f"/inbox#interest-{iid}" in mail.body
    _age(loaded, iid, 190)
    assert loaded.outcomes.remind() == {"first": 0, "later": 2}
    assert loaded.outcomes.remind() == {"first": 0, "later": 0}


def test_reminder_runs_at_once_ask_each_question_once(small_on_file: DLDMatch) -> None:
    svc = small_on_file
    svc.accounts.create_account("m@cso.example", "member", organisation=A, password="cso member pass")
    with TestClient(create_app(svc.settings, service=svc, start="none")) as c:
        iids = [_accepted(c, _bearer(svc, org=A), _bearer(svc, org=other), to=other) for other in (B, C)]
    for iid in iids:
        _age(svc, iid, 20)
    results = at_once(svc.outcomes.remind, 4)
    assert sum(r["first"] for r in results) == 4  # two interests, two sides each: asked once in all
    assert len([m for m in svc.outbox.recent(to="m@cso.example") if "What came of" in m.subject]) == 2


def test_two_members_answering_at_once_make_one_answer(small_on_file: DLDMatch) -> None:
    svc = small_on_file
    with TestClient(create_app(svc.settings, service=svc, start="none")) as c:
        iid = _accepted(c, _bearer(svc, org=A), _bearer(svc, org=B))
        tokens = iter([_bearer(svc, org=A) for _ in range(5)])

        def answer() -> int:
            return c.post(f"/interests/{iid}/outcome", json={"result": "met"}, headers=next(tokens)).status_code

        assert sorted(at_once(answer, 5)) == [200, 409, 409, 409, 409]
        [told] = c.get(f"/interests/{iid}", headers=_bearer(svc, org=A)).json()["outcomes"]
        assert told["version"] == 1


def test_no_thanks_leaves_an_organisation_out_of_the_partners_suggested(client: TestClient, anonymous: TestClient,
                                                                        loaded: DLDMatch) -> None:
    a, b = _bearer(loaded, org=A), _bearer(loaded, org=B)
    before = [m["id"] for m in anonymous.get(f"/stakeholders/{A}/partners", params={"k": 20}).json()["results"]]
    assert B in before
    said = anonymous.post("/no-thanks", json={"other": B}, headers=a)
    assert said.status_code == 201 and said.json()["other"]["id"] == B
    assert anonymous.post("/no-thanks", json={"other": B}, headers=a).status_code == 409
    after = anonymous.get(f"/stakeholders/{A}/partners", params={"k": 20}).json()
    assert B not in [m["id"] for m in after["results"]] and after["not_suggested"] == 1
    # only for A: B still sees A, and A's list is A's own
    assert A in [m["id"] for m in anonymous.get(f"/stakeholders/{B}/partners", params={"k": 20}).json()["results"]]
    assert [r["other"]["id"] for r in anonymous.get("/no-thanks", headers=a).json()] == [B]
    assert anonymous.get("/no-thanks", headers=b).json() == []
    assert anonymous.delete(f"/no-thanks/{B}", headers=a).status_code == 204
    assert B in [m["id"] for m in anonymous.get(f"/stakeholders/{A}/partners", params={"k": 20}).json()["results"]]
    assert anonymous.delete(f"/no-thanks/{B}", headers=a).status_code == 404
    # a declined interest counts as no thanks for the side that declined
    iid = anonymous.post("/interests", json={"to": A}, headers=b).json()["id"]
    assert anonymous.post(f"/interests/{iid}/decline", headers=a).status_code == 200
    assert B not in [m["id"] for m in anonymous.get(f"/stakeholders/{A}/partners", params={"k": 20}).json()["results"]]
    # mistakes in plain words
    assert anonymous.post("/no-thanks", json={"other": A}, headers=a).status_code == 422
    assert anonymous.post("/no-thanks", json={"other": "nobody-here"}, headers=a).status_code == 404
    assert anonymous.post("/no-thanks", json={"other": B}).status_code == 401
