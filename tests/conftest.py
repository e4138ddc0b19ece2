"""Shared fixtures: typed settings, the fake embedder, an in-memory database, a test client."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.service import DLDMatch
from api.settings import ROOT, Settings
from embeddings.fake import FakeEmbedder

DATA = Path(__file__).parent / "data"
SMALL = DATA / "small.jsonl"
SEEDS = sorted((ROOT / "seed_profiles").glob("*.jsonl"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url="sqlite://", index_dir=tmp_path / "index", embedder="fake", seed_dir=None)


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def service(settings: Settings, embedder: FakeEmbedder) -> DLDMatch:
    svc = DLDMatch(settings, embedder)
    svc.start()
    return svc


@pytest.fixture
def loaded(service: DLDMatch) -> DLDMatch:
    service.import_files([SMALL])
    return service


@pytest.fixture
def client(loaded: DLDMatch) -> Iterator[TestClient]:
    with TestClient(create_app(loaded.settings, service=loaded, start="none")) as c:
        yield c


@pytest.fixture
def seeded(settings: Settings, embedder: FakeEmbedder) -> DLDMatch:
    """The seed profiles, as `make run` loads them, on the fake embedder."""
    svc = DLDMatch(settings.model_copy(update={"seed_dir": ROOT / "seed_profiles"}), embedder)
    svc.start()
    return svc
