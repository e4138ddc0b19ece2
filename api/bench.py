"""Benchmarks that print figures (never timed unit tests)."""

from __future__ import annotations

import json
import random
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from matcher.schedule import Attendee, Problem, pair, solve, verify

LANGUAGES = ["en", "zh", "mn", "ko", "ja", "ru"]


def synthetic_forum(participants: int, slots: int, tables: int, *, seed: int = 7, min_meetings: int = 2) -> Problem:
    """A generated forum (synthetic, for benchmarks only): availability, languages, limits, and pair
    scores from the cosine of random profile vectors, so that scores have structure like real ones."""
    rng = random.Random(seed)
    vectors = np.random.default_rng(seed).normal(size=(participants, 24))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = (vectors @ vectors.T + 1) / 2
    attendees = []
    for i in range(participants):
        available = frozenset(s for s in range(slots) if rng.random() < 0.8) or frozenset({rng.randrange(slots)})
        attendees.append(Attendee(f"p{i:05d}", available, frozenset(rng.sample(LANGUAGES, 2)),
                                  rng.random() < 0.15, rng.randint(3, 8)))
    keys = [a.key for a in attendees]
    scores = {pair(keys[i], keys[j]): round(float(sims[i, j]), 4)
              for i in range(participants) for j in range(i + 1, participants)}
    return Problem(attendees, slots, tables, scores, min_meetings=min_meetings)


def bench_schedule(participants: int, slots: int, tables: int, *, method: str = "auto", seed: int = 7,
                   time_limit: float = 60.0, output: Path | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    problem = synthetic_forum(participants, slots, tables, seed=seed)
    built = time.perf_counter() - started
    solution = solve(problem, method=method, time_limit=time_limit)
    violations = verify(problem, solution.meetings)
    report = {
        "participants": participants, "slots": slots, "tables": tables, "method": solution.method,
        "status": solution.status, "meetings": len(solution.meetings), "total_score": solution.total_score,
        "objective": solution.objective, "bound": solution.bound, "bound_kind": solution.bound_kind,
        "gap": solution.gap, "solve_seconds": solution.seconds, "generate_seconds": round(built, 3),
        "below_minimum": len(solution.unmet), "violations": len(violations),
    }
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2))
    return report


# ---- dldmatch bench: ingest, index, latency, memory, cold start ------------------------------------

SYNTHETIC_PLACES = ["Gobi", "Kubuqi Desert", "Alxa", "Tengger Desert", "Horqin Sandy Land", "Mu Us Sandy Land",
                    "Ordos", "Inner Mongolia", "Loess Plateau", "Ulaanbaatar", "Dornogovi", "Zamyn-Uud",
                    "Hunshandake", "Beijing", "Seoul", "Incheon", "Tumen River", "Khovd", "Uvs Lake", "Kalmykia"]
TEMPLATES = [
    "We work on {label} in {place}, with a focus on {k1} and {k2}.",
    "Our teams combine {k1} with {k3} to support communities near {place}.",
    "Since {year} we have run programmes on {label} across {country}.",
    "We look for partners in {k2} and share our experience of {k3}.",
]


