"""Resource-pooling opportunities: groups of three or more stakeholders and projects that work on the
same themes, in the same area or along the same chain, and whose offers cover each other's needs.

Pure: profiles and vectors in, ranked and explained groups out.

1. Cluster (scikit-learn agglomerative clustering, deterministic) on a feature vector that joins the
   text embedding, the themes and the countries, so that members are close in what they do and where.
2. Inside each cluster, choose members greedily: start from the member with the most needs, then add
   whoever covers most of the group's uncovered needs while sharing a theme with it; stop at
   ``max_size`` or when nothing more is covered.
3. Score a group by how much of its needs it covers, how cohesive its themes and places are, and how
   varied its kinds of actor are; explain it with data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import AgglomerativeClustering

from matcher.rank import Profile
from matcher.text import normalise_place
from matcher.themes import Evidence, Theme, evidence_for

POOL_WEIGHTS = {"coverage": 0.45, "themes": 0.25, "place": 0.15, "diversity": 0.15}


@dataclass(frozen=True)
class Member:
    key: str
    brings: tuple[str, ...]  # its offers that meet another member's need
    needs: tuple[str, ...]
    met: tuple[str, ...]  # its needs another member offers
    evidence: tuple[Evidence, ...]  # its sentence for each shared theme


@dataclass(frozen=True)
class Group:
    members: tuple[Member, ...]
    score: float
    components: dict[str, float]
    shared_themes: tuple[str, ...]
    shared_countries: tuple[str, ...]
    shared_places: tuple[str, ...]
    uncovered: tuple[str, ...]
    funding_sought: dict[str, float] = field(default_factory=dict)  # currency -> total

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(m.key for m in self.members)


def _offers(p: Profile) -> set[str]:
    return set() if p.kind == "project" else set(p.offers)


def _features(profiles: list[Profile], vectors: np.ndarray, theme_ids: list[str], countries: list[str]) -> np.ndarray:
    """Embedding, themes and countries side by side, each block scaled to unit length."""
    def block(rows: list[list[float]]) -> np.ndarray:
        m = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        norms[norms == 0] = 1
        return m / norms

    themes = block([[1.0 if t in p.themes else 0.0 for t in theme_ids] for p in profiles])
    where = block([[1.0 if c in p.countries else 0.0 for c in countries] for p in profiles])
    return np.hstack([vectors.astype(np.float32), 1.2 * themes, 0.6 * where])


def cluster(profiles: list[Profile], vectors: np.ndarray, *, size: int = 8) -> list[list[int]]:
    """Indices of profiles grouped by similarity of text, themes and countries; clusters of two or more."""
    if len(profiles) < 3:
        return [list(range(len(profiles)))] if profiles else []
    theme_ids = sorted({t for p in profiles for t in p.themes})
    countries = sorted({c for p in profiles for c in p.countries})
    features = _features(profiles, vectors, theme_ids, countries)
    n_clusters = max(1, round(len(profiles) / size))
    labels = AgglomerativeClustering(n_clusters=n_clusters, metric="cosine", linkage="average").fit_predict(features)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    return sorted((g for g in groups.values() if len(g) >= 2), key=lambda g: min(profiles[i].key for i in g))


def choose_members(pool: list[Profile], *, seed: Profile | None = None, max_size: int = 6) -> list[Profile]:
    """Greedy complementary selection inside one cluster (ties broken by key, so deterministic)."""
    remaining = sorted(pool, key=lambda p: p.key)
    if not remaining:
        return []
    first = seed or max(remaining, key=lambda p: (len(set(p.needs)), len(p.themes), [-ord(c) for c in p.key]))
    chosen = [first]
    remaining = [p for p in remaining if p.key != first.key]
    while remaining and len(chosen) < max_size:
        needed = {n for p in chosen for n in p.needs} - {o for p in chosen for o in _offers(p)}
        group_themes = Counter(t for p in chosen for t in p.themes)

        def gain(p: Profile) -> tuple[float, str]:
            covers = len(needed & _offers(p))
            shared = sum(1 for t in p.themes if group_themes[t])
            # reciprocity: a member whose own needs the group can meet is a better fit
            served = len(set(p.needs) & {o for q in chosen for o in _offers(q)})
            return (covers * 2 + served + 0.5 * min(shared, 3) if shared else -1.0, p.key)

        best = max(remaining, key=lambda p: (gain(p)[0], [-ord(c) for c in p.key]))
        best_gain = gain(best)[0]
        if best_gain <= 0 or (len(chosen) >= 3 and not (needed & _offers(best)) and not
                              (set(best.needs) & {o for q in chosen for o in _offers(q)})):
            break
        chosen.append(best)
        remaining = [p for p in remaining if p.key != best.key]
    return chosen


def describe(members: list[Profile], vocabulary: dict[str, Theme],
             funding: dict[str, tuple[float, str]] | None = None) -> Group:
    """Score and explain a group of profiles."""
    funding = funding or {}
    n = len(members)
    theme_counts = Counter(t for p in members for t in set(p.themes))
    shared_themes = tuple(sorted((t for t, c in theme_counts.items() if c >= 2), key=lambda t: (-theme_counts[t], t)))
    country_counts = Counter(c for p in members for c in set(p.countries))
    shared_countries = tuple(sorted(c for c, k in country_counts.items() if k >= 2))
    place_names: dict[str, str] = {}
    place_counts: Counter[str] = Counter()
    for p in members:
        for norm in {normalise_place(pl.name) for pl in p.places}:
            place_counts[norm] += 1
        for pl in p.places:
            place_names.setdefault(normalise_place(pl.name), pl.name)
    shared_places = tuple(sorted(place_names[k] for k, c in place_counts.items() if c >= 2))

    offered_by: dict[str, set[str]] = {}
    for p in members:
        for o in _offers(p):
            offered_by.setdefault(o, set()).add(p.key)
    all_needs = [(p.key, need) for p in members for need in dict.fromkeys(p.needs)]
    covered = [(k, need) for k, need in all_needs if offered_by.get(need, set()) - {k}]
    uncovered = tuple(sorted({need for k, need in all_needs if not offered_by.get(need, set()) - {k}}))
    needs_of_others = {p.key: {need for k, need in all_needs if k != p.key} for p in members}

    out_members = []
    for p in members:
        brings = tuple(sorted(_offers(p) & needs_of_others[p.key]))
        met = tuple(n_ for n_ in dict.fromkeys(p.needs) if offered_by.get(n_, set()) - {p.key})
        evidence = tuple(e for t in shared_themes if t in p.themes and t in vocabulary
                         and (e := evidence_for(list(p.sentences), vocabulary[t], dict(p.evidence))) is not None)
        out_members.append(Member(p.key, brings, tuple(dict.fromkeys(p.needs)), met, evidence))

    values = {
        "coverage": len(covered) / len(all_needs) if all_needs else 0.0,
        "themes": min(1.0, sum(theme_counts[t] / n for t in shared_themes[:3]) / 3) if shared_themes else 0.0,
        "place": 1.0 if shared_places else (0.5 if shared_countries else 0.0),
        "diversity": min(1.0, (len({p.kind for p in members}) - 1) / 3),
    }
    components = {k: round(POOL_WEIGHTS[k] * v, 6) for k, v in values.items()}
    totals: dict[str, float] = {}
    for p in members:
        if p.key in funding:
            amount, currency = funding[p.key]
            totals[currency] = totals.get(currency, 0.0) + amount
    return Group(members=tuple(out_members), score=round(sum(components.values()), 6), components=components,
                 shared_themes=shared_themes, shared_countries=shared_countries, shared_places=shared_places,
                 uncovered=uncovered, funding_sought=totals)


def independent_actors(members: list[Profile]) -> int:
    """Stakeholders in the group, plus projects none of whose participants is in it: an organisation
    with only its own projects is one actor, not a pool."""
    keys = {p.key for p in members}
    return sum(1 for p in members if p.kind != "project" or not (p.partners & keys))


def find_groups(profiles: list[Profile], vectors: np.ndarray, vocabulary: dict[str, Theme], *,
                funding: dict[str, tuple[float, str]] | None = None, min_size: int = 3, max_size: int = 6,
                cluster_size: int = 8, neighbours: int = 10) -> list[Group]:
    """All pooling opportunities, best first. Deterministic for the same data.

    Every member with needs seeds a group, chosen from its cluster and its nearest neighbours; a group
    is kept when it has at least two independent actors, shares a theme, and meets at least one need.
    """
    order = sorted(range(len(profiles)), key=lambda i: profiles[i].key)
    profiles = [profiles[i] for i in order]
    if len(profiles) < min_size:
        return []
    vectors = vectors[order]
    theme_ids = sorted({t for p in profiles for t in p.themes})
    countries = sorted({c for p in profiles for c in p.countries})
    features = _features(profiles, vectors, theme_ids, countries)
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    label = {}
    for n, indices in enumerate(cluster(profiles, vectors, size=cluster_size)):
        for i in indices:
            label[i] = n
    groups: dict[tuple[str, ...], Group] = {}
    for i, seed in enumerate(profiles):
        if not seed.needs:
            continue
        near = np.argsort(-(features @ features[i]), kind="stable")[: neighbours + 1]
        pool_idx = {int(j) for j in near} | {j for j, lab in label.items() if lab == label.get(i, -1)}
        pool = [profiles[j] for j in sorted(pool_idx)]
        members = choose_members(pool, seed=seed, max_size=max_size)
        if len(members) < min_size or independent_actors(members) < 2:
            continue
        group = describe(members, vocabulary, funding)
        if not group.shared_themes or group.components["coverage"] == 0:
            continue
        groups.setdefault(tuple(sorted(group.keys)), group)
    return sorted(groups.values(), key=lambda g: (-g.score, g.keys))


def could_join(candidate: Profile, group_members: list[Profile], vocabulary: dict[str, Theme],
               funding: dict[str, tuple[float, str]] | None = None) -> Group | None:
    """The group with the candidate added, when it shares a group theme and meets or has a need there."""
    before = describe(group_members, vocabulary, funding)
    if not set(candidate.themes) & set(before.shared_themes):
        return None
    fills = set(before.uncovered) & _offers(candidate)
    served = set(candidate.needs) & {o for p in group_members for o in _offers(p)}
    if not fills and not served:
        return None
    return describe([*group_members, candidate], vocabulary, funding)
