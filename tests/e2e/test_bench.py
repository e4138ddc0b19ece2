"""`dldmatch bench` runs end to end on the real model (tiny sizes) and prints every figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import cli

pytestmark = pytest.mark.e2e


def test_bench_prints_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    # The figures of issue 5 are for all-MiniLM-L6-v2 through sentence-transformers (float32 reference too).
    result = CliRunner(env={"DLDMATCH_EMBEDDER": "sentence-transformers"}).invoke(cli, ["bench", "--sizes", "300,600", "--ingest", "60", "--queries", "8",
                                      "--http-clients", "1", "--http-requests", "4", "--mix-clients", "2",
                                      "--mix-seconds", "2", "--write-samples", "1", "--workdir",
                                      str(tmp_path / "w"), "--output", str(output)])
    assert result.exit_code == 0, result.output
    report = json.loads(output.read_text())
    ingest = report["ingest"]
    assert ingest["pipeline_per_s"] > 0 and ingest["raw_encode_per_s"] > 0 and ingest["cosine_to_float32"]["mean"] > 0.99
    assert [r["size"] for r in report["sizes"]] == [300, 600]
    for r in report["sizes"]:
        assert r["partners"]["p99_ms"] > 0 and r["partners_naive"]["p99_ms"] > 0 and r["partners_ratio_to_naive"] > 0
        assert r["match"]["p99_ms"] >= r["query_embedding"]["p50_ms"] * 0.5
        assert r["memory"]["database_bytes"] > 0 and r["memory"]["corpus_bytes_per_profile"] > 0
        assert r["cold_start_state"] == {"stakeholder": "loaded", "project": "loaded", "lexicon": "loaded"}
        assert r["partners_default"]["p99_ms"] > 0
        assert r["match_naive"]["p99_ms"] > 0 and r["match_ratio_to_naive"] > 0
        assert r["http"]["requests"] == 4 and r["http"]["requests_per_s"] > 0
        [phase] = r["mix"]["phases"]
        assert phase["clients"] == 2 and phase["with_writes"]["requests"] > 0 and phase["writes"]["writes"] > 0
        assert phase["writes"]["visible_all_workers"]["n"] == phase["writes"]["writes"]
        assert r["write_cost"]["create"]["catch_up"]["n"] == 1
    assert "x naive" in result.stdout and "overhead" in result.stdout
    assert "read/write mix" in result.stdout and "catch-up" in result.stdout
