"""Benchmarks that print figures (never timed unit tests)."""

from __future__ import annotations

import json
import random
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

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
               log: Callable[[str], None], embedder_kind: str = "sentence-transformers",
               mix_clients: Sequence[int] = (), mix_seconds: float = 20.0, write_interval: float = 0.5,
               write_samples: int = 0) -> dict[str, Any]:
    from sqlmodel import Session

    from api.profiles import stakeholder_profiles
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
            query = service.search.with_second_partners(stakeholder_profiles(session, [stored])[stored.id],
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
    http = mix = None
    if http_clients or mix_clients:
        with serving(settings, log) as server:
            http = bench_http(server, ids, http_clients, http_requests) if http_clients else None
            if mix_clients:
                mix = bench_mix(server, service.engine, ids, vocabulary, size=size, clients=mix_clients,
                                seconds=mix_seconds, write_interval=write_interval, log=log)
    # Last: its writes make the saved index and lexicon stale, which the cold start above must not see.
    write_cost = bench_write_cost(service, vocabulary, ids, size=size, samples=write_samples, log=log) \
        if write_samples else None
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
        "http": http, "mix": mix, "write_cost": write_cost,
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


# ---- HTTP: a two-worker server on loopback ------------------------------------------------------

@dataclass(frozen=True)
class Server:
    base: str
    workers: int
    pids: frozenset[int]  # the workers' process ids, as /health reports them
    token: str = ""  # a secretariat token, for the writes (revoked when the server stops)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@contextmanager
def serving(settings: Any, log: Callable[[str], None], *, workers: int = 2) -> Iterator[Server]:
    """``uvicorn --workers N`` on a free loopback port over the benchmark's database, until the block
    ends. Ready once /health said "ok" several times in a row and every worker has answered."""
    import os
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DLDMATCH_DATABASE_URL": settings.database_url, "DLDMATCH_INDEX_DIR": str(settings.index_dir),
           "DLDMATCH_SEED_DIR": "", "DLDMATCH_EMBEDDER": settings.embedder, "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:app_from_env", "--factory", "--workers",
                               str(workers), "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                              env=env)
    base = f"http://127.0.0.1:{port}"
    from api.accounts import Accounts
    from store.db import make_engines

    engines = make_engines(settings.database_url)
    accounts = Accounts(engines.read, engines.write)
    token = accounts.create_token("secretariat", label="benchmark writer")
    try:
        deadline = time.time() + 600
        ready = 0
        pids: set[int] = set()
        # "Connection: close": each check is a new connection, which any worker may accept.
        with httpx.Client(timeout=5, headers={"Connection": "close"}) as probe:
            while time.time() < deadline and (ready < 6 or len(pids) < workers):
                try:
                    health = probe.get(f"{base}/health").json()
                    ready = ready + 1 if health["status"] == "ok" else 0
                    if health["status"] == "ok":
                        pids.add(int(health["following"]["process"]))
                except (httpx.HTTPError, ValueError, KeyError):
                    ready = 0
                time.sleep(0.5 if ready < 6 else 0.02)
        if ready < 6:
            raise RuntimeError(f"the benchmark server on {base} did not become ready")
        if len(pids) < workers:
            log(f"only {len(pids)} of {workers} workers answered /health; visibility is measured on those")
        yield Server(base, workers, frozenset(pids), token)
    finally:
        server.terminate()
        server.wait(timeout=30)
        accounts.revoke_token(token)
        engines.write.dispose()
        engines.read.dispose()


def bench_http(server: Server, ids: list[str], clients: int, requests: int) -> dict[str, Any]:
    """Requests per second and latency over HTTP on loopback, two server workers, concurrent clients."""
    import httpx

    with httpx.Client(timeout=30) as warm:
        for i in ids[:20]:
            warm.get(f"{server.base}/stakeholders/{i}/partners", params={"min_shared_themes": 0})
    latencies: list[float] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(timeout=60) as c:
            for j in range(requests):
                i = ids[(n * requests + j) % len(ids)]
                t = time.perf_counter()
                c.get(f"{server.base}/stakeholders/{i}/partners", params={"min_shared_themes": 0}).raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - t)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    return {"clients": clients, "workers": server.workers, "requests": len(latencies),
            "requests_per_s": round(len(latencies) / seconds, 1), **_percentiles(latencies)}


# ---- the read/write mix ------------------------------------------------------------------------

