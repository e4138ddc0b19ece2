"""DLD themes: the vocabulary's shape, automatic assignment from text, and evidence sentences."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import numpy as np

from matcher.text import could_match, cue_pattern, keyword_hits, keyword_last_forms, sentences, words_of


@dataclass(frozen=True)
class Theme:
    id: str
    label: str
    definition: str
    keywords: tuple[str, ...]
    sdg: str = ""
    neaspec_areas: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()  # (language, label) in the region's other languages
    translated: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (language, keywords): see cue_pattern

    def label_in(self, language: str) -> str:
        """The theme's label in a language (a BCP 47 tag such as "zh" or "mn-MN"), English otherwise."""
        return dict(self.labels).get(language.split("-")[0].lower(), self.label)

    def other_keywords(self) -> tuple[str, ...]:
        """The keywords a text in another script can show: those of every other language, and the
        English ones that are acronyms or figures ("LDN", "GIS", "15.3"), which such texts keep."""
        acronyms = tuple(k for k in self.keywords if k == k.upper() and any(c.isalnum() for c in k))
        return tuple(dict.fromkeys(k for _, words in self.translated for k in words)) + acronyms


@dataclass(frozen=True)
class ThemeAssignment:
    theme: str
    confidence: float
    source: str  # "auto" (assigned from text) or "manual" (set by a person)


@dataclass(frozen=True)
class Evidence:
    theme: str
    sentence: str
    keywords: tuple[str, ...] = field(default_factory=tuple)


def assign_themes(text: str, vocabulary: list[Theme], *, min_confidence: float = 0.5) -> list[ThemeAssignment]:
    """Themes a text is about, from the keywords it uses, most confident first.

    Confidence grows with the number of distinct keywords and the number of sentences that show the
    theme: one keyword in one sentence gives 0.5, three or more sentences with several keywords
    approach 1. Ties are broken by theme id, so the result is deterministic.

    Example:
        >>> t = Theme("sand_fixation", "Sand fixation", "", ("sand fixation", "dune"))
        >>> assign_themes("Dune fixing. Sand fixation in Kubuqi.", [t])[0].confidence
        0.82
    """
    parts: list[str] | None = None
    out: list[ThemeAssignment] = []
    candidates = _candidate_keywords(tuple(vocabulary), words_of(text))
    for theme in vocabulary:
        # Word lookups first: most themes are absent from most texts, and most keywords too.
        possible = tuple(k for k in theme.keywords if k in candidates.get(theme.id, ()))
        if not possible:
            continue
        parts = parts if parts is not None else sentences(text)
        distinct: set[str] = set()
        showing = 0
        for sentence in parts:
            hits = keyword_hits(sentence, possible)
            if hits:
                showing += 1
                distinct.update(hits)
        if not distinct:
            continue
        strength = len(distinct) + (showing - 1)
        confidence = round(1.0 - 0.5 * math.exp(-0.5 * (strength - 1)), 2)
        if confidence >= min_confidence:
            out.append(ThemeAssignment(theme.id, confidence, "auto"))
    out.sort(key=lambda a: (-a.confidence, a.theme))
    return out


def assign_themes_in_any_language(text: str, vocabulary: list[Theme], *, min_confidence: float = 0.5
                                  ) -> list[tuple[ThemeAssignment, str]]:
    """Themes of a text in Chinese, Japanese, Korean, Russian or Mongolian from each theme's keywords
    in those languages (:meth:`Theme.other_keywords`), each with the sentence showing most of them;
    confidence as in :func:`assign_themes`, most confident first.

    Example:
        >>> t = Theme("trees", "Afforestation", "", ("shelterbelt",), translated=(("zh", ("防护林", "植树")),))
        >>> [(a.theme, a.confidence, s) for a, s in assign_themes_in_any_language(
        ...     "我们在库布其沙漠边缘植树。我们还在阿拉善建设防护林和林带。", [t])]
        [('trees', 0.82, '我们在库布其沙漠边缘植树。')]
    """
    parts = sentences(text.replace("ё", "е").replace("Ё", "Е")) or [text]
    out = []
    for theme in vocabulary:
        patterns = [(k, cue_pattern(k)) for k in theme.other_keywords()]
        distinct: set[str] = set()
        showing, best, best_hits = 0, "", 0
        for sentence in parts:
            hits = {k for k, pattern in patterns if pattern.search(sentence)}
            if hits:
                showing += 1
                distinct |= hits
                if len(hits) > best_hits:
                    best, best_hits = sentence, len(hits)
        if not distinct:
            continue
        strength = len(distinct) + (showing - 1)
        confidence = round(1.0 - 0.5 * math.exp(-0.5 * (strength - 1)), 2)
        if confidence >= min_confidence:
            out.append((ThemeAssignment(theme.id, confidence, "auto"), best))
    out.sort(key=lambda a: (-a[0].confidence, a[0].theme))
    return out


