"""Ranking quality measured on real consortia (CORDIS Horizon 2020), and the training of the ranker.

Protocol (the data folder's README): profiles and the collaboration graph come only from projects that
started before the cut-off; queries are later projects with at least three organisations; one
participant is hidden, the project text and the other participants are the query, and every
organisation is ranked. Queries run through the same code path as ``POST /match``.

The data is loaded through the service's own import path (a format adapter writes the exchange
format) into a database of its own per cut-off, kept in a cache folder: a second run embeds nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from api.schemas import MatchRequest
from api.service import DLDMatch, Progress
from api.settings import Settings
from embeddings.base import Embedder
from matcher.metrics import summarise
from matcher.rank import DEFAULT_WEIGHTS, Filters, score_pair

KINDS = {"HES": "academia", "REC": "academia", "PRC": "private", "PUB": "government", "OTH": "cso"}
ROLES = {"coordinator": "lead", "participant": "implementer"}
LEARNED = ("semantic", "past_projects", "lexical", "themes", "geography", "kinds", "network", "network2",
           "popularity")
"""Components the training data can teach. Needs and offers and the intent are not in it (CORDIS has
no needs and no offers): they keep their default weights."""
POPULARITY_CAP = 0.08  # at most this share of the score, so that the same few actors are not everyone's answer


@dataclass(frozen=True)
class Query:
    project: str
    text: str
    participants: tuple[str, ...]  # the ones given
    countries: tuple[str, ...]  # of the participants given (never the hidden one's)
    target: str
    findable: bool


def org_id(raw: str) -> str:
    """An exchange-format id for a CORDIS organisation id ("PIC:999979888", "NAME:3C PRECON GMBH")."""
    kind, _, rest = raw.partition(":")
    if kind == "PIC":
        return f"pic-{rest}"
    digest = hashlib.sha1(rest.encode()).hexdigest()[:8]
    return f"name-{re.sub(r'[^a-z0-9]+', '-', rest.lower()).strip('-')[:60]}-{digest}"


def load(folder: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    projects = [json.loads(line) for line in (folder / "projects.jsonl").read_text().split("\n") if line.strip()]
    orgs = {o["id"]: o for o in (json.loads(line) for line in (folder / "organisations.jsonl").read_text()
                                                                           .split("\n") if line.strip())}
    return projects, orgs


def to_records(projects: list[dict[str, Any]], orgs: dict[str, dict[str, Any]], cutoff: str) -> list[str]:
    """The exchange-format lines for every organisation and every project before the cut-off."""
    lines = []
    for raw in sorted(orgs):
        o = orgs[raw]
        country = o.get("country")
        lines.append(json.dumps({
            "type": "stakeholder", "id": org_id(raw), "name": o["name"][:300],
            "kind": KINDS.get(o.get("type_code") or o.get("type") or "", "cso"),
            "countries": [country] if country and re.fullmatch(r"[A-Z]{2}", country) else [],
            "aliases": [a[:300] for a in o.get("aliases", [])][:5], "outside_seed": True,
            "sources": [{"url": "https://cordis.europa.eu/", "supports": ["name", "countries", "kind"]}]}))
    for p in projects:
        if p["start_date"] >= cutoff:
            continue
        seen: set[str] = set()
        participants = []
        for part in p["participants"]:
            oid = org_id(part["org_id"])
            if oid not in seen and part["org_id"] in orgs:
                seen.add(oid)
                participants.append({"stakeholder": oid, "role": ROLES.get(part.get("role", ""), "other")})
        lines.append(json.dumps({
            "type": "project", "id": p["project_id"], "title": p["title"][:300],
            "description": p["text"][:20_000], "outside_seed": True,
            "countries": [c for c in p.get("participant_countries", []) if re.fullmatch(r"[A-Z]{2}", c)],
            "start_year": int(p["start_date"][:4]), "participants": participants,
            "sources": [{"url": f"https://cordis.europa.eu/project/id/{p['project_id'].split('-')[-1]}",
                         "supports": ["title", "description", "participants"]}]}))
    return lines


def queries(projects: list[dict[str, Any]], orgs: dict[str, dict[str, Any]], *, start: str, end: str,
            limit: int | None = None) -> list[Query]:
    """Leave-one-out queries from projects that started in [start, end) with three or more organisations."""
    before: set[str] = set()
    for p in projects:
        if p["start_date"] < start:
            before |= {org_id(x["org_id"]) for x in p["participants"]}
    out = []
    for p in sorted(projects, key=lambda x: x["project_id"]):
        if not start <= p["start_date"] < end:
            continue
        members = list(dict.fromkeys(org_id(x["org_id"]) for x in p["participants"] if x["org_id"] in orgs))
        if len(members) < 3:
            continue
        country = {org_id(x["org_id"]): x.get("country") for x in p["participants"]}
        for target in members:
            given = tuple(m for m in members if m != target)
            countries = tuple(sorted({c for m in given if (c := country.get(m)) and re.fullmatch(r"[A-Z]{2}", c)}))
            out.append(Query(p["project_id"], f"{p['title']}. {p['text']}", given, countries, target,
                             target in before))
    if limit is not None and limit < len(out):
        step = len(out) / limit  # an even spread over projects, deterministic
        out = [out[int(n * step)] for n in range(limit)]
    return out


def service_for(cache: Path, cutoff: str, embedder: Embedder, records: list[str], progress: Progress,
                ranker: Path | None = None) -> DLDMatch:
    """The evaluation database for a cut-off, loaded through the import path (nothing is embedded twice)."""
    stamp = cutoff.replace("-", "")
    settings = Settings(database_url=f"sqlite:///{cache / f'cordis-{stamp}.db'}", index_dir=cache / f"index-{stamp}",
                        seed_dir=None, ranker_path=ranker)
    service = DLDMatch(settings, embedder)
    service.start(progress)
    service.import_lines(records, progress)
    return service


def _request(q: Query, k: int) -> MatchRequest:
    return MatchRequest(text=q.text[:20_000], participants=list(q.participants), countries=list(q.countries), k=k,
                        include_projects=False)


def rank_service(service: DLDMatch, q: Query, k: int, vector: np.ndarray | None = None) -> list[str]:
    """The same code path as POST /match: free text plus current participants."""
    return [m.id for m in service.match(_request(q, k), vector=vector).stakeholders]


class TfidfBaseline:
    """TF-IDF of each organisation's pre-cut-off project texts; organisations without any: their name."""

    def __init__(self, projects: list[dict[str, Any]], orgs: dict[str, dict[str, Any]], cutoff: str) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts: dict[str, list[str]] = defaultdict(list)
        for p in projects:
            if p["start_date"] < cutoff:
                for x in p["participants"]:
                    texts[org_id(x["org_id"])].append(f"{p['title']}. {p['text']}")
        names = {org_id(raw): str(o["name"]) for raw, o in orgs.items()}
        self.ids = sorted(names)
        docs = [" ".join(texts[i]) or names[i] for i in self.ids]
        self.vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=1, dtype=np.float32)
        self.matrix = self.vectorizer.fit_transform(docs)
        self.position = {i: n for n, i in enumerate(self.ids)}

    def rank(self, q: Query) -> list[str]:
        scores = np.asarray((self.matrix @ self.vectorizer.transform([q.text]).T).todense()).ravel()
        for m in q.participants:
            scores[self.position[m]] = -np.inf
        order = np.argsort(-scores, kind="stable")
        return [self.ids[i] for i in order if np.isfinite(scores[i])]


