"""A restart embeds nothing and loads the saved index; a stale or damaged index is rebuilt, never served."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, create_engine

from api.service import DLDMatch
from api.settings import Settings
from embeddings.fake import FakeEmbedder
from embeddings.index import VectorIndex
from store import repo
from tests.conftest import SMALL


@pytest.fixture
def on_disk(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", index_dir=tmp_path / "index",
                    embedder="fake", seed_dir=None)


def _start(settings: Settings) -> tuple[DLDMatch, FakeEmbedder]:
    embedder = FakeEmbedder()
    svc = DLDMatch(settings, embedder)
    svc.start()
    return svc, embedder


def test_restart_embeds_nothing_and_loads_the_index(on_disk: Settings) -> None:
    first, embedder = _start(on_disk)
    first.import_files([SMALL])
    assert embedder.calls == 7
    before = first.partners_for_stakeholder("t-cso", intent="co_funding").model_dump()

    second, embedder = _start(on_disk)
    assert second.start_report["embedded"] == 0 and embedder.calls == 0
    assert second.start_report["index"] == {"stakeholder": "loaded", "project": "loaded"}
    assert second.partners_for_stakeholder("t-cso", intent="co_funding").model_dump() == before


def test_index_saved_after_each_change_is_loaded_next_time(on_disk: Settings) -> None:
    first, _ = _start(on_disk)
    first.import_files([SMALL])
    first.import_lines([json.dumps({"type": "stakeholder", "id": "t-late", "name": "Late", "kind": "cso",
                                    "description": "Sand fixation."})])
    second, embedder = _start(on_disk)
    assert second.start_report["index"]["stakeholder"] == "loaded" and embedder.calls == 0
    assert second.health().index["stakeholder"]["count"] == 6


def test_stale_or_damaged_index_is_rebuilt_from_stored_vectors(on_disk: Settings) -> None:
    first, _ = _start(on_disk)
    first.import_files([SMALL])
    manifest = on_disk.index_dir / "stakeholders.manifest.json"
    record = json.loads(manifest.read_text())
    record["content_version"] = "something else"
    manifest.write_text(json.dumps(record))
    next(on_disk.index_dir.glob("projects.*.faiss")).write_bytes(b"not an index")

    second, embedder = _start(on_disk)
    assert second.start_report["index"] == {"stakeholder": "built", "project": "built"}
    assert embedder.calls == 0  # rebuilt from stored vectors, nothing embedded
    loaded = VectorIndex.load(on_disk.index_dir, "stakeholders")
    assert loaded is not None and loaded[1].count == 5


def test_a_new_model_reembeds_everything_once(on_disk: Settings) -> None:
    first, _ = _start(on_disk)
    first.import_files([SMALL])
    other = FakeEmbedder(dim=32)
    svc = DLDMatch(on_disk, other)
    report = svc.start()
    assert report["embedded"] == 7 and report["index"] == {"stakeholder": "built", "project": "built"}
    assert VectorIndex.load(on_disk.index_dir, "stakeholders")[1].model_id == "fake-hash-32"  # type: ignore[index]
    again = DLDMatch(on_disk, FakeEmbedder(dim=32))
    assert again.start()["embedded"] == 0


def test_reembedding_runs_in_chunks_with_progress_over_the_whole(on_disk: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A new model over a large database re-embeds in chunks (SQL limits the ids of one query), and the
    progress it reports counts over everything, not per chunk."""
    import api.writing as service_module
    from api.profiles import texts as entity_texts

    first, _ = _start(on_disk)
    first.import_files([SMALL])
    monkeypatch.setattr(service_module, "_STALE_CHUNK", 2)
    seen: list[tuple[str, int, int]] = []
    other = FakeEmbedder(dim=32)
    report = DLDMatch(on_disk, other).start(lambda stage, done, total: seen.append((stage, done, total)))
    assert report["embedded"] == 7
    stakeholders = [(d, t) for s, d, t in seen if s == "embed stakeholders"]
    assert stakeholders[-1] == (5, 5) and all(t == 5 for _, t in stakeholders)
    with Session(create_engine(on_disk.database_url)) as session:
        stored = repo.embeddings(session, entity_type="stakeholder", model_id=other.model_id)
        texts = entity_texts(session, "stakeholder", list(stored))
    for i, e in stored.items():
        assert np.array_equal(np.frombuffer(e.vector, dtype=np.float32), other.embed([texts[i]])[0])
