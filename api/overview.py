"""The secretariat's overview: who works on what where (theme x country), the gaps between needs and
offers, and the partnership network; the vocabulary with its counts."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

from sqlmodel import Session, select

from api.core import Part
from api.schemas import ThemeOut
from matcher.vocab import COUNTRIES
from store import repo
from store.models import Participation, Project, Stakeholder


class Overview(Part):
    def overview(self) -> dict[str, Any]:
        """Theme × country counts, gaps between needs and offers, and the partnership network."""
        return self.core.cached("overview", self._build_overview)

    def _build_overview(self) -> dict[str, Any]:
        from matcher.overview import Item, gaps, theme_country_counts, theme_totals

        with Session(self.engine) as session:
            stakeholders = session.exec(select(Stakeholder).order_by(Stakeholder.external_id)).all()
            projects = session.exec(select(Project).order_by(Project.external_id)).all()
            links = repo.participations(session)
        items = [Item(key=f"s:{s.external_id}", name=s.name, themes=tuple(t["id"] for t in s.themes),
                      countries=tuple(s.countries), offers=tuple(o["kind"] for o in s.offers),
                      needs=tuple(n["kind"] for n in s.needs)) for s in stakeholders]
        items += [Item(key=f"p:{p.external_id}", name=p.title, themes=tuple(t["id"] for t in p.themes),
                       countries=tuple(p.countries), needs=tuple(x["kind"] for x in p.seeks)) for p in projects]
        counts = theme_country_counts(items)
        totals = theme_totals(items)
        # The six NEASPEC member States always, then any other country a profile names.
        present = {c for i in items for c in i.countries}
        countries = list(COUNTRIES) + sorted(present - set(COUNTRIES))
        rows = [{"theme": t.id, "label": t.label, "total": totals.get(t.id, 0),
                 "cells": [{"country": c, "count": counts.get((t.id, c), 0)} for c in countries]}
                for t in self.vocabulary.values()]
        names = {i.key: i.name for i in items}
        gap_rows = [{"theme": g.theme, "label": self.vocabulary[g.theme].label, "resources": list(g.resources),
                     "needers": [{"name": names[k], "url": ("/s/" if k.startswith("s:") else "/p/") + k[2:]}
                                 for k in g.needers]}
                    for g in gaps(items, list(self.vocabulary))]
        network = _network(stakeholders, links)
        return {"countries": countries, "rows": rows, "gaps": gap_rows, "network": network,
                "nodes": len(network["nodes"]), "edges": len(network["edges"])}

    def theme_counts(self) -> list[ThemeOut]:
        counts: dict[str, dict[str, int]] = defaultdict(lambda: {"stakeholder": 0, "project": 0})
        with Session(self.engine) as session:
            for themes in session.exec(select(Stakeholder.themes)).all():
                for t in themes:
                    counts[t["id"]]["stakeholder"] += 1
            for themes in session.exec(select(Project.themes)).all():
                for t in themes:
                    counts[t["id"]]["project"] += 1
        return [ThemeOut(id=t.id, label=t.label, definition=t.definition, keywords=list(t.keywords), sdg=t.sdg,
                         labels=dict(t.labels), keywords_by_language={lang: list(w) for lang, w in t.translated},
                         neaspec_areas=list(t.neaspec_areas), stakeholders=counts[t.id]["stakeholder"],
                         projects=counts[t.id]["project"]) for t in self.vocabulary.values()]


def _network(stakeholders: Sequence[Stakeholder], links: Sequence[Participation]) -> dict[str, Any]:
    """Stakeholders that share projects, laid out deterministically (a seeded spring layout)."""
    import networkx as nx

    graph = nx.Graph()
    by_id = {s.id: s for s in stakeholders}
    for a, partners in repo.partners_of(links).items():
        for b in partners:
            if a < b:
                graph.add_edge(a, b)
    if not graph:
        return {"nodes": [], "edges": []}
    pos = nx.spring_layout(graph, seed=7, k=1.2 / max(1, graph.number_of_nodes()) ** 0.5)
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    nodes = []
    for node in sorted(graph.nodes):
        s = by_id[node]
        short = s.aliases[0] if s.aliases and len(s.aliases[0]) < len(s.name) else s.name
        nodes.append({"key": s.external_id, "id": s.external_id, "name": s.name, "short": short[:28], "kind": s.kind,
                      "degree": graph.degree[node], "x": (pos[node][0] - min(xs)) / span_x,
                      "y": (pos[node][1] - min(ys)) / span_y})
    edges = sorted((by_id[a].external_id, by_id[b].external_id) for a, b in graph.edges)
    return {"nodes": nodes, "edges": edges}
