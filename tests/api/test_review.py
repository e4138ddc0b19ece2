"""The secretariat's review of the public intake (issue 15, item 4): a profile sent by the public is
neither listed nor matched until approved, then carries the self-declared mark; rejections keep a
reason; two reviewers deciding at once make one decision; the queue is bounded."""

from __future__ import annotations

import io
import threading

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api import review as review_module
from api.access import CSRF_COOKIE
from api.service import DLDMatch

TOKEN = "review-test-csrf-token-0123"
FIRM = {"name": "Steppe Capital Partners", "kind": "private", "countries": ["MN"],
        "description": "A Mongolian investment firm that co-funds saxaul planting and pasture restoration in the Gobi.",
        "offers": ["funding"], "contact_name": "B. Bat", "contact_email": "bat@steppe.example"}


def _send_form(c: TestClient, **fields: object) -> object:
    c.cookies.set(CSRF_COOKIE, TOKEN)
    return c.post("/intake/form", data={**FIRM, **fields, "csrf": TOKEN}, headers={"accept": "text/html"})


def _pending(client: TestClient) -> list[dict]:
    return client.get("/submissions").json()


def test_a_public_submission_waits_unseen_then_is_listed_as_self_declared(client: TestClient,
                                                                          anonymous: TestClient) -> None:
    page = _send_form(anonymous)
    assert page.status_code == 200 and "was sent for review" in page.text
    # neither listed, nor readable, nor matched as a co-funder before review
    assert anonymous.get("/stakeholders", params={"q": "Steppe Capital"}).json()["items"] == []
    assert anonymous.get("/stakeholders/steppe-capital-partners").status_code == 404
    found = anonymous.post("/match", json={"text": FIRM["description"], "intent": "co_funding", "k": 50}).json()
    assert "Steppe Capital Partners" not in {m["name"] for m in found["stakeholders"]}
    # the secretariat sees it, contact included
    [sub] = _pending(client)
    assert sub["status"] == "pending" and sub["summary"] == "Steppe Capital Partners"
    assert sub["rows"]["stakeholders"][0]["contact_email"] == "bat@steppe.example"
    report = client.post(f"/submissions/{sub['id']}/approve")
    assert report.status_code == 200 and report.json()["imported"]["stakeholders_created"] == 1
    decided = client.get(f"/submissions/{sub['id']}").json()
    assert decided["status"] == "approved" and decided["reviewed_by"] == "tests" and decided["imported"]
    new_id = decided["imported"][0]
    profile = anonymous.get(f"/stakeholders/{new_id}").json()
    assert profile["self_declared"] is True and "contact" not in profile
    assert "Self-declared" in anonymous.get(f"/s/{new_id}").text
    checked = anonymous.get("/s/t-fund").text  # entered by the secretariat (the test data's import)
    assert 'id="verified"' in checked and "Self-declared" not in checked
    found = anonymous.post("/match", json={"text": FIRM["description"], "intent": "co_funding", "k": 50}).json()
    assert all(m["self_declared"] for m in found["stakeholders"] if m["id"] == new_id)
    assert client.post(f"/submissions/{sub['id']}/approve").status_code == 409  # decided already


def test_a_rejection_needs_a_reason_and_keeps_it(client: TestClient, anonymous: TestClient) -> None:
    _send_form(anonymous)
    [sub] = _pending(client)
    response = client.post(f"/submissions/{sub['id']}/reject", json={"reason": "   "})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "reason"
    rejected = client.post(f"/submissions/{sub['id']}/reject", json={"reason": "Not working on land degradation."})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["reason"] == "Not working on land degradation."
    assert _pending(client) == [] and client.get("/submissions", params={"status": "rejected"}).json()[0]["id"] == sub["id"]
    assert anonymous.get("/stakeholders", params={"q": "Steppe Capital"}).json()["items"] == []


def test_every_mistake_of_a_sent_form_is_named_and_nothing_is_kept(client: TestClient, anonymous: TestClient) -> None:
    page = _send_form(anonymous, kind="wizard", contact_email="not-an-address", website="ftp://x")
    assert page.status_code == 422
    for field in ("kind", "contact_email", "website"):
        assert f'id="{field}-error"' in page.text
    assert _pending(client) == []


def test_two_reviewers_approving_at_once_make_one_decision(tmp_path, file_database_url: str) -> None:  # type: ignore[no-untyped-def]
    """Three reviewers on two service objects (two workers) approve the same submission at once: one
    import, two 409s."""
    from api.settings import Settings
    from embeddings.fake import FakeEmbedder
    from tests.conftest import SMALL

    settings = Settings(database_url=file_database_url, index_dir=tmp_path / "i", embedder="fake", seed_dir=None)
    workers = [DLDMatch(settings.model_copy(update={"index_dir": tmp_path / f"i{n}"}), FakeEmbedder()) for n in (1, 2)]
    for svc in workers:
        svc.start()
    try:
        workers[0].import_files([SMALL])
        row = dict(FIRM, countries="MN", offers="funding", __row__=2)
        sub, _ = workers[0].review.submit({"stakeholders": [row]}, channel="form", client="10.0.0.9")
        assert sub is not None
        outcomes: list[str] = []
        lock = threading.Lock()

        def approve(n: int) -> None:
            try:
                workers[n % 2].review.approve(sub.id, reviewer=f"reviewer {n}")  # type: ignore[arg-type]
                result = "approved"
            except Exception as exc:  # noqa: BLE001  (the losers' error is the point)
                result = type(exc).__name__
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=approve, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["Conflict", "Conflict", "approved"]
        assert len(workers[1].list_stakeholders(q="Steppe Capital").items) == 1
        assert workers[1].review.get(sub.id).status == "approved"  # type: ignore[arg-type]
    finally:
        for svc in workers:
            svc.close()
            svc.writer.dispose()
            svc.engine.dispose()