def _spread(samples: Sequence[float]) -> dict[str, Any]:
    """p50, p99 and max in milliseconds (None when there is no sample)."""
    if not samples:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None, "n": 0}
    values = np.array(samples) * 1000
    return {"p50_ms": round(float(np.percentile(values, 50)), 2), "p99_ms": round(float(np.percentile(values, 99)), 2),
            "max_ms": round(float(values.max()), 2), "n": len(samples)}


class _Readers:
    """``clients`` threads asking for partners back to back, each on its own kept-alive connection (so
    on one worker), until the block ends. Each request is kept with the time it was sent."""

    def __init__(self, base: str, ids: Sequence[str], clients: int) -> None:
        self.base, self.ids = base, list(ids)
        self.samples: list[tuple[float, float, bool]] = []  # (sent, seconds, ok)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(clients)]

    def __enter__(self) -> "_Readers":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=180)

    def _run(self, n: int) -> None:
        import httpx

        rng = random.Random(1000 + n)
        with httpx.Client(timeout=120) as c:
            while not self._stop.is_set():
                i = self.ids[rng.randrange(len(self.ids))]
                sent = time.perf_counter()
                try:
                    ok = c.get(f"{self.base}/stakeholders/{i}/partners", params={"min_shared_themes": 0}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                with self._lock:
                    self.samples.append((sent, time.perf_counter() - sent, ok))

    def figures(self, start: float, end: float) -> dict[str, Any]:
        """The requests sent between ``start`` and ``end`` (perf_counter)."""
        with self._lock:
            window = [(d, ok) for sent, d, ok in self.samples if start <= sent < end]
        done = [d for d, ok in window if ok]
        out = _spread(done)
        return {"requests": len(done), "requests_per_s": round(len(done) / (end - start), 1),
                "p50_ms": out["p50_ms"], "p99_ms": out["p99_ms"], "errors": len(window) - len(done)}


@dataclass
class _Write:
    op: str  # create, update or delete
    external_id: str
    text: str  # the description it wrote (for a delete: the last one written)
    acked: float  # perf_counter when the response arrived
    seconds: float  # from sending the request to its response: the acknowledgement
    version: int  # the database's data version once acknowledged
    seen: dict[int, float] = field(default_factory=dict)  # worker pid -> when its snapshot first had the write
    expired: bool = False
    superseded_at: float | None = None  # when a later write to the same id was sent
    confirmed: bool | None = None  # a search showed the write (present after create/update, gone after delete)


def _mix_record(vocabulary: dict[str, Any], size: int, n: int) -> dict[str, Any]:
    """The n-th record the mix writes: a synthetic profile with an id of its own (never reused)."""
    record = synthetic_records(1, vocabulary, seed=11, start=size + n)[0]
    return {**record, "id": f"synthetic-mix-{n:06d}", "name": f"Synthetic mix {record['kind']} {n}"}


class _Writer:
    """One client writing at a steady rate (creates, updates and deletes of profiles of its own, in turn),
    and a prober that polls /health on new connections (so on any worker) to see when each worker's
    snapshot holds each write's data version; then one search per write confirms it."""

    def __init__(self, server: Server, engine: Any, vocabulary: dict[str, Any], *, size: int, interval: float,
                 counter: Iterator[int], timeout: float = 120.0, poll: float = 0.02) -> None:
        self.server, self.engine, self.vocabulary = server, engine, vocabulary
        self.size, self.interval, self.counter, self.timeout, self.poll = size, interval, counter, timeout, poll
        self.writes: list[_Write] = []
        self.errors = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._written = threading.Event()  # the writer has stopped: the prober finishes what is open
        self._threads = [threading.Thread(target=f, daemon=True) for f in (self._write, self._probe, self._confirm)]
        self._to_confirm: list[_Write] = []
        self._confirm_wake = threading.Condition(self._lock)

    def __enter__(self) -> "_Writer":
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        """Stop writing; the prober and the confirming search finish the writes already made."""
        self._stop.set()
        self._threads[0].join()
        self._written.set()

    def __exit__(self, *_: Any) -> None:
        self.stop()
        self._threads[1].join(timeout=self.timeout + 60)
        with self._confirm_wake:
            self._confirm_wake.notify_all()
        self._threads[2].join(timeout=120)

    def _version(self) -> int:
        from sqlmodel import Session

        from api.indexing import data_version

        with Session(self.engine) as session:
            return data_version(session)

    def _write(self) -> None:
        import httpx

        live: list[tuple[str, str]] = []  # (id, text) created and not yet deleted
        due = time.perf_counter()
        k = 0
        with httpx.Client(base_url=self.server.base, timeout=120, headers=self.server.auth) as c:
            while not self._stop.is_set():
                wait = due - time.perf_counter()
                if wait > 0 and self._stop.wait(wait):
                    break
                # In turn a create, an update, a delete; each profile is updated four writes after its
                # create and deleted four after that, so a search can check a write before the next
                # write of the same id.
                op = ("create", "update", "delete")[k % 3]
                op = "create" if (op == "update" and not live) or (op == "delete" and len(live) < 3) else op
                target = (len(live) - 2 if len(live) >= 2 else 0) if op == "update" else 0
                if op == "create":
                    record = _mix_record(self.vocabulary, self.size, next(self.counter))
                    external_id, text = record["id"], record["description"]
                    method, url, body = "POST", "/stakeholders", record
                elif op == "update":
                    external_id = live[target][0]
                    record = {**_mix_record(self.vocabulary, self.size, next(self.counter)), "id": external_id}
                    text = record["description"]
                    method, url, body = "PUT", f"/stakeholders/{external_id}", record
                else:
                    external_id, text = live[0]
                    method, url, body = "DELETE", f"/stakeholders/{external_id}", None
                started = time.perf_counter()
                with self._lock:  # a search sent after this may see the later write instead
                    for earlier in self.writes:
                        if earlier.external_id == external_id and earlier.superseded_at is None:
                            earlier.superseded_at = started
                try:
                    ok = c.request(method, url, json=body).status_code in (200, 201, 204)
                except httpx.HTTPError:
                    ok = False
                acked = time.perf_counter()
                k += 1
                due = max(due + self.interval, acked)  # steady; a slow write delays the next, never bunches them
                if not ok:
                    with self._lock:
                        self.errors += 1
                    continue
                if op == "create":
                    live.append((external_id, text))
                elif op == "update":
                    live[target] = (external_id, text)
                else:
                    live.pop(0)
                write = _Write(op, external_id, text, acked, acked - started, self._version())
                with self._lock:
                    self.writes.append(write)

    def _probe(self) -> None:
        import httpx

        with httpx.Client(base_url=self.server.base, timeout=60, headers={"Connection": "close"}) as c:
            while True:
                with self._lock:
                    open_ = [w for w in self.writes if len(w.seen) < len(self.server.pids) and not w.expired]
                if not open_ and self._written.is_set():
                    return
                if open_:
                    try:
                        health = c.get("/health").json()
                        pid, version = int(health["following"]["process"]), health["snapshot_version"]
                    except (httpx.HTTPError, ValueError, KeyError, TypeError):
                        pid, version = 0, None
                    now = time.perf_counter()
                    with self._lock:
                        for w in open_:
                            if version is not None and version >= w.version and pid in self.server.pids:
                                w.seen.setdefault(pid, now)
                                if len(w.seen) == len(self.server.pids):
                                    self._to_confirm.append(w)
                                    self._confirm_wake.notify_all()
                            elif now - w.acked > self.timeout:
                                w.expired = True
                time.sleep(self.poll)

    def _confirm(self) -> None:
        import httpx

        with httpx.Client(base_url=self.server.base, timeout=120, headers={"Connection": "close"}) as c:
            while True:
                with self._confirm_wake:
                    while not self._to_confirm and not (self._written.is_set() and not self._threads[1].is_alive()):
                        self._confirm_wake.wait(0.2)
                    if not self._to_confirm:
                        return
                    w = self._to_confirm.pop(0)
                    if w.superseded_at is not None:
                        continue  # the id may already hold a later write: this one's text is not the test
                try:
                    response = c.post("/match", json={"text": w.text, "k": 10})
                    found = {m["id"] for m in response.json()["stakeholders"]} if response.status_code == 200 else None
                except (httpx.HTTPError, ValueError, KeyError):
                    found = None
                with self._lock:
                    if found is not None and w.superseded_at is None:
                        w.confirmed = (w.external_id in found) == (w.op != "delete")

    def figures(self) -> dict[str, Any]:
        with self._lock:
            writes = list(self.writes)
        complete = [w for w in writes if len(w.seen) == len(self.server.pids)]
        checked = [w for w in writes if w.confirmed is not None]
        return {
            "writes": len(writes), "errors": self.errors, "interval_s": self.interval,
            "ack": _spread([w.seconds for w in writes]),
            "ack_by_op": {op: _spread([w.seconds for w in writes if w.op == op]) for op in ("create", "update", "delete")},
            # from the acknowledgement until a worker's /health (a request's snapshot) had the write's version
            "visible_first_worker": _spread([min(w.seen.values()) - w.acked for w in complete]),
            "visible_all_workers": _spread([max(w.seen.values()) - w.acked for w in complete]),
            "not_visible": len(writes) - len(complete),
            "search_checked": len(checked), "search_confirmed": sum(bool(w.confirmed) for w in checked),
        }


def bench_mix(server: Server, engine: Any, ids: Sequence[str], vocabulary: dict[str, Any], *, size: int,
              clients: Sequence[int] = (1, 4, 16), seconds: float = 20.0, write_interval: float = 0.5,
              log: Callable[[str], None] = lambda m: None, timeout: float = 120.0) -> dict[str, Any]:
    """For each number of reader clients: partners over HTTP for ``seconds`` without writes, then as
    long again while one writer writes every ``write_interval`` seconds (create, update, delete of
    profiles of its own); the readers' latency in both, each write's acknowledgement and the delay
    until each worker searches it. ``engine`` reads the database's data version after each write."""
    import itertools

    counter = itertools.count()
    warm_up = min(1.0, seconds / 5)
    phases = []
    for n in clients:
        log(f"[{size}] mix: {n} reader clients, {seconds:g} s without writes, then {seconds:g} s with a write "
            f"every {write_interval:g} s")
        with _Readers(server.base, ids, n) as readers:
            time.sleep(warm_up)
            start = time.perf_counter()
            time.sleep(seconds)
            quiet = readers.figures(start, time.perf_counter())
            with _Writer(server, engine, vocabulary, size=size, interval=write_interval, counter=counter,
                         timeout=timeout) as writer:
                start = time.perf_counter()
                time.sleep(seconds)
                writer.stop()
                busy = readers.figures(start, time.perf_counter())
        phases.append({"clients": n, "without_writes": quiet, "with_writes": busy, "writes": writer.figures()})
    return {"workers": server.workers, "workers_seen": len(server.pids), "seconds": seconds,
            "write_interval_s": write_interval, "phases": phases}


def bench_write_cost(service: Any, vocabulary: dict[str, Any], ids: Sequence[str], *, size: int, samples: int,
                     log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """The cost of one write at this size, in process: the write itself through a second service
    object on the same database (as another worker would make it: it does not catch this one up), then
    this service's catch-up to it (what each process's follower does after every write anywhere), then
    the first search on the new snapshot. ``samples`` creates, as many updates of them, then their deletes."""
    from api.schemas import StakeholderIn
    from api.service import DLDMatch

    log(f"[{size}] cost of one write: {samples} creates, updates and deletes, each followed by a catch-up")
    writer = DLDMatch(service.settings, service.embedder)
    service.indexing.catch_up()  # what earlier phases wrote
    rng = random.Random(17)
    timings: dict[str, dict[str, list[float]]] = {op: {"write": [], "catch_up": [], "next_search": []}
                                                 for op in ("create", "update", "delete")}
    made = [_mix_record(vocabulary, size, 500_000 + n) for n in range(samples)]
    made = [{**r, "id": r["id"].replace("synthetic-mix-", "synthetic-cost-")} for r in made]

    def timed(op: str, write: Callable[..., Any], *args: Any) -> None:
        t = time.perf_counter()
        write(*args)
        timings[op]["write"].append(time.perf_counter() - t)
        t = time.perf_counter()
        service.indexing.catch_up()
        timings[op]["catch_up"].append(time.perf_counter() - t)
        t = time.perf_counter()
        service.partners_for_stakeholder(ids[rng.randrange(len(ids))], k=10, min_shared_themes=0)
        timings[op]["next_search"].append(time.perf_counter() - t)

    for record in made:
        timed("create", writer.create, StakeholderIn.model_validate(record))
    for n, record in enumerate(made):
        timed("update", writer.replace,
              StakeholderIn.model_validate({**_mix_record(vocabulary, size, 600_000 + n), "id": record["id"]}))
    for record in made:
        timed("delete", writer.delete, "stakeholder", record["id"])
    writer.close()
    writer.engine.dispose()
    writer.writer.dispose()
    return {op: {k: _spread(v) for k, v in t.items()} for op, t in timings.items()}