def synthetic_records(count: int, vocabulary: dict[str, Any], *, seed: int = 1, start: int = 0) -> list[dict[str, Any]]:
    """Realistic synthetic stakeholder records built from the theme vocabulary. Clearly marked: ids
    ``synthetic-…``, ``outside_seed``, a ``synthetic:`` source. Never mixed into the seed data."""
    from matcher.vocab import COUNTRIES, RESOURCE_KINDS, STAKEHOLDER_KINDS

    rng = random.Random(seed + start)
    themes = list(vocabulary.values())
    kinds = list(STAKEHOLDER_KINDS)
    resources = list(RESOURCE_KINDS)
    out = []
    for i in range(start, start + count):
        chosen = rng.sample(themes, 3)
        place = rng.choice(SYNTHETIC_PLACES)
        countries = rng.sample(list(COUNTRIES), rng.choice((1, 1, 2)))
        sentences = []
        for n, theme in enumerate(chosen):
            keys = list(theme.keywords)
            sentences.append(TEMPLATES[n % len(TEMPLATES)].format(
                label=theme.label.lower(), place=place, k1=rng.choice(keys), k2=rng.choice(keys), k3=rng.choice(keys),
                year=rng.randint(1995, 2024), country=COUNTRIES[countries[0]]))
        sentences.append(TEMPLATES[3].format(k2=rng.choice(chosen[0].keywords), k3=rng.choice(chosen[1].keywords)))
        kind = rng.choice(kinds)
        out.append({"type": "stakeholder", "id": f"synthetic-{i:07d}", "name": f"Synthetic {kind} {i}", "kind": kind,
                    "countries": countries, "places": [place], "description": " ".join(sentences),
                    "offers": rng.sample(resources, 2), "needs": rng.sample(resources, 1),
                    "themes": [{"id": t.id, "confidence": 0.7, "source": "auto"} for t in chosen],
                    "outside_seed": True, "sources": [{"url": "synthetic:dldmatch-bench", "supports": ["name"]}]})
    return out


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _percentiles(samples: list[float]) -> dict[str, float]:
    values = np.array(samples) * 1000
    return {"p50_ms": round(float(np.percentile(values, 50)), 2), "p99_ms": round(float(np.percentile(values, 99)), 2),
            "n": len(samples)}


def bench_ingest(embedder: Any, vocabulary: dict[str, Any], count: int, workdir: Path) -> tuple[dict[str, Any],
                                                                                              list[dict[str, Any]],
                                                                                              np.ndarray]:
    """Profiles embedded per second through the import path, next to raw encode of the same texts."""
    from api.service import DLDMatch
    from api.settings import Settings
    from embeddings.texts import stakeholder_text

    records = synthetic_records(count, vocabulary)
    texts = [stakeholder_text(r["name"], r["description"], []) for r in records]
    from embeddings.sentence import SentenceTransformerEmbedder

    timings: dict[str, float] = {}
    outputs: dict[str, np.ndarray] = {}
    if isinstance(embedder, SentenceTransformerEmbedder):
        # The service's own backend (bfloat16 by default) and float32, both straight through encode.
        backends = [("float32", SentenceTransformerEmbedder(embedder.model_path, batch_size=embedder.batch_size,
                                                            precision="float32")), (embedder.precision, embedder)]
        backend_name = embedder.precision
    else:  # a model with its own engine: its raw throughput is its own embed()
        backends = [(embedder.model_id, embedder)]
        backend_name = embedder.model_id
    for name, backend in backends:
        backend.embed(texts[:16])  # warm-up
        started = time.perf_counter()
        outputs[name] = backend.embed(texts)
        timings[name] = time.perf_counter() - started
    raw = outputs[backend_name]
    raw_seconds = timings[backend_name]
    quality: dict[str, Any] = {}
    if "float32" in outputs and backend_name != "float32":
        cosine = np.sum(outputs["float32"] * raw, axis=1)
        quality = {"float32_encode_per_s": round(count / timings["float32"], 1),
                   "cosine_to_float32": {"mean": round(float(cosine.mean()), 4), "min": round(float(cosine.min()), 4)}}
    tokens = None
    if isinstance(embedder, SentenceTransformerEmbedder):
        tokenizer = embedder._load().tokenizer
        tokens = round(float(np.mean([len(tokenizer(t)["input_ids"]) for t in texts[:200]])), 1)

    db = workdir / "ingest.db"
    db.unlink(missing_ok=True)
    service = DLDMatch(Settings(database_url=f"sqlite:///{db}", index_dir=workdir / "ingest-index", seed_dir=None),
                       embedder)
    service.start()
    lines = [json.dumps(r) for r in records]
    started = time.perf_counter()
    service.import_lines(lines)
    pipeline_seconds = time.perf_counter() - started
    report = {
        "profiles": count,
        "backend": backend_name,
        "raw_encode_per_s": round(count / raw_seconds, 1),
        "pipeline_per_s": round(count / pipeline_seconds, 1),
        "overhead": round(pipeline_seconds / raw_seconds - 1, 4),
        **quality,
        "tokens_per_text_mean": tokens,
    }
    return report, records, np.asarray(raw, dtype=np.float32)


