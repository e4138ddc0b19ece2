"""Who may do what (issue 15): every route of the app, walked as the public, a member of another
organisation, a member of the organisation and the secretariat; tokens, sign-in, sessions and CSRF.

The expectations below are written here, not read from ``api.access.RULES``: a route added without a
rule is refused to everyone (and fails here), and a route added without an expectation fails here too.
"""

from __future__ import annotations

import threading
from typing import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from starlette.routing import Mount

from api.access import CSRF_COOKIE, SESSION_COOKIE
from api.app import create_app
from api.service import DLDMatch
from store.models import Account, ApiToken

OWN, OTHER = "t-cso", "t-firm"  # tests/data/small.jsonl
PROJECT = "t-belt"  # t-cso takes part in it
FORUM = "f-access"

# who may use each route: anyone, signed_in (any member or the secretariat), own (a member of the
# organisation the route names, or the secretariat), secretariat
EXPECTED: dict[tuple[str, str], str] = {
    **{("GET", p): "anyone" for p in [
        "/health", "/themes", "/stakeholders", "/stakeholders/{external_id}", "/stakeholders/{external_id}/partners",
        "/stakeholders/{external_id}/projects", "/projects", "/projects/{external_id}",
        "/projects/{external_id}/partners", "/pooling", "/stakeholders/{external_id}/pooling",
        "/templates/questionnaire.xlsx", "/templates/{sheet}.csv", "/docs", "/openapi.json", "/countries/{code}",
        "/", "/search", "/s/{external_id}", "/s/{external_id}/partners", "/s/{external_id}/projects",
        "/p/{external_id}", "/p/{external_id}/partners", "/browse", "/overview", "/intake",
        "/pooling-opportunities", "/s/{external_id}/pooling", "/login", "/country/{code}", "/map"]},
    ("POST", "/match"): "anyone",
    ("POST", "/login"): "anyone",
    ("POST", "/logout"): "anyone",
    ("POST", "/stakeholders"): "secretariat",
    ("PUT", "/stakeholders/{external_id}"): "own",
    ("DELETE", "/stakeholders/{external_id}"): "secretariat",
    ("POST", "/projects"): "signed_in",
    ("PUT", "/projects/{external_id}"): "own",
    ("DELETE", "/projects/{external_id}"): "own",
    ("POST", "/import"): "secretariat",
    ("POST", "/submissions"): "anyone",
    ("GET", "/submissions"): "secretariat",
    ("GET", "/submissions/{submission_id}"): "secretariat",
    ("POST", "/submissions/{submission_id}/approve"): "secretariat",
    ("POST", "/submissions/{submission_id}/reject"): "secretariat",
    ("POST", "/interests"): "signed_in",
    ("GET", "/interests"): "signed_in",
    ("GET", "/interests/{interest_id}"): "signed_in",
    ("POST", "/interests/{interest_id}/{action}"): "signed_in",
    ("POST", "/invitations"): "secretariat",
    ("GET", "/p/new"): "signed_in",
    ("POST", "/p/new"): "signed_in",
    ("GET", "/p/{external_id}/edit"): "own",
    ("POST", "/p/{external_id}/edit"): "own",
    ("GET", "/s/{external_id}/edit"): "own",
    ("POST", "/stakeholders/{external_id}/confirm"): "own",
    ("POST", "/s/{external_id}/confirm"): "own",
    ("GET", "/stale"): "secretariat",
    ("GET", "/stale-profiles"): "secretariat",
    ("POST", "/s/{external_id}/edit"): "own",
    ("GET", "/s/{external_id}/interest"): "signed_in",
    ("POST", "/s/{external_id}/interest"): "signed_in",
    ("GET", "/inbox"): "signed_in",
    ("POST", "/inbox/{interest_id}/{action}"): "signed_in",
    ("POST", "/interests/{interest_id}/outcome"): "signed_in",
    ("GET", "/outcomes"): "signed_in",
    ("GET", "/outcomes/funnel"): "secretariat",
    ("POST", "/no-thanks"): "signed_in",
    ("GET", "/no-thanks"): "signed_in",
    ("DELETE", "/no-thanks/{other}"): "signed_in",
    ("POST", "/inbox/{interest_id}/outcome"): "signed_in",
    ("POST", "/s/{external_id}/no-thanks"): "signed_in",
    ("GET", "/hidden"): "signed_in",
    ("POST", "/hidden/{other}/restore"): "signed_in",
    ("GET", "/conversion"): "secretariat",
    ("GET", "/accounts"): "secretariat",
    ("POST", "/accounts/invite"): "secretariat",
    ("GET", "/outbox"): "secretariat",
    ("GET", "/invite/{token}"): "anyone",
    ("POST", "/invite/{token}"): "anyone",
    ("GET", "/audit"): "secretariat",
    ("GET", "/trash"): "secretariat",
    ("POST", "/trash/{trash_id}/restore"): "secretariat",
    ("GET", "/audit-log"): "secretariat",
    ("GET", "/deleted"): "secretariat",
    ("POST", "/deleted/{trash_id}/restore"): "secretariat",
    ("GET", "/review"): "secretariat",
    ("GET", "/review/{submission_id}/edit"): "secretariat",
    ("POST", "/review/{submission_id}/approve"): "secretariat",
    ("POST", "/review/{submission_id}/reject"): "secretariat",
    ("POST", "/review/{submission_id}/edit"): "secretariat",
    ("GET", "/forums"): "secretariat",
    ("GET", "/forums/{forum_id}"): "secretariat",
    ("GET", "/forums/{forum_id}/schedule"): "secretariat",
    ("GET", "/forums/{forum_id}/agenda.csv"): "secretariat",
    ("POST", "/forums"): "secretariat",
    ("PUT", "/forums/{forum_id}"): "secretariat",
    ("DELETE", "/forums/{forum_id}"): "secretariat",
    ("POST", "/forums/{forum_id}/participants"): "secretariat",
    ("DELETE", "/forums/{forum_id}/participants/{stakeholder_id}"): "secretariat",
    ("POST", "/forums/{forum_id}/schedule"): "secretariat",
    ("POST", "/forums/{forum_id}/meetings/lock"): "secretariat",
    ("POST", "/forums/{forum_id}/meetings/unlock"): "secretariat",
    ("POST", "/forums/{forum_id}/meetings/remove"): "secretariat",
    ("POST", "/forums/{forum_id}/meetings/restore"): "secretariat",
    ("POST", "/forums/{forum_id}/roundtables"): "secretariat",
    ("GET", "/forums/{forum_id}/participants/{stakeholder_id}/calendar.ics"): "own",
    ("GET", "/forums/{forum_id}/participants/{stakeholder_id}"): "own",
    ("PUT", "/forums/{forum_id}/participants/{stakeholder_id}/preferences"): "own",
    ("POST", "/forums/{forum_id}/participants/{stakeholder_id}/requests"): "own",
    ("POST", "/forums/{forum_id}/participants/{stakeholder_id}/answers"): "own",
    ("POST", "/forums/{forum_id}/participants/{stakeholder_id}/outcomes"): "own",
    ("GET", "/forums/{forum_id}/as/{stakeholder_id}"): "own",
    **{("POST", p): "own" for p in ["/forums/{forum_id}/as/{stakeholder_id}",
                                     "/forums/{forum_id}/as/{stakeholder_id}/ask",
                                     "/forums/{forum_id}/as/{stakeholder_id}/answer",
                                     "/forums/{forum_id}/as/{stakeholder_id}/outcome"]},
    ("POST", "/intake/form"): "anyone",
    ("POST", "/intake/upload"): "anyone",
    **{("GET", p): "secretariat" for p in ["/planner", "/planner/{forum_id}", "/planner/{forum_id}/briefing/{n}"]},
    **{("POST", p): "secretariat" for p in [
        "/planner", "/planner/{forum_id}/schedule", "/planner/{forum_id}/lock", "/planner/{forum_id}/meetings/{what}",
        "/planner/{forum_id}/participants", "/planner/{forum_id}/participants/remove",
        "/planner/{forum_id}/roundtables"]},
    ("GET", "/planner/{forum_id}/agenda/{stakeholder_id}"): "own",
}
WHO = ("public", "other", "own", "secretariat")
ALLOWED = {"anyone": set(WHO), "signed_in": {"other", "own", "secretariat"}, "own": {"own", "secretariat"},
           "secretariat": {"secretariat"}}
