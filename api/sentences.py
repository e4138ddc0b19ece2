"""The sentences shown with results: for a shared theme, the sentence of each side that shows it
(by its keywords, the profile's name, or nearest in meaning), and for a result only closeness in
meaning explains, the pair of sentences that say most nearly the same thing. Sentences are embedded
once and kept (``embeddings.cache``), so a search embeds a few dozen at most."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from api.core import Part
from api.corpus import calibrate
from embeddings.cache import SentenceVectors
from matcher.meaning import best_pair
from matcher.rank import Match, Profile
from matcher.themes import Evidence, best_evidence

_PAIRED = 3  # results only closeness in meaning explains, shown with their sentence pair (best first)
_PAIR_SENTENCES = 12  # sentences of each side compared


class Sentences(Part):
    def __init__(self, core: Any) -> None:
        super().__init__(core)
        self.vectors = SentenceVectors(self.embedder)

    def theme_evidence(self, query: Profile, matches: list[Match], by_key: dict[str, Profile]) -> list[Match]:
        """A shared theme that one side's sentences name no keyword of (it was given by hand, or by
        meaning) is shown with that side's name when the name says it, else with its sentence nearest the
        theme's description in meaning, as for profiles in other languages: no shared theme is shown with
        one side's evidence empty, unless that side has no sentence at all. The first :data:`_PAIR_SENTENCES` sentences of a side are compared,
        embedded once (``embeddings.cache``)."""
        def nearest(profile: Profile, theme: str) -> Evidence | None:
            if theme not in self.vocabulary:
                return None
            named = best_evidence([profile.name], self.vocabulary[theme]) if not profile.key.startswith("q:") else None
            if named is not None:  # a title that says it ("Three-North Shelterbelt Programme")
                return named
            shown = list(profile.sentences)[:_PAIR_SENTENCES]
            if not shown:
                return None
            sims = self.vectors(shown) @ self.themes.vector(theme)
            return Evidence(theme=theme, sentence=shown[int(np.argmax(sims))])

        out = []
        for m in matches:
            themes = m.explanation.shared_themes
            if all(t.query_evidence and t.candidate_evidence for t in themes):
                out.append(m)
                continue
            filled = tuple(replace(t, query_evidence=t.query_evidence or nearest(query, t.theme),
                                   candidate_evidence=t.candidate_evidence or nearest(by_key[m.key], t.theme))
                           for t in themes)
            out.append(replace(m, explanation=replace(m.explanation, shared_themes=filled)))
        return out

    def close_pairs(self, query: Profile, matches: list[Match], by_key: dict[str, Profile]) -> list[Match]:
        """The matches that only closeness in meaning explains, with the sentence of each side that says
        most nearly the same thing: the first :data:`_PAIRED` of them, :data:`_PAIR_SENTENCES` sentences
        a side, embedded once (``embeddings.cache``), so a search embeds a few dozen sentences at most.
        The others close in meaning show their standing, beside the reasons they have anyway."""
        floor = getattr(self.embedder, "similarity_floor", 0.0)
        alone = [m for m in matches if m.explanation.closeness is not None and by_key[m.key].sentences
                 and not replace(m.explanation, closeness=None).reason][:_PAIRED]
        if not alone or not query.sentences:
            return matches
        mine = list(query.sentences)[:_PAIR_SENTENCES]
        q_vectors = self.vectors(mine)
        out = {}
        for m in alone:
            theirs = list(by_key[m.key].sentences)[:_PAIR_SENTENCES]
            i, j, cosine = best_pair(q_vectors, self.vectors(theirs))
            shown = replace(m.explanation.closeness, query_sentence=mine[i], candidate_sentence=theirs[j],
                            similarity=round(max(0.0, calibrate(cosine, floor)), 4))
            out[m.key] = replace(m, explanation=replace(m.explanation, closeness=shown))
        return [out.get(m.key, m) for m in matches]