def populate(db: Path, size: int, records: list[dict[str, Any]], vectors: np.ndarray, vocabulary: dict[str, Any],
             model_id: str, *, seed: int = 3) -> None:
    """A database of ``size`` synthetic stakeholders. The first ones carry really embedded vectors; the
    rest are generated from them with noise (so that a million fits in minutes). Bulk inserts."""
    from sqlalchemy import insert
    from sqlmodel import Session

    from embeddings.texts import stakeholder_text, text_hash
    from store.db import make_engine
    from store.models import Embedding, Stakeholder

    db.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    rng = np.random.default_rng(seed)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    batch = 20_000
    for start in range(0, size, batch):
        chunk = records[start:start + batch] if start < len(records) else []
        if len(chunk) < min(batch, size - start):
            chunk = chunk + synthetic_records(min(batch, size - start) - len(chunk), vocabulary,
                                              start=start + len(chunk))
        if start < len(vectors):
            base = vectors[start:start + len(chunk)]
            if len(base) < len(chunk):
                extra = vectors[rng.integers(0, len(vectors), len(chunk) - len(base))]
                base = np.vstack([base, extra + rng.normal(scale=0.04, size=extra.shape).astype(np.float32)])
        else:
            picked = vectors[rng.integers(0, len(vectors), len(chunk))]
            base = picked + rng.normal(scale=0.04, size=picked.shape).astype(np.float32)
        base = base / np.linalg.norm(base, axis=1, keepdims=True)
        rows = []
        for r in chunk:
            text = stakeholder_text(r["name"], r["description"], [])
            rows.append({"external_id": r["id"], "name": r["name"], "original_name": None, "aliases": [],
                         "kind": r["kind"], "countries": r["countries"], "places": [{"name": p} for p in r["places"]],
                         "description": r["description"], "themes": r["themes"],
                         "offers": [{"kind": o, "detail": ""} for o in r["offers"]],
                         "needs": [{"kind": o, "detail": ""} for o in r["needs"]], "languages": [], "website": None,
                         "contact": None, "sources": r["sources"], "outside_seed": True, "text_hash": text_hash(text),
                         "created_at": now, "updated_at": now})
        with Session(engine) as session:
            first_id = (session.connection().exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM stakeholder")
                        .scalar() or 0) + 1
            session.execute(insert(Stakeholder), rows)
            session.execute(insert(Embedding), [
                {"entity_type": "stakeholder", "entity_id": first_id + n, "model_id": model_id,
                 "text_hash": rows[n]["text_hash"], "dim": base.shape[1], "vector": base[n].tobytes()}
                for n in range(len(rows))])
            session.commit()
    engine.dispose()