# Themes by meaning: calibrated cosine (0 = unrelated text, 1 = identical) of a sentence to a theme's
# description above which the sentence shows the theme, and how far below the best theme of the text a
# theme may be. Chosen on the seed translations against the keyword themes of the English originals
# (`dldmatch evaluate-embedding-languages` reports the agreement).
MEANING_THRESHOLD = 0.33
MEANING_MARGIN = 0.1


def themes_by_meaning(parts: Sequence[str], similarity: np.ndarray, theme_ids: Sequence[str], *,
                      threshold: float = MEANING_THRESHOLD, margin: float = MEANING_MARGIN
                      ) -> list[tuple[ThemeAssignment, str]]:
    """Themes of a text its keywords cannot show (a text in another language than the vocabulary),
    from the similarity of each of its sentences to each theme's description (calibrated cosines,
    sentences × themes); each theme with the sentence that shows it best. A theme is kept when one
    sentence comes within ``margin`` of the text's best theme and reaches ``threshold``; the best
    theme is always kept, so every text has one.

    Example:
        >>> sims = np.array([[0.5, 0.1], [0.2, 0.49]])
        >>> [(a.theme, a.confidence, s) for a, s in themes_by_meaning(["a", "b"], sims, ["x", "y"], margin=0.05)]
        [('x', 0.5, 'a'), ('y', 0.49, 'b')]
    """
    if not len(parts):
        return []
    best_row = similarity.argmax(axis=0)
    best = similarity.max(axis=0)
    top = float(best.max())
    keep = [j for j in range(len(theme_ids)) if best[j] >= threshold and best[j] >= top - margin]
    keep = keep or [int(best.argmax())]
    out = [(ThemeAssignment(theme_ids[j], round(float(min(1.0, max(0.0, best[j]))), 2), "auto"),
            parts[int(best_row[j])]) for j in keep]
    out.sort(key=lambda a: (-a[0].confidence, a[0].theme))
    return out


@lru_cache(maxsize=8)
def _anchors(vocabulary: tuple[Theme, ...]) -> dict[str, list[tuple[str, str]]]:
    """Each form a keyword's last word can take in a text -> (theme, keyword)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for theme in vocabulary:
        for keyword in theme.keywords:
            for form in keyword_last_forms(keyword):
                out.setdefault(form, []).append((theme.id, keyword))
    return out


def _candidate_keywords(vocabulary: tuple[Theme, ...], words: frozenset[str]) -> dict[str, set[str]]:
    """The keywords of each theme that could match a text with these words (see ``could_match``)."""
    found: dict[str, set[str]] = {}
    anchors = _anchors(vocabulary)
    for word in words:
        for theme, keyword in anchors.get(word, ()):
            if could_match(keyword, words):
                found.setdefault(theme, set()).add(keyword)
    return found


def merge_assignments(manual: list[str], auto: list[ThemeAssignment]) -> list[ThemeAssignment]:
    """Manual themes win; automatic ones fill in the rest. Manual themes carry confidence 1."""
    chosen = [ThemeAssignment(t, 1.0, "manual") for t in dict.fromkeys(manual)]
    taken = set(manual)
    chosen.extend(a for a in auto if a.theme not in taken)
    return chosen


def evidence_for(parts: list[str], theme: Theme, stored: dict[str, str]) -> Evidence | None:
    """The sentence that shows a theme: by its keywords, else the sentence found by meaning when the
    theme was assigned (``stored``: theme id -> sentence, for texts in other languages)."""
    found = best_evidence(parts, theme)
    if found is None and theme.id in stored:
        return Evidence(theme.id, stored[theme.id])
    return found


def best_evidence(parts: list[str], theme: Theme) -> Evidence | None:
    """The sentence that best shows a theme: most distinct keywords, then earliest."""
    best: Evidence | None = None
    for sentence in parts:
        hits = tuple(keyword_hits(sentence, theme.keywords))
        if hits and (best is None or len(hits) > len(best.keywords)):
            best = Evidence(theme.id, sentence, hits)
    return best
