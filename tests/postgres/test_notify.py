"""On PostgreSQL a follower wakes on LISTEN/NOTIFY: another process's write is searched well before
the follower's next check would find it."""

from __future__ import annotations

import time
from pathlib import Path

from api.schemas import StakeholderIn
from api.service import DLDMatch
from api.settings import Settings
from embeddings.fake import FakeEmbedder
from tests.postgres import only_on_postgres

pytestmark = only_on_postgres


def test_a_write_elsewhere_wakes_the_follower_at_once(tmp_path: Path, file_database_url: str) -> None:
    settings = Settings(database_url=file_database_url, index_dir=tmp_path / "a", embedder="fake", seed_dir=None,
                        follow_interval=30.0)  # the checks alone would take half a minute
    server = DLDMatch(settings, FakeEmbedder())
    server.start(follow=True)
    try:
        time.sleep(0.5)  # the listener is connected
        other = DLDMatch(settings.model_copy(update={"index_dir": tmp_path / "b"}), FakeEmbedder())
        other.start()
        other.create(StakeholderIn.model_validate({"type": "stakeholder", "id": "t-new", "name": "New", "kind": "cso",
                                                   "description": "Saxaul shelterbelts in the Gobi."}))
        written = time.monotonic()
        while server.snapshot().version < other.snapshot().version:
            assert time.monotonic() - written < 5, "the follower was not woken by the notification"
            time.sleep(0.01)
        assert server.snapshot().corpus.row_of_key("s:t-new") is not None
    finally:
        server.close()