def bench_size(size: int, workdir: Path, records: list[dict[str, Any]], vectors: np.ndarray, embedder: Any,
               vocabulary: dict[str, Any], *, queries: int, http_clients: int, http_requests: int,
               log: Callable[[str], None], embedder_kind: str = "sentence-transformers") -> dict[str, Any]:
    from sqlmodel import Session

    from api.schemas import MatchRequest
    from api.service import DLDMatch
    from api.settings import Settings
    from matcher.rank import Filters, rank
    from store import repo

    db = workdir / f"bench-{size}.db"
    log(f"[{size}] writing {size} synthetic profiles")
    started = time.perf_counter()
    populate(db, size, records, vectors, vocabulary, embedder.model_id)
    populate_seconds = time.perf_counter() - started
    settings = Settings(database_url=f"sqlite:///{db}", index_dir=workdir / f"index-{size}", seed_dir=None,
                        embedder=embedder_kind)
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    for old in settings.index_dir.glob("*"):
        old.unlink()
    started = time.perf_counter()
    service = DLDMatch(settings, embedder)
    report_start = service.start(progress=_log_progress(log, size))
    build_seconds = time.perf_counter() - started
    corpus = service.snapshot().corpus
    index = service.snapshot().indexes["stakeholder"]
    log(f"[{size}] index {index.index_type} and corpus in {build_seconds:.1f} s")

    # The naive baseline's own copy of every vector (not part of the service's memory).
    with Session(service.engine) as session:
        all_ids, matrix = repo.vectors(session, entity_type="stakeholder", model_id=embedder.model_id)
    order = np.argsort(all_ids)
    all_ids, matrix = all_ids[order], matrix[order]
    assert np.array_equal(all_ids, corpus.ids)

    rng = random.Random(5)
    ids = [corpus.key(rng.randrange(len(corpus)))[2:] for _ in range(queries)]
    timings: dict[str, list[float]] = {"partners": [], "partners_default": [], "naive": [], "embed": [], "match": [],
                                       "match_naive": []}
    for i in ids:
        t = time.perf_counter()
        service.partners_for_stakeholder(i, k=10, min_shared_themes=0)
        timings["partners"].append(time.perf_counter() - t)
        t = time.perf_counter()
        service.partners_for_stakeholder(i, k=10)  # the API's default: partners sharing a theme
        timings["partners_default"].append(time.perf_counter() - t)

    def naive(query: Any, v: np.ndarray, text: str) -> None:
        """Brute force: every vector scored with numpy, the top 250 ranked with the same scoring."""
        sims_all = matrix @ v
        top = np.argpartition(-sims_all, min(250, len(sims_all) - 1))[:250]
        rows = [int(r) for r in top]
        sims, signals = corpus.signals(v, rows, {r: float(sims_all[r]) for r in rows},
                                       corpus.lexical_scores(corpus.lexical_query(text), rows))
        rank(query, [corpus.profile(r) for r in rows], sims, k=10, filters=Filters(exclude=frozenset({query.key})),
             vocabulary=service.vocabulary, ranking=service.ranking, signals=signals)

    for i in ids:
        t = time.perf_counter()
        with Session(service.engine) as session:
            stored = repo.stakeholders_by_external_id(session, external_ids=[i])[i]
            query = service._with_second_partners(service._stakeholder_profiles(session, [stored])[stored.id],
                                                   service.snapshot())
        naive(query, matrix[corpus.row_of_key(f"s:{i}")], " ".join((query.name, *query.sentences)))
        timings["naive"].append(time.perf_counter() - t)

    texts = [synthetic_records(1, vocabulary, seed=99, start=n)[0]["description"] for n in range(queries)]
    for text in texts:
        t = time.perf_counter()
        service.embedder.embed([text])
        timings["embed"].append(time.perf_counter() - t)
        t = time.perf_counter()
        service.match(MatchRequest(text=text, k=10))
        timings["match"].append(time.perf_counter() - t)
    # Apart from the service's loop: numpy's BLAS threads keep spinning after a large product and
    # would slow the model's next forward pass.
    for text in texts:
        t = time.perf_counter()
        query, draft = service.draft_query(MatchRequest(text=text, k=10))
        naive(query, service.embedder.embed([draft])[0], draft)
        timings["match_naive"].append(time.perf_counter() - t)

    recall = None
    if not index.index_type.startswith("IDMap2"):
        hits = []
        noise = np.random.default_rng(0)
        for i in ids[:200]:
            v = matrix[corpus.row_of_key(f"s:{i}")] + noise.normal(scale=0.03, size=matrix.shape[1]).astype(np.float32)
            exact = set(all_ids[np.argsort(-(matrix @ v))[:10]].tolist())
            found = {hit for hit, _ in index.search(v, 10)}
            hits.append(len(found & exact) / 10)
        recall = round(float(np.mean(hits)), 4)
    del matrix

    log(f"[{size}] cold start and memory in a fresh process")
    cold = cold_start(settings)
    http = bench_http(settings, ids, http_clients, http_requests, log) if http_clients else None
    raw_bytes = size * vectors.shape[1] * 4
    result = {
        "size": size, "index_type": index.index_type, "populate_seconds": round(populate_seconds, 1),
        "index_and_corpus_build_seconds": round(build_seconds, 2), "index_state": report_start["index"],
        "memory": {"service_bytes_per_profile": round(cold["rss_delta"] / size, 1),
                   "index_bytes_per_profile": round(cold["index_bytes"] / size, 1),
                   "corpus_bytes_per_profile": round(cold["corpus_bytes"] / size, 1),
                   "raw_vector_bytes_per_profile": vectors.shape[1] * 4,
                   "ratio_to_raw_vectors": round(cold["rss_delta"] / raw_bytes, 2),
                   "database_bytes": db.stat().st_size},
        "partners": _percentiles(timings["partners"]), "partners_naive": _percentiles(timings["naive"]),
        "partners_default": _percentiles(timings["partners_default"]),
        "match": _percentiles(timings["match"]), "match_naive": _percentiles(timings["match_naive"]),
        "query_embedding": _percentiles(timings["embed"]),
        "recall_at_10_vs_exact": recall,
        "cold_start_seconds": cold["seconds"], "cold_start_state": cold["state"],
        "http": http,
    }
    result["partners_ratio_to_naive"] = round(result["partners"]["p99_ms"] / result["partners_naive"]["p99_ms"], 2)
    result["match_ratio_to_naive"] = round(result["match"]["p99_ms"] / result["match_naive"]["p99_ms"], 2)
    return result