def test_the_queue_is_bounded_per_sender(loaded: DLDMatch, anonymous: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(review_module, "MAX_PENDING_PER_SENDER", 2)
    for n in range(2):
        assert _send_form(anonymous, name=f"Steppe Capital Partners {n}").status_code == 200
    page = _send_form(anonymous, name="Steppe Capital Partners 3")
    assert page.status_code == 429 and "review queue is full" in page.text
    assert len(loaded.review.list("pending")) == 2


def test_a_questionnaire_sent_through_the_api_waits_for_review(client: TestClient, anonymous: TestClient) -> None:
    book = load_workbook(io.BytesIO(anonymous.get("/templates/questionnaire.xlsx").content))
    sheet = book["stakeholders"]
    header = [c.value for c in sheet[1]]
    sheet.append([{"name": "Gobi Herders Union", "kind": "cso", "countries": "MN"}.get(h) for h in header])
    sheet.append([{"name": "Bad Row", "kind": "wizard", "countries": "Atlantis"}.get(h) for h in header])
    data = io.BytesIO()
    book.save(data)
    bad = anonymous.post("/submissions", files={"file": ("q.xlsx", data.getvalue())})
    assert bad.status_code == 422 and {e.get("column") for e in bad.json()["errors"]} >= {"kind", "countries"}
    assert _pending(client) == []
    sheet.delete_rows(3)
    data = io.BytesIO()
    book.save(data)
    sent = anonymous.post("/submissions", files={"file": ("q.xlsx", data.getvalue())})
    assert sent.status_code == 201 and sent.json()["status"] == "pending"
    assert [s["summary"] for s in _pending(client)] == ["Gobi Herders Union"]
    assert anonymous.get("/stakeholders", params={"q": "Gobi Herders"}).json()["items"] == []
    wrong = anonymous.post("/submissions", files={"file": ("q.jsonl", b"{}")})
    assert wrong.status_code == 422 and "expected a .xlsx or .csv questionnaire" in wrong.text


def test_a_look_alike_of_a_stored_organisation_is_flagged_not_queued(client: TestClient, anonymous: TestClient) -> None:
    stored = anonymous.get("/stakeholders/t-cso").json()
    page = _send_form(anonymous, name=stored["name"], kind=stored["kind"])
    assert "Already in dldmatch?" in page.text and _pending(client) == []


def test_the_secretariat_edits_a_pending_form_before_approving(client: TestClient, anonymous: TestClient) -> None:
    _send_form(anonymous)
    [sub] = _pending(client)
    form = client.get(f"/review/{sub['id']}/edit")
    assert form.status_code == 200 and "Steppe Capital Partners" in form.text and "Save changes" in form.text
    csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    client.cookies.set(CSRF_COOKIE, csrf)
    edited = client.post(f"/review/{sub['id']}/edit", data={**FIRM, "description": "Co-funds saxaul planting.",
                                                            "csrf": csrf}, follow_redirects=False)
    assert edited.status_code == 303
    assert client.get(f"/submissions/{sub['id']}").json()["rows"]["stakeholders"][0]["description"] == \
        "Co-funds saxaul planting."


def test_a_members_own_edits_are_self_declared(anonymous: TestClient, loaded: DLDMatch) -> None:
    own = {"Authorization": f"Bearer {loaded.accounts.create_token('member', organisation='t-cso')}"}
    profile = anonymous.get("/stakeholders/t-cso").json()
    body = {k: profile[k] for k in ("id", "name", "kind", "countries", "description")}
    assert anonymous.put("/stakeholders/t-cso", json={**body, "self_declared": False}, headers=own).json()["self_declared"]
    secretariat = {"Authorization": f"Bearer {loaded.accounts.create_token('secretariat')}"}
    checked = anonymous.put("/stakeholders/t-cso", json={**body, "self_declared": False}, headers=secretariat)
    assert checked.json()["self_declared"] is False


def test_the_public_cannot_change_a_stored_record_through_the_queue(client: TestClient, anonymous: TestClient) -> None:
    """A row naming a stored id (a form whose name gives a stored id, or an upload's id column) would
    replace someone else's profile on approval: it is refused at once, naming the row."""
    stored = anonymous.get("/stakeholders/t-cso").json()
    book = load_workbook(io.BytesIO(anonymous.get("/templates/questionnaire.xlsx").content))
    sheet = book["stakeholders"]
    header = [c.value for c in sheet[1]]
    sheet.append([{"id": "t-cso", "name": "Taken Over", "kind": "cso", "contact_email": "evil@x.example"}.get(h)
                  for h in header])
    data = io.BytesIO()
    book.save(data)
    response = anonymous.post("/submissions", files={"file": ("q.xlsx", data.getvalue())})
    assert response.status_code == 422 and "already in dldmatch" in response.text
    assert response.json()["errors"][0]["column"] == "id" and _pending(client) == []
    assert anonymous.get("/stakeholders/t-cso").json()["name"] == stored["name"]
