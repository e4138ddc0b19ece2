"""The bench's read/write mix runs end to end on a small synthetic collection (fake embedder, a
two-worker server on loopback) and reports every figure. No timing thresholds: figures only have to be
present and sane."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evaluation.bench import bench_mix, bench_write_cost, populate, serving, synthetic_records
from api.service import DLDMatch, load_vocabulary
from api.settings import Settings
from embeddings.fake import FakeEmbedder
from embeddings.texts import stakeholder_text

SIZE = 200


def test_mix_and_write_cost_report_every_figure(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'bench.db'}", index_dir=tmp_path / "index",
                        embedder="fake", seed_dir=None)
    embedder = FakeEmbedder()
    vocabulary = load_vocabulary(settings.themes_file)
    records = synthetic_records(SIZE, vocabulary)
    vectors = embedder.embed([stakeholder_text(r["name"], r["description"], []) for r in records])
    populate(tmp_path / "bench.db", SIZE, records, np.asarray(vectors), vocabulary, embedder.model_id)
    service = DLDMatch(settings, embedder)
    service.start()
    ids = [r["id"] for r in records[:50]]

    with serving(settings, lambda m: None) as server:
        assert server.workers == 2 and len(server.pids) == 2
        mix = bench_mix(server, service.engine, ids, vocabulary, size=SIZE, clients=(1, 2), seconds=2,
                        write_interval=0.25)

    assert mix["workers_seen"] == 2 and [p["clients"] for p in mix["phases"]] == [1, 2]
    for phase in mix["phases"]:
        for reads in (phase["without_writes"], phase["with_writes"]):
            assert reads["requests"] > 0 and reads["errors"] == 0
            assert 0 < reads["p50_ms"] <= reads["p99_ms"]
        writes = phase["writes"]
        assert writes["writes"] >= 3 and writes["errors"] == 0 and writes["not_visible"] == 0
        assert 0 < writes["ack"]["p50_ms"] <= writes["ack"]["p99_ms"] <= writes["ack"]["max_ms"]
        assert writes["ack_by_op"]["create"]["n"] >= 1
        first, every = writes["visible_first_worker"], writes["visible_all_workers"]
        assert every["n"] == writes["writes"]
        assert 0 <= first["p50_ms"] <= every["p50_ms"] <= every["max_ms"]
        # every write a search was asked about showed (present after create/update, gone after delete)
        assert writes["search_confirmed"] == writes["search_checked"]
    assert sum(p["writes"]["search_checked"] for p in mix["phases"]) >= 1

    service.indexing.catch_up()
    before = len(service.snapshot().corpus)
    cost = bench_write_cost(service, vocabulary, ids, size=SIZE, samples=2)
    assert set(cost) == {"create", "update", "delete"}
    for op in cost.values():
        for figure in ("write", "catch_up", "next_search"):
            assert op[figure]["n"] == 2 and 0 < op[figure]["p50_ms"] <= op[figure]["max_ms"]
    assert len(service.snapshot().corpus) == before  # the creates were deleted again, and followed
    service.close()
