"""Reading a question: the profile a free text stands for (``POST /match``), and a stored profile
narrowed by what a partner search is for (its purpose, on the partner routes). Themes, needs and
offers come from the text's words in six languages, places from the gazetteer and the stored
profiles' place names, countries from those it names, and where the asker is from what it says of
itself."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from sqlmodel import Session, select

from api.core import Part, entity_key, stored_evidence
from api.errors import InvalidInput
from api.i18n import N_
from api.indexing import Snapshot
from api.schemas import MatchRequest
from embeddings.texts import project_text
from matcher.gazetteer import countries_in, home_countries, places_in
from matcher.rank import DUST_AFFECTED, DUST_SOURCES, Place, Profile
from matcher.text import keyword_hits, normalise_place, sentences
from matcher.vocab import infer_needs, infer_offers, kinds_asked
from store import repo
from store.models import Project, Stakeholder

PURPOSE_MAX = 1000  # characters of a partner search's purpose


@dataclass(frozen=True)
class Read:
    """What a text says beyond its themes: needs, offers, places, countries, and where the asker says
    it is."""

    needs: list[str]
    offers: list[str]
    places: list[Place]
    countries: list[str]
    home: tuple[str, ...]


def purpose_of(purpose: str | None) -> str | None:
    """A search's purpose as given (blank: none), or a 422 that names the field."""
    text = " ".join((purpose or "").split())
    if len(text) > PURPOSE_MAX:
        raise InvalidInput(N_("invalid query"), errors=[
            {"field": "purpose", "message": f"the purpose is {len(text)} characters long; at most {PURPOSE_MAX}"}])
    if "\x00" in text:
        raise InvalidInput(N_("invalid query"), errors=[
            {"field": "purpose", "message": "the purpose contains a NUL character"}])
    return text or None


