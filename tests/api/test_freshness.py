"""Fresh profiles (issue 16, item 3): confirmed when saved or confirmed, stale after a year: flagged,
ranked lower (shown as a part of the score), listed for the secretariat, their members reminded once."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.core import utcnow
from api.service import DLDMatch
from store.models import Stakeholder
from tests.conftest import at_once

A, B = "t-cso", "t-fund"  # tests/data/small.jsonl


def _age(svc: DLDMatch, external_id: str, days: int) -> None:
    """As if the profile had last been confirmed ``days`` ago (a write other workers follow)."""
    from api.indexing import record_changes

    with Session(svc.writer) as session:
        row = session.exec(select(Stakeholder).where(Stakeholder.external_id == external_id)).one()
        row.confirmed_at = utcnow() - timedelta(days=days)
        session.add(row)
        session.flush()
        record_changes(session, {"stakeholder": [row.id]})
        session.commit()
    svc.indexing.catch_up()


def _partner_of(client: TestClient, query: str, wanted: str) -> dict:  # type: ignore[type-arg]
    results = client.get(f"/stakeholders/{query}/partners", params={"k": 20}).json()["results"]
    return next(m for m in results if m["id"] == wanted)


def test_a_profile_unconfirmed_for_a_year_is_flagged_ranked_lower_and_listed(client: TestClient,
                                                                            loaded: DLDMatch) -> None:
    fresh = client.get(f"/stakeholders/{B}").json()
    assert fresh["confirmed_at"] and fresh["stale"] is False  # imported: confirmed then
    before = _partner_of(client, A, B)
    assert "stale" not in before["components"]
    _age(loaded, B, 400)
    assert client.get(f"/stakeholders/{B}").json()["stale"] is True
    after = _partner_of(client, A, B)
    assert after["components"]["stale"] < 0  # a part of its own, so the parts still add up to the score
    assert abs(sum(after["components"].values()) - after["score"]) < 1e-5
    assert after["score"] < before["score"] and abs(after["score"] - 0.85 * before["score"]) < 1e-4
    assert [r["id"] for r in client.get("/stale").json()] == [B]
    page = client.get(f"/s/{B}").text
    assert "Possibly out of date" in page and "This profile is current" in page
    # confirming makes it fresh again, for this worker and the others (a logged change)
    confirmed = client.post(f"/stakeholders/{B}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["stale"] is False
    assert client.get("/stale").json() == []
    assert "stale" not in _partner_of(client, A, B)["components"]
    stale_version = client.post(f"/stakeholders/{B}/confirm", headers={"If-Match": '"1"'})
    assert stale_version.status_code == 409 and "changed meanwhile" in stale_version.json()["message"]


def test_only_its_members_or_the_secretariat_confirm_a_profile(anonymous: TestClient, loaded: DLDMatch) -> None:
    own = {"Authorization": f"Bearer {loaded.accounts.create_token('member', organisation=B)}"}
    other = {"Authorization": f"Bearer {loaded.accounts.create_token('member', organisation=A)}"}
    assert anonymous.post(f"/stakeholders/{B}/confirm").status_code == 401
    assert anonymous.post(f"/stakeholders/{B}/confirm", headers=other).status_code == 403
    assert anonymous.post(f"/stakeholders/{B}/confirm", headers=own).status_code == 200
    assert anonymous.get("/stale", headers=own).status_code == 403
    assert anonymous.post("/stakeholders/nobody/confirm",
                          headers={"Authorization": f"Bearer {loaded.accounts.create_token('secretariat')}"}
                          ).status_code == 404


def test_members_of_a_stale_profile_are_reminded_once(loaded: DLDMatch) -> None:
    loaded.accounts.create_account("m@fund.example", "member", organisation=B, password="fund member pass")
    assert loaded.freshness.remind() == 0  # nothing stale yet
    _age(loaded, B, 400)
    _age(loaded, A, 500)  # stale, but nobody to remind: the secretariat's list shows it
    assert loaded.freshness.remind() == 1
    assert loaded.freshness.remind() == 0  # once per confirmation date
    [mail] = [m for m in loaded.outbox.recent(to="m@fund.example") if "still current" in m.subject]
    assert f"/s/{B}" in mail.body
    loaded.freshness.confirm(B)
    _age(loaded, B, 370)  # stale again, as of a later confirmation: reminded again
    assert loaded.freshness.remind() == 1


def test_reminder_runs_at_once_remind_once(small_on_file: DLDMatch) -> None:
    svc = small_on_file
    svc.accounts.create_account("m@fund.example", "member", organisation=B, password="fund member pass")
    _age(svc, B, 400)
    got = at_once(svc.freshness.remind, 4)
    assert sum(got) == 1
    assert len([m for m in svc.outbox.recent(to="m@fund.example") if "still current" in m.subject]) == 1
