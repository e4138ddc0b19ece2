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
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from api.schemas import MatchRequest
from api.service import DLDMatch, Progress
from api.settings import Settings
from embeddings.base import Embedder
from matcher.metrics import summarise
from evaluation.baselines import Tfidf
from evaluation.vectors import SharedVectors
from matcher.ltr import FEATURES
from matcher.rank import Filters, score_pair

KINDS = {"HES": "academia", "REC": "academia", "PRC": "private", "PUB": "government", "OTH": "cso"}
ROLES = {"coordinator": "lead", "participant": "implementer"}


@dataclass(frozen=True)
class Query:
    project: str
    text: str
    participants: tuple[str, ...]  # the ones given
    countries: tuple[str, ...]  # of the participants given (never the hidden one's)
    target: str
    findable: bool
    also: tuple[str, ...] = ()  # a text-only query (no participant given): its other participants, also right


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
            limit: int | None = None, text_only: bool = False) -> list[Query]:
    """Leave-one-out queries from projects that started in [start, end) with three or more organisations;
    with ``text_only``, also one query per project of its text alone (no participant or country
    given), every participant right: what a user's own question is (for training only)."""
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
        if text_only:
            out.append(Query(p["project_id"], f"{p['title']}. {p['text']}", (), (), members[0], members[0] in before,
                             also=tuple(members[1:])))
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


