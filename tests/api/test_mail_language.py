"""Mail in the reader's language: each account's mail is written in its language (chosen at the
invitation, kept by the web page's language switch); a stored contact without an account gets the
first of its organisation's languages the interface has; English otherwise."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.access import CSRF_COOKIE
from api.service import DLDMatch
from store.models import Account
from store.models import Outbox as OutboxRow

CSO, FUND, LAB = "t-cso", "t-fund", "t-lab"  # tests/data/small.jsonl


def _mails(svc: DLDMatch, to: str) -> list[OutboxRow]:
    return svc.outbox.recent(to=to)


def _member(svc: DLDMatch, org: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {svc.accounts.create_token('member', organisation=org)}"}


def test_an_invitation_is_mailed_in_the_language_chosen_for_it(client: TestClient, loaded: DLDMatch) -> None:
    made = client.post("/invitations", json={"email": "Bat@Example.mn", "organisation": CSO, "language": "mn"})
    assert made.status_code == 201, made.text
    mail = _mails(loaded, "bat@example.mn")[0]
    assert mail.subject == "Таны dldmatch бүртгэл"
    assert "Test Steppe CSO-ийн гишүүн" in mail.body  # the organisation by its name
    assert "цагийн дотор нууц үгээ тохируулна уу" in mail.body and "/invite/" in mail.body
    english = client.post("/invitations", json={"email": "jo@example.org", "organisation": CSO})
    assert english.status_code == 201 and _mails(loaded, "jo@example.org")[0].subject == "Your dldmatch account"
    bad = client.post("/invitations", json={"email": "x@example.org", "organisation": CSO, "language": "fr"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "language"
    assert not _mails(loaded, "x@example.org")  # nothing made, nothing mailed


def test_an_interest_reaches_each_member_in_its_own_language(anonymous: TestClient, loaded: DLDMatch) -> None:
    loaded.accounts.invite("ko@fund.example", "member", organisation=FUND, language="ko")
    loaded.accounts.invite("en@fund.example", "member", organisation=FUND)
    iid = anonymous.post("/interests", json={"to": FUND, "message": "Saxaul in the Gobi"},
                         headers=_member(loaded, CSO)).json()["id"]
    korean, english = _mails(loaded, "ko@fund.example")[0], _mails(loaded, "en@fund.example")[0]
    assert korean.subject == "Test Steppe CSO이(가) 귀하와 만나기를 원합니다"
    assert "수락 또는 거절" in korean.body and "Saxaul in the Gobi" in korean.body  # the member's own words kept
    assert english.subject == "Test Steppe CSO would like to meet you"
    # the answer goes back to the asker's members, in theirs
    loaded.accounts.invite("ru@cso.example", "member", organisation=CSO, language="ru")
    assert anonymous.post(f"/interests/{iid}/accept", headers=_member(loaded, FUND)).status_code == 200
    assert _mails(loaded, "ru@cso.example")[0].subject == "Test Land Fund принял(а) ваш интерес"


def test_a_contact_without_an_account_gets_its_organisations_language(client: TestClient,
                                                                      loaded: DLDMatch) -> None:
    made = client.post("/stakeholders", json={"id": "t-herders", "name": "Herders' Union", "kind": "cso",
                                              "countries": ["MN"], "languages": ["mn", "en"],
                                              "description": "Herders restoring pastures in the Gobi.",
                                              "contact": {"name": "Bold", "email": "bold@herders.example"}})
    assert made.status_code == 201, made.text
    assert client.post("/interests", json={"to": "t-herders"}, headers=_member(loaded, LAB)).status_code == 201
    assert _mails(loaded, "bold@herders.example")[0].subject == "Test Dust Lab тантай уулзахыг хүсч байна"


def test_the_language_switch_sets_the_language_of_a_signed_in_persons_mail(anonymous: TestClient,
                                                                           loaded: DLDMatch) -> None:
    loaded.accounts.create_account("mem@cso.example", "member", organisation=CSO, name="Ms Test",
                                   password="a long pass phrase")
    anonymous.get("/login")
    signed = anonymous.post("/login", data={"email": "mem@cso.example", "password": "a long pass phrase",
                                            "next": "/", "csrf": anonymous.cookies.get(CSRF_COOKIE)},
                            follow_redirects=False)
    assert signed.status_code == 303
    assert anonymous.get("/", params={"lang": "ja"}).status_code == 200
    with Session(loaded.engine) as session:
        assert session.exec(select(Account.language).where(Account.email == "mem@cso.example")).one() == "ja"
    anonymous.post("/interests", json={"to": CSO}, headers=_member(loaded, FUND))
    assert _mails(loaded, "mem@cso.example")[0].subject == "Test Land Fund があなたとの面会を希望しています"


def test_the_cli_invites_in_a_language_and_refuses_an_unknown_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from api.cli import cli

    env = {"DLDMATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "DLDMATCH_INDEX_DIR": str(tmp_path / "idx"),
           "DLDMATCH_EMBEDDER": "fake"}
    ok = CliRunner().invoke(cli, ["account", "invite", "--email", "s@neaspec.example", "--role", "secretariat",
                                  "--language", "zh"], env=env)
    assert ok.exit_code == 0, ok.output
    refused = CliRunner().invoke(cli, ["account", "invite", "--email", "t@neaspec.example", "--role", "secretariat",
                                       "--language", "xx"], env=env)
    assert refused.exit_code != 0 and "language" in refused.output
