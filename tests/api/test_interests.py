"""Consent before contact (issue 15, item 5) and invitations with their outbox (item 2)."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient

from api.access import CSRF_COOKIE, SESSION_COOKIE
from api.app import create_app
from api.service import DLDMatch
from api.settings import Settings
from embeddings.fake import FakeEmbedder
from tests.conftest import SMALL

A, B, C = "t-cso", "t-fund", "t-firm"  # tests/data/small.jsonl
CONTACT_A = {"name": "Ms A", "email": "a@cso.example"}
CONTACT_B = {"name": "Mr B", "email": "b@fund.example"}


def _bearer(svc: DLDMatch, role: str = "member", org: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {svc.accounts.create_token(role, organisation=org)}"}


def _with_contacts(client: TestClient) -> None:
    for org, contact in ((A, CONTACT_A), (B, CONTACT_B)):
        body = {k: v for k, v in client.get(f"/stakeholders/{org}").json().items()
                if k in ("id", "name", "kind", "countries", "description")}
        assert client.put(f"/stakeholders/{org}", json={**body, "contact": contact}).status_code == 200


def test_contacts_are_shown_to_both_only_once_the_other_side_accepts(client: TestClient, anonymous: TestClient,
                                                                     loaded: DLDMatch) -> None:
    _with_contacts(client)
    loaded.accounts.create_account("member@fund.example", "member", organisation=B, password="fund member pass")
    a, b, c = _bearer(loaded, org=A), _bearer(loaded, org=B), _bearer(loaded, org=C)
    sent = anonymous.post("/interests", json={"to": B, "message": "Co-fund our shelterbelts?"}, headers=a)
    assert sent.status_code == 201 and sent.json()["status"] == "open" and sent.json()["contacts"] is None
    iid = sent.json()["id"]
    # B's member is told, through the outbox; nobody sees contacts yet
    [mail] = loaded.outbox.recent(to="member@fund.example")
    assert "would like to meet you" in mail.subject and "Co-fund our shelterbelts?" in mail.body
    assert anonymous.get(f"/interests/{iid}", headers=b).json()["contacts"] is None
    assert anonymous.get(f"/interests/{iid}", headers=c).status_code == 404  # not theirs: not shown to exist
    assert anonymous.get(f"/interests/{iid}").status_code == 401
    # only the side it is for accepts
    refused = anonymous.post(f"/interests/{iid}/accept", headers=a)
    assert refused.status_code == 403 and "only the organisation the interest is for" in refused.json()["message"]
    accepted = anonymous.post(f"/interests/{iid}/accept", headers=b).json()
    assert accepted["status"] == "accepted"
    assert {org: {k: v for k, v in c.items() if v} for org, c in accepted["contacts"].items()} == \
        {A: CONTACT_A, B: CONTACT_B}
    assert anonymous.get(f"/interests/{iid}", headers=a).json()["contacts"][B]["email"] == "b@fund.example"
    assert "a@cso.example" not in anonymous.get(f"/stakeholders/{A}").text  # public profiles still have none
    # either side may withdraw: contacts are hidden again
    assert anonymous.post(f"/interests/{iid}/withdraw", headers=a).json()["contacts"] is None
    assert anonymous.get(f"/interests/{iid}", headers=b).json()["status"] == "withdrawn"


def test_a_declined_interest_shares_nothing_and_frees_the_pair(client: TestClient, anonymous: TestClient,
                                                                loaded: DLDMatch) -> None:
    _with_contacts(client)
    a, b = _bearer(loaded, org=A), _bearer(loaded, org=B)
    iid = anonymous.post("/interests", json={"to": B}, headers=a).json()["id"]
    again = anonymous.post("/interests", json={"to": A}, headers=b)
    assert again.status_code == 409 and "accept it in your inbox" in again.json()["message"]
    declined = anonymous.post(f"/interests/{iid}/decline", headers=b).json()
    assert declined["status"] == "declined" and declined["contacts"] is None
    assert anonymous.post(f"/interests/{iid}/accept", headers=b).status_code == 409  # decided
    assert anonymous.post("/interests", json={"to": A}, headers=b).status_code == 201  # the pair is free again


def test_the_secretariat_brokers_when_asked_and_sees_every_interest(client: TestClient, anonymous: TestClient,
                                                                   loaded: DLDMatch) -> None:
    loaded.accounts.create_account("ops@neaspec.example", "secretariat", password="secretariat pass")
    a, b = _bearer(loaded, org=A), _bearer(loaded, org=B)
    iid = anonymous.post("/interests", json={"to": B, "message": "Via you, please", "broker": True},
                         headers=a).json()["id"]
    assert loaded.outbox.recent(to="ops@neaspec.example")[0].subject.startswith("To broker")
    # the other side knows nothing of it until the secretariat forwards it
    assert anonymous.get("/interests", headers=b).json() == []
    assert anonymous.get(f"/interests/{iid}", headers=b).status_code == 404
    assert anonymous.post(f"/interests/{iid}/accept", headers=b).status_code == 404
    assert [i["id"] for i in client.get("/interests").json()] == [iid]
    assert anonymous.post(f"/interests/{iid}/forward", headers=a).status_code == 403
    assert client.post(f"/interests/{iid}/forward").json()["status"] == "open"
    assert anonymous.post(f"/interests/{iid}/accept", headers=b).json()["status"] == "accepted"


def test_interest_needs_a_member_and_another_organisation(client: TestClient, anonymous: TestClient,
                                                          loaded: DLDMatch) -> None:
    a = _bearer(loaded, org=A)
    assert anonymous.post("/interests", json={"to": B}).status_code == 401
    assert client.post("/interests", json={"to": B}).status_code == 403  # the secretariat brokers, not expresses
    itself = anonymous.post("/interests", json={"to": A}, headers=a)
    assert itself.status_code == 422 and itself.json()["errors"][0]["field"] == "to"
    assert anonymous.post("/interests", json={"to": "nobody"}, headers=a).status_code == 404
    long = anonymous.post("/interests", json={"to": B, "message": "x" * 1001}, headers=a)
    assert long.status_code == 422 and long.json()["errors"][0]["field"] == "message"


def test_two_sides_expressing_interest_at_once_make_one(tmp_path: Path, file_database_url: str) -> None:
    settings = Settings(database_url=file_database_url, index_dir=tmp_path / "i", embedder="fake", seed_dir=None)
    svc = DLDMatch(settings, FakeEmbedder())
    svc.start()
    try:
        svc.import_files([SMALL])
        tokens = [_bearer(svc, org=A), _bearer(svc, org=B)] * 3
        statuses: list[int] = []
        lock = threading.Lock()
        with TestClient(create_app(settings, service=svc, start="none")) as c:
            def send(n: int) -> None:
                status = c.post("/interests", json={"to": B if n % 2 == 0 else A}, headers=tokens[n]).status_code
                with lock:
                    statuses.append(status)

            threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert sorted(statuses) == [201, 409, 409, 409, 409, 409]
    finally:
        svc.close()
        svc.writer.dispose()
        svc.engine.dispose()


def test_an_invitation_link_sets_a_password_once(client: TestClient, anonymous: TestClient, loaded: DLDMatch) -> None:
    made = client.post("/invitations", json={"email": "New.Member@cso.example", "organisation": A, "name": "Ms New"})
    assert made.status_code == 201 and "dldm" not in made.text and "/invite/" not in made.text
    [mail] = loaded.outbox.recent(to="new.member@cso.example")
    link = next(line for line in mail.body.splitlines() if "/invite/" in line)
    path = link.split("127.0.0.1:8000", 1)[1]
    page = anonymous.get(path)
    assert page.status_code == 200 and "a member of t-cso" in page.text
    csrf = anonymous.cookies.get(CSRF_COOKIE)
    short = anonymous.post(path, data={"password": "short", "again": "short", "csrf": csrf})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    done = anonymous.post(path, data={"password": "a new pass phrase", "again": "a new pass phrase", "csrf": csrf},
                          follow_redirects=False)
    assert done.status_code == 303 and anonymous.cookies.get(SESSION_COOKIE)
    assert "Signed in as Ms New" in anonymous.get("/").text
    assert anonymous.get(path).status_code == 404  # used
    assert client.post("/invitations", json={"email": "new.member@cso.example", "organisation": A}).status_code == 409
    bad = client.post("/invitations", json={"email": "x@y.example", "role": "member"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "organisation"


def test_mail_that_cannot_be_sent_is_kept_with_its_error(loaded: DLDMatch) -> None:
    loaded.outbox.settings = loaded.settings.model_copy(update={"smtp_url": "smtp://127.0.0.1:9"})  # nothing listens
    row = loaded.outbox.send("x@y.example", "Subject", "Body")
    assert row.sent_at is None and row.error and "Connection" in row.error


def test_a_sent_invitation_link_is_not_kept_in_the_outbox(client: TestClient, loaded: DLDMatch, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    loaded.outbox.settings = loaded.settings.model_copy(update={"smtp_url": "smtp://mail.example:587"})
    monkeypatch.setattr(loaded.outbox, "_smtp", lambda row: None)  # the server took it
    assert client.post("/invitations", json={"email": "sent@cso.example", "organisation": A}).status_code == 201
    [mail] = loaded.outbox.recent(to="sent@cso.example")
    assert mail.sent_at is not None and "/invite/" not in mail.body and "not kept" in mail.body