class Reading(Part):
    def read(self, text: str, snap: Snapshot | None = None) -> Read:
        """The needs, offers, places and countries a text names, and the countries it says the
        asker is of or in ("We're a Japanese firm"), not those it asks about ("projects in Mongolia?").
        A home on both sides of the path of dust and sandstorms says nothing of which side it is on."""
        home = tuple(home_countries(text))
        if set(home) & DUST_SOURCES and set(home) & DUST_AFFECTED:
            home = ()
        return Read(needs=infer_needs(text), offers=infer_offers(text), places=self.places_in(text, snap),
                    countries=list(dict.fromkeys(countries_in(text, via_places=True))), home=home)

    def draft_query(self, request: MatchRequest, snap: Snapshot | None = None) -> tuple[Profile, str]:
        """The profile and the text a free-text query stands for: themes, needs and offers read from the
        text (unless given), places it names, its participants and their partners."""
        snap = snap or self.core.snapshot()
        unknown = [t for t in request.themes if t not in self.vocabulary]
        if unknown:
            raise InvalidInput(N_("unknown theme"), errors=[{"field": "themes", "message": f"unknown theme {t!r}"}
                                                        for t in unknown])
        with Session(self.engine) as session:
            found = repo.stakeholders_by_external_id(session, external_ids=request.participants)
        missing = [p for p in request.participants if p not in found]
        if missing:
            raise InvalidInput(N_("unknown participant"), errors=[
                {"field": f"participants.{request.participants.index(p)}",
                 "message": f"no stakeholder with id {p!r}"} for p in missing])
        title = request.title or "Draft project"
        text = project_text(title, request.text) if request.title else request.text
        read = self.read(request.text, snap)
        assigned = self.themes.for_text(text, list(request.themes))
        needs = list(request.needs) if request.needs is not None else read.needs
        offers = list(request.offers) if request.offers is not None else read.offers
        places = [Place(p.name, p.lat, p.lon) for p in request.places] or read.places
        # Countries given are where the asker is; of those a text names, only those it says it is of or in.
        countries = list(request.countries) or read.countries
        members = frozenset(entity_key("stakeholder", p) for p in request.participants)
        query = Profile(key="q:draft", name=title, kind="project", countries=tuple(countries),
                        own_countries=bool(request.countries), home=() if request.countries else read.home,
                        places=tuple(places), themes=tuple(t["id"] for t in assigned), needs=tuple(needs),
                        offers=tuple(offers), partners=members,
                        sentences=tuple(sentences(request.text)), evidence=stored_evidence(assigned))
        return self.with_second_partners(query, snap), text

    def with_purpose(self, query: Profile, vector: np.ndarray, purpose: str,
                     snap: Snapshot | None = None) -> tuple[Profile, np.ndarray, str, dict]:
        """A stored profile narrowed by what the search is for ("for the dust and sandstorm round-table",
        "partners who can train herders in erosion control"): the themes, needs, places and countries the
        purpose names stand in for the profile's own (those it does not name stay the profile's); when it
        names themes, the evidence shown for them is its own sentences (and is said to be), else its
        sentences come before the profile's; its
        offers are not the profile's (they say what the partner is to offer); the vector is the mean of
        the profile's and the purpose's, and the text searched for words is the purpose, then the
        profile. Also what was read, to show it, with the kinds of organisation it asks for ("which
        NGOs"), which the caller keeps to unless it was given kinds."""
        read = self.read(purpose, snap)
        assigned = self.themes.for_text(purpose, [], named_only=True)
        themes = [t["id"] for t in assigned]
        named_countries = [c for c in read.countries if c]
        own = sentences(purpose) or [purpose]
        sought = infer_offers(purpose, by_others=True)
        narrowed = replace(
            query, themes=tuple(themes) or query.themes,
            evidence=stored_evidence(assigned) if themes else query.evidence,
            # what the partner is to offer is a need of the search ("NGOs that provide training"); the
            # offers stay the profile's
            needs=tuple(dict.fromkeys([*read.needs, *sought])) or query.needs,
            places=tuple(read.places) or query.places,
            # the countries named are where the work is to be; the profile's own stay where it is
            countries=tuple(named_countries) or query.countries,
            own_countries=not named_countries and query.own_countries,
            home=query.countries if named_countries and query.own_countries else query.home,
            # the themes it names are shown with its own sentences; else the profile's sentences may show
            # the profile's themes, after the purpose's
            sentences=tuple(own) if themes else tuple(dict.fromkeys([*own, *query.sentences])))
        purpose_vector = self.embedder.embed([purpose])[0]
        mean = np.asarray(vector, dtype=np.float32) + np.asarray(purpose_vector, dtype=np.float32)
        mean /= float(np.linalg.norm(mean)) or 1.0
        text = " ".join((purpose, query.name, *query.sentences))
        shown = {"kinds": kinds_asked(purpose), "themes": themes, "needs": list(dict.fromkeys([*read.needs, *sought])),
                 "places": [p.name for p in read.places], "countries": named_countries,
                 # the sentences of the purpose, as they may be shown (a theme's is read with ё as е): what
                 # is shown from them is the purpose's, never the profile's
                 "sentences": list(dict.fromkeys([*own, *(sentence for _, sentence in stored_evidence(assigned))]))}
        return narrowed, mean, text, shown

    def with_second_partners(self, query: Profile, snap: Snapshot) -> Profile:
        """The query with the partners of its partners, from the corpus."""
        corpus = snap.corpus
        second = frozenset(q for partner in query.partners for q in corpus.partner_keys(partner))
        return replace(query, partners2=second - query.partners - {query.key})

    def places_in(self, text: str, snap: Snapshot | None = None) -> list[Place]:
        """The places a free text names, in any of the six languages: the gazetteer's (provinces, aimags,
        deserts, basins, towns; countries are read apart) and the stored profiles' place names."""
        named = [Place(p.name, p.lat, p.lon) for p in places_in(text) if p.kind != "country"]
        seen = {normalise_place(p.name) for p in named}
        return named + [Place(n) for n in self._stored_places_in(text, snap) if normalise_place(n) not in seen]

    def _stored_places_in(self, text: str, snap: Snapshot | None = None) -> list[str]:
        """Stored place names that a free text mentions (so "in the Gobi" finds partners in the Gobi)."""
        def build() -> dict[str, str]:
            with Session(self.engine) as session:
                names = [p["name"] for places in session.exec(select(Stakeholder.places)).all() for p in places]
                names += [p["name"] for places in session.exec(select(Project.places)).all() for p in places]
            return {normalise_place(n): n for n in sorted(set(names))}

        known: dict[str, str] = self.core.cached("places", build, snap)
        found = []
        for short, name in known.items():
            if short and (keyword_hits(text, [name]) or keyword_hits(text, [short])):
                found.append(name)
        return found
