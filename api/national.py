"""A national view (issue 16, item 7): per member State, its actors, projects, partnerships, land
degradation neutrality commitments, its place on the path of dust and sandstorms and (for the
secretariat) what introductions became; each fact with its source, downloadable as rows that help
prepare a UNCCD national report.

The commitments and roles are ``seed_profiles/countries.json``: what the seed documents state, with
document and paragraph. Actors and projects are those whose ``countries`` include the country;
partnerships are the pairs of organisations that take part in one of its projects together."""

from __future__ import annotations

import json
from collections import defaultdict
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Iterable

from api.errors import NotFound
from api.i18n import gettext
from api.settings import SEED_PROFILES
from matcher.vocab import COUNTRIES

FACTS = SEED_PROFILES / "countries.json"
MAX_ROWS = 10_000  # actors or projects of one country read at most


@lru_cache(maxsize=4)
def country_facts(path: Path = FACTS) -> dict[str, dict[str, Any]]:
    """Each member State's stated facts (LDN commitments, dust-and-sandstorm role), by ISO code."""
    return dict(json.loads(path.read_text(encoding="utf-8"))["countries"])


def cite(source: dict[str, Any], lang: str = "en") -> str:
    """A source in words: "seed document 001, paragraph 8" or its address.

    Example:
        >>> cite({"doc": "001_a1f3c8361a1c9f7c.txt", "para": "8"}), cite({"url": "https://unccd.int/x"})
        ('seed document 001, paragraph 8', 'https://unccd.int/x')
    """
    if source.get("doc"):
        _ = partial(gettext, lang)
        return _("seed document %(doc)s, paragraph %(para)s", doc=source["doc"][:3], para=source.get("para", "?"))
    return str(source.get("url", ""))


class National:
    def __init__(self, catalogue: Any, outcomes: Any) -> None:
        self.catalogue, self.outcomes = catalogue, outcomes

    def _label(self, theme: str) -> str:
        found = self.catalogue.vocabulary.get(theme)
        return found.label if found else theme

    def view(self, code: str, *, with_outcomes: bool = False) -> dict[str, Any]:
        code = code.upper()
        if code not in COUNTRIES:
            raise NotFound(f"no national view for {code[:10]!r}: choose one of {', '.join(COUNTRIES)}")
        facts = country_facts().get(code, {})
        actors = self.catalogue.list_stakeholders(country=code, limit=MAX_ROWS).items
        projects = self.catalogue.list_projects(country=code, limit=MAX_ROWS).items
        pairs: dict[tuple[str, str], list[str]] = defaultdict(list)
        names: dict[str, str] = {}
        for p in projects:
            for x in p.participants:
                names[x.id] = x.name
            ids = sorted({x.id for x in p.participants})
            for i, a in enumerate(ids):
                for b in ids[i + 1:]:
                    pairs[(a, b)].append(p.id)
        titles = {p.id: p.title for p in projects}
        funnel = None
        if with_outcomes:
            whole = self.outcomes.funnel()
            funnel = whole["by"]["country"].get(code, dict.fromkeys(whole["stages"], 0))
        return {
            "country": {"code": code, "name": COUNTRIES[code]},
            "dust_and_sandstorms": facts.get("dust_and_sandstorms"),
            "ldn": list(facts.get("ldn", [])),
            "actors": [{"id": s.id, "name": s.name, "kind": s.kind, "themes": [self._label(t.id) for t in s.themes],
                        "self_declared": s.self_declared, "sources": [s_.model_dump() for s_ in s.sources]}
                       for s in actors],
            "projects": [{"id": p.id, "title": p.title, "status": p.status, "start_year": p.start_year,
                          "end_year": p.end_year, "participants": [{"id": x.id, "name": x.name, "role": x.role}
                                                                   for x in p.participants],
                          "sources": [s.model_dump() for s in p.sources]} for p in projects],
            "partnerships": [{"a": {"id": a, "name": names[a]}, "b": {"id": b, "name": names[b]},
                              "projects": [{"id": i, "title": titles[i]} for i in ids]}
                             for (a, b), ids in sorted(pairs.items())],
            "outcomes": funnel,
        }


HEADER = ("section", "id", "name", "detail", "source")


def rows(view: dict[str, Any]) -> list[list[Any]]:
    """The view as rows (section, id, name, detail, source), for a CSV or XLSX download."""
    out: list[list[Any]] = []
    name = view["country"]["name"]
    if view["dust_and_sandstorms"]:
        d = view["dust_and_sandstorms"]
        out.append(["dust and sandstorms", view["country"]["code"], name, f"{d['role']}: {d['text']}", cite(d["source"])])
    for fact in view["ldn"]:
        out.append(["LDN and SDG 15.3", view["country"]["code"], name, f"{fact['kind']}: {fact['text']}",
                    cite(fact["source"])])
    for a in view["actors"]:
        out.append(["actor", a["id"], a["name"], f"{a['kind']}; themes: {', '.join(a['themes'])}"
                    + ("; self-declared" if a["self_declared"] else ""), _sources(a["sources"])])
    for p in view["projects"]:
        years = f"{p['start_year'] or '?'}-{p['end_year'] or ''}" if p["start_year"] or p["end_year"] else ""
        out.append(["project", p["id"], p["title"], "; ".join(x for x in (
            p["status"] or "status unknown", years,
            ", ".join(f"{x['name']} ({x['role']})" for x in p["participants"])) if x), _sources(p["sources"])])
    for pair in view["partnerships"]:
        out.append(["partnership", f"{pair['a']['id']}+{pair['b']['id']}", f"{pair['a']['name']} and {pair['b']['name']}",
                    "together in " + "; ".join(x["title"] for x in pair["projects"]), "the projects' sources"])
    if view["outcomes"]:
        out.append(["introductions", view["country"]["code"], name,
                    "; ".join(f"{k} {v}" for k, v in view["outcomes"].items()), "dldmatch outcomes"])
    return out


def _sources(sources: Iterable[dict[str, Any]]) -> str:
    return "; ".join(cite(s) for s in sources)