PARAMS = {"forum_id": FORUM, "stakeholder_id": OWN, "sheet": "stakeholders", "n": "1", "what": "unlock",
          "submission_id": "999", "interest_id": "999", "action": "accept", "token": "no-such-token",
          "trash_id": "999", "other": "nobody", "code": "MN"}


def _routes(app: object) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            continue  # /static and /docs-static: files anyone may read
        if hasattr(route, "original_router"):  # an included router (the web page's)
            found += _routes(route.original_router)
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                found.append((method, route.path))
    return found


def _url(path: str) -> str:
    entity = PROJECT if path.startswith(("/projects", "/p/")) else OWN
    url = path.replace("{external_id}", entity)
    for name, value in PARAMS.items():
        url = url.replace("{" + name + "}", value)
    return url


def _refused(response: object) -> bool:
    """The guard's refusal: a sign-in redirect for a page, or its own 401/403 (a wrong password at
    /login is a 401 too, but not a refusal)."""
    status = response.status_code  # type: ignore[attr-defined]
    if status == 303:
        return response.headers["location"].startswith("/login")  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    return status in (401, 403) and ("sign in first" in text or "this is for" in text or "no access rule" in text)


@pytest.fixture
def walk(loaded: DLDMatch) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    tokens = {"other": loaded.accounts.create_token("member", organisation=OTHER),
              "own": loaded.accounts.create_token("member", organisation=OWN),
              "secretariat": loaded.accounts.create_token("secretariat")}
    headers = {"public": {}, **{who: {"Authorization": f"Bearer {t}"} for who, t in tokens.items()}}
    with TestClient(create_app(loaded.settings, service=loaded, start="none"), follow_redirects=False) as c:
        forum = {"id": FORUM, "name": "Access", "slot_count": 2, "first_slot": "2027-05-01T09:00:00+08:00",
                 "tables": 2, "participants": [{"stakeholder": s} for s in (OWN, OTHER, "t-fund")]}
        assert c.post("/forums", json=forum, headers=headers["secretariat"]).status_code == 201
        assert c.post(f"/forums/{FORUM}/schedule", json={}, headers=headers["secretariat"]).status_code == 200
        yield c, headers


