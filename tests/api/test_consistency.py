"""One consistent state: writes decided by the database, row versions, snapshots that follow every
process's writes, migrations from the schema before them. Runs on SQLite, and on PostgreSQL under
``make test-postgres`` (the ``file_database_url`` fixture)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from api.app import create_app
from api.errors import Conflict
from api.schemas import MatchRequest, StakeholderIn
from api.service import DLDMatch
from api.settings import Settings
from embeddings.fake import FakeEmbedder
from store.db import make_engine
from tests.conftest import DATA, SMALL, TEST_DATABASE_URL

NEW = {"type": "stakeholder", "id": "t-new", "name": "Test Oasis Group", "kind": "cso", "countries": ["MN"],
       "description": "A test group restoring oases and planting saxaul with herders in the Gobi."}


@pytest.fixture
def shared(tmp_path: Path, file_database_url: str) -> Settings:
    """Settings of a database that several service objects (processes) share."""
    return Settings(database_url=file_database_url, index_dir=tmp_path / "index", embedder="fake", seed_dir=None)


def _service(settings: Settings, index_dir: Path | None = None) -> DLDMatch:
    svc = DLDMatch(settings.model_copy(update={"index_dir": index_dir or settings.index_dir}), FakeEmbedder())
    svc.start()
    return svc


def test_create_is_409_when_the_id_is_taken_and_replace_404_when_missing(client: TestClient) -> None:
    assert client.post("/stakeholders", json=NEW).status_code == 201
    again = client.post("/stakeholders", json={**NEW, "name": "Someone else"})
    assert again.status_code == 409 and "exists" in again.json()["message"]
    assert client.get("/stakeholders/t-new").json()["name"] == NEW["name"]  # not overwritten
    missing = client.put("/stakeholders/t-nobody", json={**NEW, "id": "t-nobody"})
    assert missing.status_code == 404
    assert client.get("/stakeholders/t-nobody").status_code == 404


def test_a_replace_never_brings_a_deleted_record_back(client: TestClient) -> None:
    assert client.delete("/stakeholders/t-cso").status_code == 204
    body = client.get("/stakeholders/t-fund").json()
    put = client.put("/stakeholders/t-cso", json={**NEW, "id": "t-cso"})
    assert put.status_code == 404 and client.get("/stakeholders/t-cso").status_code == 404
    assert body["version"] >= 1


def test_etag_and_if_match(client: TestClient) -> None:
    got = client.get("/stakeholders/t-cso")
    etag = got.headers["etag"]
    assert etag == f'"{got.json()["version"]}"'
    record = {"type": "stakeholder", **{k: v for k, v in got.json().items()
                                        if k in StakeholderIn.model_fields and k != "type"}}
    record["name"] = "Test Steppe CSO (renamed)"
    first = client.put("/stakeholders/t-cso", json=record, headers={"If-Match": etag})
    assert first.status_code == 200 and first.headers["etag"] != etag
    stale = client.put("/stakeholders/t-cso", json={**record, "name": "lost"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["error"] == "precondition_failed"
    assert client.get("/stakeholders/t-cso").json()["name"] == "Test Steppe CSO (renamed)"
    assert client.delete("/stakeholders/t-cso", headers={"If-Match": etag}).status_code == 412
    bad = client.put("/stakeholders/t-cso", json=record, headers={"If-Match": "yesterday"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "If-Match"
    assert client.delete("/stakeholders/t-cso", headers={"If-Match": first.headers["etag"]}).status_code == 204


def test_every_write_raises_the_data_version_and_logs_its_changes(loaded: DLDMatch) -> None:
    before = loaded.snapshot().version
    loaded.create(StakeholderIn.model_validate(NEW))
    loaded.delete("stakeholder", "t-new")
    with loaded.engine.connect() as conn:
        version = conn.execute(text("SELECT version FROM data_version")).scalar_one()
        ops = conn.execute(text("SELECT op FROM change WHERE version > :v ORDER BY id"), {"v": before}).scalars().all()
    assert version == before + 2 and ops == ["upsert", "delete"]
    assert loaded.snapshot().version == version  # this process followed its own writes


def test_a_snapshot_taken_before_a_write_is_never_changed(loaded: DLDMatch) -> None:
    old = loaded.snapshot()
    count = len(old.indexes["stakeholder"])
    loaded.create(StakeholderIn.model_validate(NEW))
    new = loaded.snapshot()
    assert new is not old and new.version == old.version + 1
    assert len(old.indexes["stakeholder"]) == count and len(new.indexes["stakeholder"]) == count + 1
    assert old.corpus.row_of_key("s:t-new") is None and new.corpus.row_of_key("s:t-new") is not None


def test_a_write_of_another_process_is_followed(shared: Settings, tmp_path: Path) -> None:
    server = _service(shared)
    server.import_files([SMALL])
    cli = _service(shared, index_dir=tmp_path / "cli-index")  # as `dldmatch import` next to a live server
    cli.create(StakeholderIn.model_validate(NEW))
    request = MatchRequest(text="restoring oases and planting saxaul with herders in the Gobi", k=10)
    assert "t-new" not in [m.id for m in server.match(request).stakeholders]
    assert server.health().database_version == server.snapshot().version + 1
    server.indexing.catch_up()  # what its follower thread does every follow_interval
    assert "t-new" in [m.id for m in server.match(request).stakeholders]
    cli.delete("stakeholder", "t-new")
    server.indexing.catch_up()
    assert "t-new" not in [m.id for m in server.match(request).stakeholders]
    assert server.health().snapshot_version == server.health().database_version


def test_the_follower_thread_catches_up_within_a_second(shared: Settings, tmp_path: Path) -> None:
    server = DLDMatch(shared.model_copy(update={"follow_interval": 0.05}), FakeEmbedder())
    server.start(follow=True)
    try:
        other = _service(shared, index_dir=tmp_path / "other-index")
        other.import_files([SMALL])
        target = other.snapshot().version
        for _ in range(200):
            if server.snapshot().version >= target:
                break
            threading.Event().wait(0.01)
        assert server.snapshot().version == target
        assert server.snapshot().corpus.row_of_key("s:t-cso") is not None
        assert server.health().status == "ok"
    finally:
        server.close()


def test_concurrent_participant_additions_are_all_kept(shared: Settings) -> None:
    svc = _service(shared)
    svc.import_files([SMALL])
    ids = [s.id for s in svc.list_stakeholders(limit=200).items]
    from api.schemas import ForumIn

    svc.forums.create(ForumIn.model_validate({"id": "f1", "name": "Forum", "slot_count": 4, "tables": 4,
                                               "first_slot": "2027-05-01T09:00:00+08:00"}))
    errors: list[BaseException] = []

    def add(sid: str) -> None:
        try:
            svc.forums.add_participant("f1", {"stakeholder": sid})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(sid,)) for sid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not [e for e in errors if not isinstance(e, Conflict)]
    kept = {p.stakeholder for p in svc.forums.get("f1").participants}
    assert kept == set(ids) - {str(e) for e in errors}  # every acknowledged addition is there
    assert len(kept) == len(ids)  # and with retries none was refused


def test_two_creates_of_one_id_at_once_give_one_201_and_409s(shared: Settings) -> None:
    svc = _service(shared)
    results: list[str] = []

    def create(n: int) -> None:
        try:
            svc.create(StakeholderIn.model_validate({**NEW, "name": f"Writer {n}"}))
            results.append("created")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("created") == 1 and results.count("conflict") == 5


def test_health_is_503_with_the_reason_when_start_up_failed(loaded: DLDMatch) -> None:
    loaded.start_error = "RuntimeError: the model could not be loaded"
    with TestClient(create_app(loaded.settings, service=loaded, start="none")) as c:
        response = c.get("/health")
    assert response.status_code == 503 and response.json()["status"] == "error"


def test_health_reports_database_and_snapshot_versions(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["database_version"] == body["snapshot_version"] >= 1


@pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="the saved schema of the release before migrations is SQLite's")
def test_a_database_made_by_the_schema_before_migrations_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript((DATA / "schema-main-2026-12-03.sqlite.sql").read_text())
    con.execute("INSERT INTO stakeholder (external_id, name, aliases, kind, countries, places, description, themes, "
                "offers, needs, languages, sources, outside_seed, text_hash, created_at, updated_at) VALUES "
                "('old', 'Old', '[]', 'cso', '[]', '[]', 'kept', '[]', '[]', '[]', '[]', '[]', 0, '', "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')")
    con.commit()
    con.close()
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0012"  # head
        assert conn.execute(text("SELECT external_id, version FROM stakeholder")).all() == [("old", 1)]
    svc = DLDMatch(Settings(database_url=f"sqlite:///{path}", index_dir=tmp_path / "i", embedder="fake",
                            seed_dir=None), FakeEmbedder())
    svc.start()
    assert svc.get_stakeholder("old").description == "kept" and svc.start_report["embedded"] == 1


def test_an_unexpected_error_is_a_json_500_that_keeps_the_connection(loaded: DLDMatch, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Answered where it happens, not re-raised to the server (which would close the kept-alive
    connection under the client's next request): the test client sees no exception."""
    def broken() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(loaded, "themes", broken)
    with TestClient(create_app(loaded.settings, service=loaded, start="none")) as c:  # raises server errors
        response = c.get("/themes")
        assert response.status_code == 500 and response.json()["error"] == "internal_error"
        assert c.get("/health").status_code == 200