def _log_progress(log: Callable[[str], None], size: int) -> Callable[[str, int, int], None]:
    last: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if done >= total or now - last.get(stage, 0.0) > 10:
            last[stage] = now
            log(f"[{size}] {stage}: {done}/{total}")
    return progress


_COLD_START = """
import json, sys, time, psutil
from api.service import DLDMatch, make_embedder
from api.settings import Settings
settings = Settings(database_url=sys.argv[1], index_dir=sys.argv[2], seed_dir=None, embedder=sys.argv[3])
embedder = make_embedder(settings)
embedder.embed(["the model loaded before measuring"])
process = psutil.Process()
before = process.memory_info().rss
started = time.perf_counter()
service = DLDMatch(settings, embedder)
report = service.start()
seconds = time.perf_counter() - started
corpus = service.snapshot().corpus
index = service.snapshot().indexes["stakeholder"]
print(json.dumps({"seconds": round(seconds, 2), "rss_delta": process.memory_info().rss - before,
                  "corpus_bytes": corpus.nbytes, "index_bytes": index.nbytes,
                  "state": {**report["index"], "lexicon": corpus.lexicon_state}}))
"""


def cold_start(settings: Any) -> dict[str, Any]:
    """Start the service in a fresh process on a current index and lexicon: how long it takes, and how
    much resident memory the start adds (the index, the corpus), measured after the model has loaded."""
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _COLD_START, settings.database_url, str(settings.index_dir),
                          settings.embedder],
                         capture_output=True, text=True, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_http(settings: Any, ids: list[str], clients: int, requests: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Requests per second and latency over HTTP on loopback, two server workers, concurrent clients."""
    import os
    import socket
    import subprocess
    import sys
    import threading

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DLDMATCH_DATABASE_URL": settings.database_url, "DLDMATCH_INDEX_DIR": str(settings.index_dir),
           "DLDMATCH_SEED_DIR": "", "DLDMATCH_EMBEDDER": settings.embedder, "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:app_from_env", "--factory", "--workers", "2",
                               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 600
        ready = 0
        while time.time() < deadline and ready < 6:  # both workers answer "ok" several times in a row
            try:
                ready = ready + 1 if httpx.get(f"{base}/health", timeout=5).json()["status"] == "ok" else 0
            except (httpx.HTTPError, ValueError):
                ready = 0
            time.sleep(0.5)
        with httpx.Client(timeout=30) as warm:
            for i in ids[:20]:
                warm.get(f"{base}/stakeholders/{i}/partners", params={"min_shared_themes": 0})
        latencies: list[float] = []
        lock = threading.Lock()

        def client(n: int) -> None:
            with httpx.Client(timeout=60) as c:
                for j in range(requests):
                    i = ids[(n * requests + j) % len(ids)]
                    t = time.perf_counter()
                    c.get(f"{base}/stakeholders/{i}/partners", params={"min_shared_themes": 0}).raise_for_status()
                    with lock:
                        latencies.append(time.perf_counter() - t)

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
        return {"clients": clients, "workers": 2, "requests": len(latencies),
                "requests_per_s": round(len(latencies) / seconds, 1), **_percentiles(latencies)}
    finally:
        server.terminate()
        server.wait(timeout=30)