def test_every_route_has_an_expectation_here() -> None:
    from api.app import create_app as make
    from api.settings import Settings
    from embeddings.fake import FakeEmbedder

    app = make(Settings(database_url="sqlite://", embedder="fake", seed_dir=None), embedder=FakeEmbedder(),
               start="none")
    routes = set(_routes(app))
    assert routes - set(EXPECTED) == set(), "routes without an expected rule in this test"
    assert set(EXPECTED) - routes == set(), "expectations for routes that do not exist"


def test_every_route_answers_each_kind_of_user_as_its_rule_says(
        walk: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    c, headers = walk
    wrong = []
    for method, path in _routes(c.app):
        for who in WHO:
            # If-Match names a version no record has, so an allowed PUT or DELETE stops at 412 and the
            # walk changes nothing; a form carries the CSRF token of its cookie; bodies are empty.
            c.cookies.set(CSRF_COOKIE, "walk-csrf-token-0123456789")
            response = c.request(method, _url(path), headers={**headers[who], "If-Match": '"999999"'},
                                 **({"data": {"csrf": "walk-csrf-token-0123456789"}} if method == "POST" and (
                                    not path.startswith(("/stakeholders", "/projects", "/forums", "/match",
                                                         "/import", "/submissions", "/interests",
                                                         "/invitations", "/trash"))
                                    or "/as/" in path) else  # a participant's forum page is a form
                                    {"json": {}} if method in ("POST", "PUT") else {}))
            allowed = who in ALLOWED[EXPECTED[(method, path)]]
            if _refused(response) == allowed or response.status_code >= 500:
                wrong.append(f"{method} {path} as {who}: {response.status_code} {response.text[:120]}")
    assert wrong == []


def test_a_refusal_says_who_may_and_how_to_sign_in(anonymous: TestClient, loaded: DLDMatch) -> None:
    response = anonymous.delete(f"/stakeholders/{OWN}")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized" and "the secretariat" in response.json()["message"]
    member = {"Authorization": f"Bearer {loaded.accounts.create_token('member', organisation=OTHER)}"}
    response = anonymous.put(f"/stakeholders/{OWN}", json={"id": OWN}, headers=member)
    assert response.status_code == 403 and "a member of that organisation" in response.json()["message"]
    response = anonymous.get("/stakeholders", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401 and "Bearer <token>" in response.json()["message"]
    response = anonymous.get("/planner", headers={"accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/planner"


def test_a_member_edits_its_own_profile_and_projects_only(anonymous: TestClient, loaded: DLDMatch) -> None:
    own = {"Authorization": f"Bearer {loaded.accounts.create_token('member', organisation=OWN)}"}
    profile = anonymous.get(f"/stakeholders/{OWN}").json()
    body = {k: v for k, v in profile.items() if k in ("id", "name", "kind", "countries", "description")}
    body["description"] += " It now also runs a tree nursery."
    assert anonymous.put(f"/stakeholders/{OWN}", json=body, headers=own).status_code == 200
    assert "tree nursery" in anonymous.get(f"/stakeholders/{OWN}").json()["description"]
    other_body = {**body, "id": OTHER, "name": "Taken over"}
    assert anonymous.put(f"/stakeholders/{OTHER}", json=other_body, headers=own).status_code == 403
    assert anonymous.get(f"/stakeholders/{OTHER}").json()["name"] != "Taken over"
    # a project in another's name is refused; with its own organisation alone, made
    project = {"id": "p-new", "title": "Saxaul planting", "participants": [{"stakeholder": OTHER, "role": "lead"}]}
    response = anonymous.post("/projects", json=project, headers=own)
    assert response.status_code == 403 and OWN in response.json()["message"]
    project["participants"] = [{"stakeholder": OWN, "role": "lead"}]
    assert anonymous.post("/projects", json=project, headers=own).status_code == 201
    # it may not attach another organisation, nor hand the project to others by removing itself
    project["participants"].append({"stakeholder": OTHER, "role": "co_funder"})
    attached = anonymous.put("/projects/p-new", json=project, headers=own)
    assert attached.status_code == 403 and "join themselves" in attached.json()["message"]
    project["participants"] = [{"stakeholder": OTHER, "role": "lead"}]
    assert anonymous.put("/projects/p-new", json=project, headers=own).status_code == 403
    # the secretariat adds the partner; the member then edits its own part and keeps the partner's
    secretariat = {"Authorization": f"Bearer {loaded.accounts.create_token('secretariat')}"}
    both = [{"stakeholder": OWN, "role": "lead"}, {"stakeholder": OTHER, "role": "co_funder"}]
    assert anonymous.put("/projects/p-new", json={**project, "participants": both}, headers=secretariat).status_code == 200
    mine = [{"stakeholder": OWN, "role": "implementer"}, {"stakeholder": OTHER, "role": "co_funder"}]
    assert anonymous.put("/projects/p-new", json={**project, "participants": mine}, headers=own).status_code == 200
    # only the leading organisation deletes a project (it is no longer the lead here)
    assert anonymous.delete("/projects/p-new", headers=own).status_code == 403
    assert anonymous.delete("/projects/p-new", headers=secretariat).status_code == 204


def test_tokens_are_stored_hashed_and_revoked_at_once(anonymous: TestClient, loaded: DLDMatch) -> None:
    token = loaded.accounts.create_token("secretariat", label="script")
    with Session(loaded.engine) as session:
        stored = session.exec(select(ApiToken)).all()
    assert token not in {t.token_hash for t in stored} and all(token[:12] == t.prefix for t in stored if t.label == "script")
    auth = {"Authorization": f"Bearer {token}"}
    assert anonymous.get("/forums", headers=auth).status_code == 200
    loaded.accounts.revoke_token(token[:12])
    response = anonymous.get("/forums", headers=auth)
    assert response.status_code == 401 and "revoked" in response.json()["message"]


def _account(svc: DLDMatch, email: str = "sec@neaspec.example", role: str = "secretariat",
             organisation: str | None = None) -> str:
    password = "a long pass phrase"
    svc.accounts.create_account(email, role, organisation=organisation, name="Ms Test", password=password)
    return password


def _login(c: TestClient, email: str, password: str) -> object:
    c.get("/login")  # sets the CSRF cookie
    return c.post("/login", data={"email": email, "password": password, "next": "/planner",
                                  "csrf": c.cookies.get(CSRF_COOKIE)}, follow_redirects=False)


def test_sign_in_sets_a_session_whose_writes_need_the_csrf_token(anonymous: TestClient, loaded: DLDMatch) -> None:
    password = _account(loaded)
    with Session(loaded.engine) as session:
        assert session.exec(select(Account)).one().password_hash.startswith("$argon2id$")
    response = _login(anonymous, "SEC@neaspec.example", password)
    assert response.status_code == 303 and response.headers["location"] == "/planner"
    assert anonymous.cookies.get(SESSION_COOKIE)
    assert "Forum planner" in anonymous.get("/planner").text and "Signed in as Ms Test" in anonymous.get("/").text
    forum = {"id": "f-s", "name": "S", "slot_count": 1, "first_slot": "2027-05-01T09:00:00+08:00", "tables": 1}
    # the cookie alone is not enough for a write: another site could make the browser send it
    response = anonymous.post("/forums", json=forum)
    assert response.status_code == 403 and "CSRF" in response.json()["message"]
    page = anonymous.get("/planner").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert anonymous.post("/forums", json=forum, headers={"X-CSRF-Token": csrf}).status_code == 201
    # signing out ends the session on the server, not only in this browser
    key = anonymous.cookies.get(SESSION_COOKIE)
    anonymous.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert loaded.accounts.session_principal(key) is None


def test_a_form_from_another_site_is_refused(anonymous: TestClient, loaded: DLDMatch) -> None:
    password = _account(loaded)
    _login(anonymous, "sec@neaspec.example", password)
    response = anonymous.post("/planner", data={"name": "Forged", "date": "2027-05-01", "time_zone": "UTC"},
                              headers={"accept": "text/html"})
    assert response.status_code == 403 and "CSRF" in response.text
    assert loaded.forums.list() == []


def test_failed_sign_ins_are_limited_even_for_the_right_password(anonymous: TestClient, loaded: DLDMatch) -> None:
    password = _account(loaded)
    for _ in range(5):
        response = _login(anonymous, "sec@neaspec.example", "wrong password!")
        assert response.status_code == 401 and "wrong" in response.text
    response = _login(anonymous, "sec@neaspec.example", password)
    assert response.status_code == 429 and "too many failed sign-ins" in response.text
    assert not anonymous.cookies.get(SESSION_COOKIE)


def test_sign_in_goes_back_only_to_a_page_of_this_site(anonymous: TestClient, loaded: DLDMatch) -> None:
    password = _account(loaded)
    anonymous.get("/login")
    response = anonymous.post("/login", data={"email": "sec@neaspec.example", "password": password,
                                              "next": "//evil.example/x", "csrf": anonymous.cookies.get(CSRF_COOKIE)},
                              follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_sessions_and_tokens_hold_across_processes_and_concurrent_use(tmp_path, file_database_url: str) -> None:  # type: ignore[no-untyped-def]
    """Two service objects on one database (two workers or replicas): a session made by one is known
    to the other, and concurrent sign-ins and token-authorised writes all land, none lost."""
    from api.settings import Settings
    from embeddings.fake import FakeEmbedder

    settings = Settings(database_url=file_database_url, index_dir=tmp_path / "i", embedder="fake", seed_dir=None)
    one, two = (DLDMatch(settings.model_copy(update={"index_dir": tmp_path / name}), FakeEmbedder())
                for name in ("i1", "i2"))
    for svc in (one, two):
        svc.start()
    try:
        password = _account(one)
        tokens = [one.accounts.create_token("secretariat") for _ in range(4)]
        results: list[int] = []
        lock = threading.Lock()

        def sign_in() -> None:
            key, who = one.accounts.login("sec@neaspec.example", password, client="10.0.0.1")
            with lock:
                results.append(int(two.accounts.session_principal(key) == who))

        with TestClient(create_app(settings, service=two, start="none")) as c:
            def write(i: int) -> None:
                forum = {"id": f"f-c{i}", "name": f"C{i}", "slot_count": 1,
                         "first_slot": "2027-05-01T09:00:00+08:00", "tables": 1}
                status = c.post("/forums", json=forum, headers={"Authorization": f"Bearer {tokens[i]}"}).status_code
                with lock:
                    results.append(int(status == 201))

            threads = [threading.Thread(target=sign_in) for _ in range(4)] + [
                threading.Thread(target=write, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert results == [1] * 8 and len(one.forums.list()) == 4
    finally:
        for svc in (one, two):
            svc.close()
            svc.writer.dispose()
            svc.engine.dispose()


def test_token_cli_prints_a_token_that_works_as_a_bearer(file_database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from api.cli import cli
    from api.settings import Settings
    from embeddings.fake import FakeEmbedder

    runner = CliRunner()
    env = {"DLDMATCH_DATABASE_URL": file_database_url, "DLDMATCH_EMBEDDER": "fake"}
    made = runner.invoke(cli, ["token", "create", "--role", "secretariat", "--label", "checks"], env=env)
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    refused = runner.invoke(cli, ["token", "create", "--role", "member", "--org", "nowhere"], env=env)
    assert refused.exit_code == 2 and "no stakeholder with id 'nowhere'" in refused.output
    settings = Settings(database_url=file_database_url, index_dir=tmp_path / "i", embedder="fake", seed_dir=None)
    svc = DLDMatch(settings, FakeEmbedder())
    svc.start()
    try:
        with TestClient(create_app(settings, service=svc, start="none")) as c:
            body = {"id": "x-new", "name": "New body", "kind": "cso", "countries": ["MN"], "description": "Planting."}
            assert c.post("/stakeholders", json=body).status_code == 401
            assert c.post("/stakeholders", json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 201
            listed = runner.invoke(cli, ["token", "list"], env=env)
            assert "checks" in listed.output and "active" in listed.output and token not in listed.output
            assert runner.invoke(cli, ["token", "revoke", token[:12]], env=env).exit_code == 0
            assert c.get("/forums", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    finally:
        svc.close()
        svc.writer.dispose()
        svc.engine.dispose()


def test_a_member_edits_its_profile_through_the_web_form(anonymous: TestClient, loaded: DLDMatch) -> None:
    password = _account(loaded, "member@cso.example", "member", OWN)
    _login(anonymous, "member@cso.example", password)
    form = anonymous.get(f"/s/{OWN}/edit")
    assert form.status_code == 200 and "Save changes" in form.text and "self-declared" in form.text
    csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    version = form.text.split('name="version" value="', 1)[1].split('"', 1)[0]
    profile = anonymous.get(f"/stakeholders/{OWN}").json()
    fields = {"csrf": csrf, "version": version, "name": profile["name"], "kind": profile["kind"],
              "countries": profile["countries"], "description": "Herders planting saxaul; now a tree nursery too.",
              "contact_email": "new@cso.example"}
    bad = anonymous.post(f"/s/{OWN}/edit", data={**fields, "website": "not a site", "contact_email": "nope"})
    assert bad.status_code == 422 and 'id="website-error"' in bad.text and 'id="contact_email-error"' in bad.text
    saved = anonymous.post(f"/s/{OWN}/edit", data=fields, follow_redirects=False)
    assert saved.status_code == 303
    after = anonymous.get(f"/stakeholders/{OWN}").json()
    assert "tree nursery" in after["description"] and after["self_declared"] is True
    assert loaded.catalogue.stakeholder_record(OWN)[0].contact.email == "new@cso.example"  # type: ignore[union-attr]
    # the same form sent again carries the version it read: someone changed it meanwhile (this member did)
    stale = anonymous.post(f"/s/{OWN}/edit", data={**fields, "description": "Overwrites?"})
    assert stale.status_code in (409, 412) and "changed this profile meanwhile" in stale.text
    assert "Overwrites?" not in anonymous.get(f"/stakeholders/{OWN}").text
    # another organisation's form is refused, shown or sent
    assert anonymous.get(f"/s/{OTHER}/edit").status_code == 403
    assert anonymous.post(f"/s/{OTHER}/edit", data={**fields, "name": "Taken"}).status_code == 403


def test_every_write_is_in_the_audit_log_and_a_deletion_can_be_undone(client: TestClient, anonymous: TestClient,
                                                                      loaded: DLDMatch) -> None:
    own = {"Authorization": f"Bearer {loaded.accounts.create_token('member', organisation=OWN, label='cso script')}"}
    profile = anonymous.get(f"/stakeholders/{OWN}").json()
    body = {k: profile[k] for k in ("id", "name", "kind", "countries", "description")}
    assert anonymous.put(f"/stakeholders/{OWN}", json=body, headers=own).status_code == 200
    assert anonymous.delete(f"/stakeholders/{OTHER}").status_code == 401  # refused: changes nothing, not logged
    assert client.delete(f"/stakeholders/{OTHER}").status_code == 204
    log = client.get("/audit").json()
    assert [(e["action"], e["target"], e["role"]) for e in log[:2]] == [
        ("DELETE /stakeholders/{external_id}", f"external_id={OTHER}", "secretariat"),
        ("PUT /stakeholders/{external_id}", f"external_id={OWN}", "member")]
    assert "(cso script)" in log[1]["actor"] and log[1]["organisation"] == OWN
    assert [e["target"] for e in client.get("/audit", params={"actor": "cso script"}).json()] == [f"external_id={OWN}"]
    # the deleted firm is in the trash with its project, and comes back with it
    assert anonymous.get(f"/stakeholders/{OTHER}").status_code == 404
    [gone] = client.get("/trash").json()
    assert gone["external_id"] == OTHER and gone["deleted_by"].startswith("token")
    restored = client.post(f"/trash/{gone['id']}/restore")
    assert restored.status_code == 200 and restored.json()["restored_at"]
    assert [p["id"] for p in anonymous.get(f"/stakeholders/{OTHER}").json()["projects"]] == ["t-kubuqi"]
    assert client.post(f"/trash/{gone['id']}/restore").status_code == 409
    assert client.get("/audit").json()[0]["action"] == "POST /trash/{trash_id}/restore"


def test_cli_writes_are_in_the_audit_log(file_database_url: str) -> None:
    from typer.testing import CliRunner

    from api.audit import entries
    from api.cli import cli
    from store.db import make_engine

    env = {"DLDMATCH_DATABASE_URL": file_database_url, "DLDMATCH_EMBEDDER": "fake"}
    assert CliRunner().invoke(cli, ["token", "create", "--role", "secretariat"], env=env).exit_code == 0
    engine = make_engine(file_database_url)
    [entry] = entries(engine)
    assert (entry.actor, entry.action) == ("cli", "token create") and "role=secretariat" in entry.target
    engine.dispose()


def test_a_member_adds_and_edits_its_projects_through_the_web_form(anonymous: TestClient, loaded: DLDMatch) -> None:
    password = _account(loaded, "member@cso.example", "member", OWN)
    _login(anonymous, "member@cso.example", password)
    form = anonymous.get("/p/new")
    assert form.status_code == 200 and f'value="{OWN}:lead"' in form.text
    csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    fields = {"csrf": csrf, "title": "Saxaul belt of Dalanzadgad", "description": "Planting saxaul against sand.",
              "countries": ["MN"], "status": "planned", "start_year": "2027", "seeks": ["funding"]}
    bad = anonymous.post("/p/new", data={**fields, "start_year": "soon", "status": "someday",
                                         "participants": f"{OWN}:boss"})
    assert bad.status_code == 422
    for column in ("start_year", "status", "participants"):
        assert f'id="{column}-error"' in bad.text  # every mistake at once
    theirs = anonymous.post("/p/new", data={**fields, "participants": f"{OTHER}:lead"})
    assert theirs.status_code == 403 and OWN in theirs.text
    attached = anonymous.post("/p/new", data={**fields, "participants": f"{OWN}:lead; {OTHER}:co_funder"})
    assert attached.status_code == 403 and "join themselves" in attached.text
    made = anonymous.post("/p/new", data={**fields, "participants": f"{OWN}:lead"}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/p/saxaul-belt-of-dalanzadgad"
    project = anonymous.get("/projects/saxaul-belt-of-dalanzadgad").json()
    assert project["status"] == "planned" and project["start_year"] == 2027
    page = anonymous.get("/p/saxaul-belt-of-dalanzadgad/edit")
    version = page.text.split('name="version" value="', 1)[1].split('"', 1)[0]
    edited = anonymous.post("/p/saxaul-belt-of-dalanzadgad/edit", follow_redirects=False, data={
        **fields, "version": version, "status": "ongoing", "participants": f"{OWN}:lead"})
    assert edited.status_code == 303
    assert anonymous.get("/projects/saxaul-belt-of-dalanzadgad").json()["status"] == "ongoing"
    assert "Edit project" in anonymous.get("/p/saxaul-belt-of-dalanzadgad").text
    # a project its organisation is not in cannot be opened for editing
    other = loaded.accounts.create_token("member", organisation="t-lab")
    refused = anonymous.get("/p/saxaul-belt-of-dalanzadgad/edit", headers={"Authorization": f"Bearer {other}"})
    assert refused.status_code == 403


def test_a_deleted_forum_comes_back_whole_from_the_trash(client: TestClient) -> None:
    forum = {"id": "f-trash", "name": "Trash forum", "slot_count": 2, "first_slot": "2027-05-01T09:00:00+08:00",
             "tables": 2, "participants": [{"stakeholder": s} for s in (OWN, OTHER, "t-fund")]}
    assert client.post("/forums", json=forum).status_code == 201
    meetings = client.post("/forums/f-trash/schedule", json={}).json()["meetings"]
    assert client.delete("/forums/f-trash").status_code == 204 and client.get("/forums/f-trash").status_code == 404
    [gone] = [t for t in client.get("/trash").json() if t["entity_type"] == "forum"]
    assert gone["name"] == "Trash forum"
    assert client.post(f"/trash/{gone['id']}/restore").status_code == 200
    assert client.get("/forums/f-trash/schedule").json()["meetings"] == meetings


def test_a_nul_byte_in_a_sign_in_is_a_wrong_password_not_an_error(anonymous: TestClient) -> None:
    anonymous.get("/login")
    response = anonymous.post("/login", data={"email": "a\x00@b.example", "password": "x\x00",
                                              "csrf": anonymous.cookies.get(CSRF_COOKIE)})
    assert response.status_code == 401 and "wrong" in response.text


def test_deleting_an_organisation_ends_its_members_rights(client: TestClient, anonymous: TestClient,
                                                          loaded: DLDMatch) -> None:
    password = _account(loaded, "member@firm.example", "member", OTHER)
    token = {"Authorization": f"Bearer {loaded.accounts.create_token('member', organisation=OTHER)}"}
    key, _ = loaded.accounts.login("member@firm.example", password, client="test")
    assert client.delete(f"/stakeholders/{OTHER}").status_code == 204
    assert anonymous.get("/interests", headers=token).status_code == 401
    assert loaded.accounts.session_principal(key) is None
    [gone] = client.get("/trash").json()
    client.post(f"/trash/{gone['id']}/restore")  # the organisation comes back; its old rights do not
    assert anonymous.get("/interests", headers=token).status_code == 401


def test_lists_and_results_download_as_csv_and_xlsx_with_their_reasons(anonymous: TestClient, client: TestClient) -> None:
    """Issue 17, item 8: the web page's lists and results as files, filters kept, reasons in words,
    cells safe to open."""
    import csv
    import io

    from openpyxl import load_workbook

    profile = client.get(f"/stakeholders/{OTHER}").json()
    body = {k: profile[k] for k in ("id", "kind", "countries", "description")}
    assert client.put(f"/stakeholders/{OTHER}", json={**body, "name": '=HYPERLINK("http://x","y")'}).status_code == 200
    listed = anonymous.get("/browse", params={"format": "csv", "country": "CN"})
    assert listed.status_code == 200 and "attachment" in listed.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(listed.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "name", "original name"] and {r[0] for r in rows[1:]} == {
        s["id"] for s in anonymous.get("/stakeholders", params={"country": "CN"}).json()["items"]}
    assert "'=HYPERLINK(\"http://x\",\"y\")" in [r[1] for r in rows]  # quoted: shown, never run
    projects = load_workbook(io.BytesIO(anonymous.get("/browse", params={"show": "projects", "format": "xlsx"}).content))
    header = [c.value for c in projects.active[1]]
    assert header[:3] == ["id", "title", "status"] and projects.active.max_row == 3  # t-belt and t-kubuqi
    results = anonymous.get(f"/s/{OWN}/partners", params={"intent": "co_funding", "format": "csv"})
    table = list(csv.DictReader(io.StringIO(results.content.decode("utf-8-sig"))))
    api = client.get(f"/stakeholders/{OWN}/partners", params={"intent": "co_funding"}).json()
    assert [r["id"] for r in table] == [m["id"] for m in api["results"]]  # the same ranking as the page's
    assert all(r["shared themes"] or r["needs it meets"] or r["shared places"] or r["track record"] or
               r["close in meaning"] or r["shared partners"] or r["shared countries"] or r["words in common"]
               for r in table)
    assert "Download these results" in anonymous.get(f"/s/{OWN}/partners").text
    found = anonymous.get("/search", params={"text": "saxaul shelterbelts in the Gobi", "format": "csv"})
    searched = list(csv.DictReader(io.StringIO(found.content.decode("utf-8-sig"))))
    assert searched and {r["type"] for r in searched} <= {"stakeholder", "project"}
