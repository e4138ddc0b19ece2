"""Themes of a profile: manual ones, keyword ones, and, for a text without keywords or in another
script, the themes nearest in meaning (each with the sentence that shows it). The embedding work is
batched and cached per text, so that an import of thousands of such profiles embeds them once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from embeddings.base import Embedder
from matcher.text import is_latin, sentences
from matcher.themes import (Theme, ThemeAssignment, assign_themes, assign_themes_in_any_language, merge_assignments,
                            themes_by_meaning)

EMBED_BATCH = 128
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    return None


def load_vocabulary(path: Path) -> dict[str, Theme]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {
        t["id"]: Theme(id=t["id"], label=t["label"], definition=t["definition"], keywords=tuple(t["keywords"]),
                       sdg=t.get("sdg", ""), neaspec_areas=tuple(t.get("neaspec_areas", ())),
                       labels=tuple(sorted(t.get("labels", {}).items())),
                       translated=tuple((lang, tuple(words)) for lang, words in sorted(
                           t.get("keywords_by_language", {}).items())))
        for t in raw["themes"]
    }


class ThemeAssigner:
    def __init__(self, embedder: Embedder, vocabulary: dict[str, Theme]) -> None:
        self.embedder, self.vocabulary = embedder, vocabulary
        self._theme_vectors: np.ndarray | None = None
        self._nearest: dict[str, ThemeAssignment] = {}  # text -> nearest theme, for texts without keywords
        self._by_meaning: dict[str, list[tuple[ThemeAssignment, str]]] = {}  # text in another script -> themes
        self.keyword_themes: dict[str, list[ThemeAssignment]] = {}  # found while batching, used once when written

    def for_text(self, text: str, manual: list[str], *, name: str = "", named_only: bool = False
                 ) -> list[dict[str, Any]]:
        """Manual themes, then themes read from keywords; a profile with neither gets the theme whose
        definition its text is nearest to, so that every profile has at least one theme. A text in
        another script (Chinese, Korean, Russian...) gets its themes from the vocabulary's keywords in
        its language, or by meaning when it has none of them; each with the sentence that shows it
        (``text`` may start with the profile's ``name``: a sentence shown is the description's own).
        With ``named_only``, only the themes whose keywords the text names, in any language, and
        none when it names none (a search's purpose, which need not be about a theme)."""
        if is_latin(text):
            auto = [(a, "") for a in self.keyword_themes.pop(text, None)
                    or assign_themes(text, list(self.vocabulary.values()))]
            if not manual and not auto and not named_only:
                auto = [(self.nearest(text), "")]
        else:  # its keywords in its own language; by meaning when it has none
            auto = assign_themes_in_any_language(text, list(self.vocabulary.values()))
            if not auto and not named_only:
                auto = self.meaning(text)
        lead = f"{name}. " if name else ""
        evidence = {a.theme: sentence[len(lead):] if lead and sentence.startswith(lead) else sentence
                    for a, sentence in auto if sentence}
        return [{"id": a.theme, "confidence": a.confidence, "source": a.source,
                 **({"evidence": evidence[a.theme]} if a.source == "auto" and a.theme in evidence else {})}
                for a in merge_assignments(manual, [a for a, _ in auto])]

    def unless_same(self, row: Any, text: str, key: tuple[str, str], manual: list[str]) -> list[dict[str, Any]]:
        """The stored themes when the text and the manual themes are unchanged (re-imports are cheap)."""
        if row is not None and (getattr(row, "name", None) or row.title, row.description) == key and \
                [t["id"] for t in row.themes if t["source"] == "manual"] == manual:
            return list(row.themes)
        return self.for_text(text, manual, name=key[0])

    def nearest(self, text: str) -> ThemeAssignment:
        if text not in self._nearest:
            self._prefetch_nearest([text])
        return self._nearest[text]

    def meaning(self, text: str) -> list[tuple[ThemeAssignment, str]]:
        if text not in self._by_meaning:
            self._prefetch_meaning([text])
        return self._by_meaning[text]

    def prefetch_for(self, records: Sequence[Any], existing: dict[str, Any], key: Callable[[Any], tuple[str, str]],
                      progress: Progress = no_progress) -> None:
        """Batch the embedding work of theme assignment for the new or changed records that will need it
        (the nearest-theme fallback, themes by meaning)."""
        vocabulary = list(self.vocabulary.values())
        nearest, meaning = [], []
        for rec in records:
            row = existing.get(rec.id)
            title, description = key(rec)
            if row is not None and key(row) == (title, description):
                continue
            text = f"{title}. {description}"
            if not is_latin(text):
                if not assign_themes_in_any_language(text, vocabulary):
                    meaning.append(text)
            else:
                found = self.keyword_themes[text] = assign_themes(text, vocabulary)  # used again when written
                if not found and not any(t.source == "manual" for t in rec.themes):
                    nearest.append(text)
        self._prefetch_nearest(nearest, progress)
        self._prefetch_meaning(meaning, progress)

    def vector(self, theme: str) -> np.ndarray:
        """The theme's description embedded (what sentences are compared with to find its evidence)."""
        return self._matrix()[list(self.vocabulary).index(theme)]

    def _matrix(self) -> np.ndarray:
        """The themes' descriptions embedded (on first need only: most profiles never need it)."""
        if self._theme_vectors is None:
            self._theme_vectors = self.embedder.embed(
                [f"{t.label}. {t.definition} {', '.join(t.keywords)}" for t in self.vocabulary.values()])
        return self._theme_vectors

    def _prefetch_nearest(self, texts: list[str], progress: Progress = no_progress) -> None:
        """Nearest themes for texts without keyword themes, embedded in batches (an import of thousands
        of such profiles must not embed them one by one)."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._nearest]
        if not todo:
            return
        themes = self._matrix()
        ids = list(self.vocabulary)
        for start in range(0, len(todo), EMBED_BATCH):
            batch = todo[start:start + EMBED_BATCH]
            sims = self.embedder.embed(batch) @ themes.T
            for text, row in zip(batch, sims):
                best = int(np.argmax(row))
                self._nearest[text] = ThemeAssignment(ids[best], round(float(max(0.0, row[best])), 2), "auto")
            progress("themes without keywords", start + len(batch), len(todo))

    def _prefetch_meaning(self, texts: list[str], progress: Progress = no_progress) -> None:
        """Themes by meaning for texts in other scripts: every sentence embedded (in batches) and
        compared with each theme's description."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._by_meaning]
        if not todo:
            return
        themes = self._matrix()
        floor = getattr(self.embedder, "similarity_floor", 0.0)
        ids = list(self.vocabulary)
        parts = [sentences(t) or [t] for t in todo]
        flat = [s for p in parts for s in p]
        vectors = np.vstack([self.embedder.embed(flat[i:i + EMBED_BATCH]) for i in range(0, len(flat), EMBED_BATCH)]
                            if flat else [np.zeros((0, themes.shape[1]), dtype=np.float32)])
        if flat:
            progress("themes by meaning", len(todo), len(todo))
        at = 0
        for text, p in zip(todo, parts):
            sims = (vectors[at:at + len(p)] @ themes.T - floor) / (1.0 - floor)
            at += len(p)
            self._by_meaning[text] = themes_by_meaning(p, sims, ids)

    def check(self, record: Any) -> list[dict[str, Any]]:
        return [{"field": f"themes.{n}.id", "message": f"unknown theme {t.id!r}; see GET /themes"}
                for n, t in enumerate(record.themes) if t.id not in self.vocabulary]