def evaluate(folder: Path, *, cutoff: str = "2018-01-01", limit: int | None = None, k: int = 50,
             cache: Path, embedder: Embedder, progress: Progress, report_path: Path | None = None,
             ranker: Path | None = Settings().ranker_path, log: Callable[[str], None] = print) -> dict[str, Any]:
    started = time.perf_counter()
    projects, orgs = load(folder)
    log(f"loaded {len(projects)} projects and {len(orgs)} organisations from {folder}")
    service = service_for(cache, cutoff, embedder, to_records(projects, orgs, cutoff), progress, ranker)
    loaded = time.perf_counter()
    qs = queries(projects, orgs, start=cutoff, end="9999", limit=limit)
    log(f"{len(qs)} leave-one-out queries from projects starting on or after {cutoff} "
        f"({sum(q.findable for q in qs)} findable); ranking with {service.ranking.source} weights")
    baseline = TfidfBaseline(projects, orgs, cutoff)
    ranks: dict[str, list[int | None]] = {"dldmatch": [], "tfidf": []}
    recommended: set[str] = set()
    vectors = _embed_queries(service, qs, progress)
    for n, (q, vector) in enumerate(zip(qs, vectors), start=1):
        ours = rank_service(service, q, k, vector)
        recommended |= set(ours[:10])
        ranks["dldmatch"].append(ours.index(q.target) + 1 if q.target in ours else None)
        theirs = baseline.rank(q)
        ranks["tfidf"].append(theirs.index(q.target) + 1 if q.target in theirs else None)
        progress("evaluate", n, len(qs))
    findable = [q.findable for q in qs]
    results = {name: {"all": summarise(r, k), "findable": summarise([x for x, f in zip(r, findable) if f], k)}
               for name, r in ranks.items()}
    ratios = {scope: {m: _ratio(results["dldmatch"][scope][m], results["tfidf"][scope][m])
                      for m in ("recall@10", "recall@50", "mrr")} for scope in ("all", "findable")}
    report = {
        "data": str(folder), "cutoff": cutoff, "queries": len(qs), "findable": sum(findable),
        "candidates": len(orgs), "k": k, "ranker": service.ranking.source, "weights": service.ranking.weights,
        "results": results, "ratio_to_tfidf": ratios,
        "coverage_top10": len(recommended),
        "seconds": {"load_and_embed": round(loaded - started, 1), "total": round(time.perf_counter() - started, 1)},
        "model": service.embedder.model_id, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "notes": f"MRR counts a target found within the top {k} (MRR@{k}) for dldmatch; the TF-IDF baseline "
                 "ranks every organisation.",
    }
    if report_path:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(json.dumps(report, indent=2))
    return report