@pytest.mark.parametrize("path", ["/s/a%00b", "/s/a%00b/partners", "/p/a%00b", "/planner/a%00b",
                                  "/planner/a%00b/agenda/x"])
def test_a_nul_byte_in_a_web_page_id_is_not_found(client: TestClient, path: str) -> None:
    assert client.get(path, headers={"accept": "text/html"}).status_code == 404


def test_the_migrations_make_the_schema_the_models_declare(file_database_url: str) -> None:
    """Alembic's autogenerate finds nothing to add: every table and index of store.models (accounts,
    tokens and sessions included) is made by a migration, on SQLite and PostgreSQL."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    engine = make_engine(file_database_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    engine.dispose()


def test_going_back_before_the_mail_language_keeps_accounts_invitations_and_sessions(
        file_database_url: str) -> None:
    """Migration 0012's downgrade drops one column, never the rows that refer to the accounts."""
    from alembic import command
    from alembic.config import Config

    from store.db import MIGRATIONS

    svc = DLDMatch(Settings(database_url=file_database_url, index_dir=Path("/nonexistent"), embedder="fake",
                            seed_dir=None), FakeEmbedder())
    svc.accounts.invite("a@example.org", "secretariat", language="ko")
    svc.accounts.create_account("b@example.org", "secretariat", password="a long pass phrase")
    svc.accounts.login("b@example.org", "a long pass phrase", client="tests")
    counts = "SELECT (SELECT count(*) FROM account), (SELECT count(*) FROM invitation), " \
             "(SELECT count(*) FROM login_session)"
    with svc.writer.connect() as conn:
        before = tuple(conn.execute(text(counts)).one())
    assert before == (2, 1, 1)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with svc.writer.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0011")
    with svc.writer.connect() as conn:
        assert tuple(conn.execute(text(counts)).one()) == before
        assert "language" not in {c["name"] for c in inspect(conn).get_columns("account")}