def evaluate(folder: Path, *, cutoff: str = "2018-01-01", limit: int | None = None, k: int = 50,
             cache: Path, embedder: Embedder, progress: Progress, report_path: Path | None = None,
             ranker: Path | None = Settings().ranker_path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Leave-one-out on the projects from ``cutoff`` on, through ``POST /match``'s code path, beside
    TF-IDF and TF-IDF plus co-participation built from the same projects in the same run (the graph
    weight of the latter chosen on the year before the cut-off, as the service's settings are)."""
    started = time.perf_counter()
    projects, orgs = load(folder)
    log(f"loaded {len(projects)} projects and {len(orgs)} organisations from {folder}")
    shared = SharedVectors(embedder, cache)
    service = service_for(cache, cutoff, shared, to_records(projects, orgs, cutoff), progress, ranker)
    loaded = time.perf_counter()
    qs = queries(projects, orgs, start=cutoff, end="9999", limit=limit)
    log(f"{len(qs)} leave-one-out queries from projects starting on or after {cutoff} "
        f"({sum(q.findable for q in qs)} findable); ranking with {service.ranking.source}")
    earlier = cutoff_before(cutoff, 1)
    graph_weight, tried = Tfidf(projects, orgs, earlier, org_id).choose_graph_weight(
        queries(projects, orgs, start=earlier, end=cutoff, limit=limit))
    log(f"TF-IDF + co-participation: weight {graph_weight} chosen on the queries of [{earlier}, {cutoff}) {tried}")
    baseline = Tfidf(projects, orgs, cutoff, org_id)
    names = ("dldmatch", "tfidf", "tfidf+graph")
    ranks: dict[str, list[int | None]] = {name: [] for name in names}
    recommended: set[str] = set()
    vectors = _embed_queries(service, qs, progress)
    shared.save()
    for n, (q, vector) in enumerate(zip(qs, vectors), start=1):
        ours = rank_service(service, q, k, vector)
        recommended |= set(ours[:10])
        ranks["dldmatch"].append(ours.index(q.target) + 1 if q.target in ours else None)
        text, graph = baseline.scores(q), baseline.co_participation(q)
        for name, ranked in (("tfidf", baseline.ranked(q, text)),
                             ("tfidf+graph", baseline.ranked(q, text + graph_weight * graph))):
            ranks[name].append(ranked.index(q.target) + 1 if q.target in ranked[:k] else None)
        progress("evaluate", n, len(qs))
    service.close()
    findable = [q.findable for q in qs]
    results = {name: {"all": summarise(r, k), "findable": summarise([x for x, f in zip(r, findable) if f], k)}
               for name, r in ranks.items()}
    ratios = {base: {scope: {m: _ratio(results["dldmatch"][scope][m], results[base][scope][m])
                             for m in ("recall@10", "recall@50", "mrr")} for scope in ("all", "findable")}
              for base in ("tfidf", "tfidf+graph")}
    report = {
        "data": str(folder), "cutoff": cutoff, "queries": len(qs), "findable": sum(findable),
        "candidates": len(orgs), "k": k, "ranker": service.ranking.source, "weights": service.ranking.weights,
        # every query names two or more participants: these weights rank them (Ranking.for_query)
        "completing_weights": service.ranking.completing_weights,
        "model": (service.ranking.model.meta.get("data") if service.ranking.model else None),
        "results": results, "ratio_to": ratios, "tfidf+graph_weight": graph_weight,
        "coverage_top10": len(recommended),
        "seconds": {"load_and_embed": round(loaded - started, 1), "total": round(time.perf_counter() - started, 1)},
        "embedder": service.embedder.model_id, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "notes": f"Every ranker counts a target found within its top {k} (recall@50, MRR@{k}).",
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


COMBINATION = {"consortium": 0.62, "themes": 0.08, "complementarity": 0.15, "geography": 0.1, "kinds": 0.05}
"""How the consortium value is combined with what the collaboration data cannot teach (themes, needs
and offers, places): hand-set, until the judged questions fit it (``dldmatch evaluate-questions``)."""
GRID = [{"num_leaves": leaves, "min_data_in_leaf": leaf_rows, "learning_rate": 0.05}
        for leaves in (7, 15, 31) for leaf_rows in (20, 100)]
"""The LambdaMART settings tried; the one with the best nDCG@10 on the later year is kept."""


PROFILE_PARTS = ("themes", "geography", "kinds")
"""The profile components the collaboration data has (CORDIS has no needs and offers, no intent)."""
CONSORTIUM_SHARES = (1.0, 0.9, 0.8, 0.62)
"""The shares of the score given to the consortium value that are tried on the later year (the rest
goes to the profile components in the proportions of :data:`COMBINATION`)."""


def cutoff_before(cutoff: str, years: int) -> str:
    day = date.fromisoformat(cutoff)
    return day.replace(year=day.year - years).isoformat()


def feature_rows(service: DLDMatch, qs: list[Query], progress: Progress, stage: str
                 ) -> tuple[np.ndarray, np.ndarray, list[int], int]:
    """The consortium features of every candidate the service considers for each query (built by the
    same code as ``POST /match``), labelled 1 for the hidden participant. Queries whose target is not
    among the candidates teach a ranker nothing and are left out; how many were kept is returned."""
    blocks, labels, groups, profile_values = [], [], [], []
    vectors = _embed_queries(service, qs, progress)
    snap = service.snapshot()
    for n, (q, vector) in enumerate(zip(qs, vectors), start=1):
        query, text = service.draft_query(_request(q, 50), snap)
        rows, sims, signals, features = service.search.stakeholder_candidates(
            snap, query, vector, text, 50, Filters(exclude=query.partners), features=True)
        right = {f"s:{t}" for t in (q.target, *q.also)}
        label = np.array([snap.corpus.key(r) in right for r in rows], dtype=np.int32)
        if label.any():
            blocks.append(features)
            labels.append(label)
            groups.append(len(rows))
            values = [score_pair(query, snap.corpus.profile(r), 0.0, evidence=False).values for r in rows]
            profile_values.append(np.array([[v[c] for c in PROFILE_PARTS] for v in values]))
        progress(stage, n, len(qs))
    if not blocks:
        return np.zeros((0, len(FEATURES))), np.zeros(0, dtype=np.int32), [], np.zeros((0, len(PROFILE_PARTS)))
    return np.vstack(blocks), np.concatenate(labels), groups, np.vstack(profile_values)


def _mrr(scores: np.ndarray, labels: np.ndarray, groups: list[int], k: int = 50) -> float:
    """MRR@k of the labelled target within each group of candidates (ties counted against it)."""
    total, start = 0.0, 0
    for size in groups:
        s, y = scores[start:start + size], labels[start:start + size]
        rank = int((s > s[y.argmax()]).sum()) + 1
        total += 1.0 / rank if rank <= k else 0.0
        start += size
    return total / max(1, len(groups))


def train(folder: Path, *, cutoff: str = "2018-01-01", cache: Path, embedder: Embedder, progress: Progress,
          output: Path, limit: int | None = None, log: Callable[[str], None] = print,
          text_only: bool = True) -> dict[str, Any]:
    """Learn the consortium model (LightGBM LambdaMART) for a report year starting at ``cutoff``.

    Fitted on the queries of two years before it (profiles and graph from before those), settings
    and the score's calibration chosen on the year just before it (profiles from before that year):
    the report year itself is never seen. ``dldmatch evaluate --cutoff`` then reports on it. With
    ``text_only``, both years also have one query per project of its text alone (every participant
    right), so the model learns to rank without the graph, as it must for a user's own question."""
    import lightgbm
    from sklearn.linear_model import LogisticRegression

    projects, orgs = load(folder)
    fit_from, choose_from = cutoff_before(cutoff, 2), cutoff_before(cutoff, 1)
    shared = SharedVectors(embedder, cache)
    sets = {}
    for name, start, end in (("fit", fit_from, choose_from), ("choose", choose_from, cutoff)):
        service = service_for(cache, start, shared, to_records(projects, orgs, start), progress)
        qs = queries(projects, orgs, start=start, end=end, limit=limit, text_only=text_only)
        log(f"{name}: {len(qs)} queries from projects starting in [{start}, {end}), profiles before {start}"
            + (f" ({sum(1 for q in qs if not q.participants)} of them the text alone)" if text_only else ""))
        X, y, groups, parts = feature_rows(service, qs, progress, name)
        kept = len(groups)
        sets[name] = (X, y, groups, parts, {"profiles_before": start, "queries_from": start, "queries_until": end,
                                     "queries": len(qs), "text_only_queries": sum(1 for q in qs if not q.participants),
                                     "queries_with_target_among_candidates": kept,
                                     "rows": int(len(y))})
        service.close()
    shared.save()
    (X, y, g, _, _), (Xv, yv, gv, Pv, _) = sets["fit"], sets["choose"]
    if not g or not gv:
        raise ValueError(f"no query of [{fit_from}, {cutoff}) has its hidden participant among the candidates: "
                         "too little data to learn from")
    base = {"objective": "lambdarank", "metric": "ndcg", "ndcg_eval_at": [10], "verbose": -1, "seed": 0,
            "deterministic": True, "num_threads": 2, "feature_pre_filter": False, "force_row_wise": True}
    tried = []
    best: tuple[float, Any, dict[str, Any]] | None = None
    for n, setting in enumerate(GRID, start=1):
        fit = lightgbm.Dataset(X, y, group=g, feature_name=list(FEATURES), free_raw_data=False)
        valid = lightgbm.Dataset(Xv, yv, group=gv, reference=fit)
        booster = lightgbm.train({**base, **setting}, fit, num_boost_round=400, valid_sets=[valid],
                                 callbacks=[lightgbm.early_stopping(40, verbose=False)])
        score = float(booster.best_score["valid_0"]["ndcg@10"])
        tried.append({**setting, "rounds": booster.best_iteration, "choose_ndcg@10": round(score, 4)})
        if best is None or score > best[0]:
            best = (score, booster, tried[-1])
        progress("choose settings", n, len(GRID))
    assert best is not None
    score, booster, chosen = best
    raw = booster.predict(Xv, num_iteration=booster.best_iteration)
    platt = LogisticRegression(class_weight="balanced").fit(raw.reshape(-1, 1), yv)
    value = 1.0 / (1.0 + np.exp(-(platt.coef_[0][0] * raw + platt.intercept_[0])))
    rest = {c: COMBINATION[c] for c in PROFILE_PARTS}
    profile_score = Pv @ np.array([rest[c] / sum(rest.values()) for c in PROFILE_PARTS])
    shares = {share: round(_mrr(share * value + (1 - share) * profile_score, yv, gv), 4) for share in CONSORTIUM_SHARES}
    share = max(shares, key=lambda x: (shares[x], -x))
    # needs and offers are not in the collaboration data: they keep their hand-set share; the rest is
    # split between the consortium value and the profile parts as chosen on the later year
    kept = COMBINATION["complementarity"]
    weights = {"consortium": round(share * (1 - kept), 4), "complementarity": kept,
               **{c: round((1 - share) * (1 - kept) * w / sum(rest.values()), 4) for c, w in rest.items()}}
    model_text = booster.model_to_string(num_iteration=booster.best_iteration)
    result = {
        "kind": "lambdamart",
        "features": list(FEATURES),
        "weights": weights,
        "consortium_share_tried": {"choose_mrr@50": shares, "chosen": share},
        "calibration": {"scale": round(float(platt.coef_[0][0]), 6), "shift": round(float(platt.intercept_[0]), 6),
                        "fitted_on": "choose"},
        "settings": chosen, "tried": tried,
        "importance_gain": {f: round(float(v), 1) for f, v in
                            zip(FEATURES, booster.feature_importance("gain", iteration=booster.best_iteration))},
        "data": {"folder": folder.name, "fit": sets["fit"][4], "choose": sets["choose"][4],
                 "report_year_from": cutoff, "report_year_never_seen": True},
        "metrics": {"choose_ndcg@10": round(score, 4)},
        "command": f"dldmatch train --data {folder} --cutoff {cutoff}",
        "model": model_text,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=1) + "\n")
    return result