def _embed_queries(service: DLDMatch, qs: list[Query], progress: Progress) -> np.ndarray:
    """Each query project's text, embedded once (queries from one project share it), with progress."""
    texts = sorted({q.text[:20_000] for q in qs})
    vectors: dict[str, np.ndarray] = {}
    for start in range(0, len(texts), 64):
        batch = texts[start:start + 64]
        vectors.update(zip(batch, service.embedder.embed(batch)))
        progress("embed queries", start + len(batch), len(texts))
    return np.array([vectors[q.text[:20_000]] for q in qs]) if qs else np.zeros((0, 1))


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else math.inf


def train(folder: Path, *, cutoff: str = "2018-01-01", cache: Path, embedder: Embedder, progress: Progress,
          output: Path, limit: int | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Learn the weights of the ranking from the year before the cut-off only.

    Profiles come from projects before ``cutoff - 1 year``; queries from projects that started in the
    year before the cut-off. Every candidate the service generates is a row of component values,
    labelled 1 for the hidden participant; a logistic regression learns how much each component is
    worth. Weights are kept non-negative (a component never counts against a match) and popularity is
    capped, then saved for the service to load.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    projects, orgs = load(folder)
    year = date.fromisoformat(cutoff)
    train_cutoff = year.replace(year=year.year - 1).isoformat()
    service = service_for(cache, train_cutoff, embedder, to_records(projects, orgs, train_cutoff), progress)
    qs = queries(projects, orgs, start=train_cutoff, end=cutoff, limit=limit)
    log(f"training on {len(qs)} queries from projects starting in [{train_cutoff}, {cutoff}), profiles before "
        f"{train_cutoff}")
    rows: list[list[float]] = []
    labels: list[int] = []
    found = 0
    vectors = _embed_queries(service, qs, progress)
    for n, (q, vector) in enumerate(zip(qs, vectors), start=1):
        for values, label in candidate_rows(service, q, vector):
            rows.append([values[c] for c in LEARNED])
            labels.append(label)
            found += label
        progress("train", n, len(qs))
    X, y = np.array(rows), np.array(labels)
    model = LogisticRegression(max_iter=2000, class_weight="balanced")
    model.fit(X, y)
    raw = dict(zip(LEARNED, model.coef_[0].tolist()))
    positive = {c: max(0.0, w) for c, w in raw.items()}
    total = sum(positive.values()) or 1.0
    shares = {c: w / total for c, w in positive.items()}
    if shares["popularity"] > POPULARITY_CAP:
        rest = 1 - shares["popularity"]
        shares = {c: (POPULARITY_CAP if c == "popularity" else w * (1 - POPULARITY_CAP) / rest)
                  for c, w in shares.items()}
    auc = float(roc_auc_score(y, model.decision_function(X))) if 0 < y.sum() < len(y) else float("nan")
    result = {
        "weights": {c: round(w, 4) for c, w in shares.items()},
        "raw_coefficients": {c: round(w, 4) for c, w in raw.items()},
        "trained_on": {"data": folder.name, "profiles_before": train_cutoff, "queries_from": train_cutoff,
                       "queries_until": cutoff, "queries": len(qs), "rows": len(rows),
                       "targets_among_candidates": found, "training_auc": round(auc, 4)},
        "untrained_components_keep_defaults": sorted(set(DEFAULT_WEIGHTS) - set(LEARNED)),
        "command": f"dldmatch train --data {folder} --cutoff {cutoff}",
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    return result


def candidate_rows(service: DLDMatch, q: Query, vector: np.ndarray) -> Iterable[tuple[dict[str, float], int]]:
    """Component values of every candidate the service would consider for a query, with its label.
    The query is built by the same code as ``POST /match``."""
    query, text = service.draft_query(_request(q, 50))
    rows, sims, signals = service.search.stakeholder_candidates(service.snapshot(), query, vector, text, 50, Filters())
    corpus = service.snapshot().corpus
    target = f"s:{q.target}"
    for row in rows:
        candidate = corpus.profile(row)
        key = candidate.key
        if key in query.partners:
            continue
        match = score_pair(query, candidate, sims.get(key, 0.0), evidence=False, signals=signals.get(key))
        yield match.values, int(key == target)
