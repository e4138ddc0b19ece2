"""Cross-lingual measures on the seed profiles and their translations (``seed_profiles/translations/``).

1. Identification: a stakeholder's description in language X is embedded and compared with every
   English description; is its own English description the nearest?
2. Stability: the same ``POST /match`` query asked in English and in language X; how much do the two
   top-10 lists of stakeholders overlap? Measured twice: as asked (the organisation whose description
   is the query is stored, in English, so it can be found in either language) and leaving that
   organisation out of both searches (as for an organisation that has no English profile yet).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import numpy as np

from api.schemas import MatchRequest
from api.service import DLDMatch, Progress
from api.settings import SEED_PROFILES, Settings
from embeddings.base import Embedder

LANGUAGES = ("zh", "ko", "ja", "ru", "mn")
TRANSLATIONS = SEED_PROFILES / "translations" / "descriptions.jsonl"
# Translations of the seed projects' titles and descriptions, made after the theme keywords of the five
# languages were written and never used to choose anything: the held-out check of those keywords.
HELD_OUT = Path(__file__).with_name("heldout_project_translations.jsonl")


def load_translations(path: Path = TRANSLATIONS) -> dict[str, dict[str, str]]:
    """id -> language -> text (a title, when the file has one, joined to its description as stored)."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.strip():
            record = json.loads(line)
            title = record.get("title")
            out[record["id"]][record["lang"]] = f"{title}. {record['description']}" if title else record["description"]
    return dict(out)


def held_out_projects() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The seed projects' English "title. description" and the held-out translations of them."""
    english = {r["id"]: f"{r['title']}. {r['description']}"
               for r in (json.loads(line) for line in (SEED_PROFILES / "projects.jsonl").read_text(
                   encoding="utf-8").split("\n") if line.strip())}
    return english, load_translations(HELD_OUT)


def identification(embedder: Embedder, english: dict[str, str], translated: dict[str, dict[str, str]]
                   ) -> dict[str, float]:
    ids = sorted(english)
    base = embedder.embed([english[i] for i in ids])
    result = {}
    for lang in LANGUAGES:
        have = [i for i in ids if lang in translated.get(i, {})]
        vectors = embedder.embed([translated[i][lang] for i in have])
        nearest = np.argmax(vectors @ base.T, axis=1)
        result[lang] = round(float(np.mean([ids[n] == i for n, i in zip(nearest, have)])), 4)
    return result


def stability(service: DLDMatch, english: dict[str, str], translated: dict[str, dict[str, str]], k: int = 10,
              progress: Progress | None = None, leave_out: bool = False) -> dict[str, float]:
    def top(text: str) -> list[str]:
        request = MatchRequest(text=text, k=k, include_projects=False)
        return [m.id for m in service.match(request, hide=[i] if leave_out else []).stakeholders]

    result: dict[str, float] = {}
    ids = sorted(english)
    done = 0
    for lang in LANGUAGES:
        overlaps = []
        for i in ids:
            if lang not in translated.get(i, {}):
                continue
            a, b = top(english[i]), top(translated[i][lang])
            overlaps.append(len(set(a) & set(b)) / k)
            done += 1
            if progress:
                progress("stability (organisation left out)" if leave_out else "stability", done,
                         len(ids) * len(LANGUAGES))
        result[lang] = round(float(np.mean(overlaps)), 4)
    return result


def theme_agreement(service: DLDMatch, english: dict[str, str], translated: dict[str, dict[str, str]]
                    ) -> dict[str, dict[str, float]]:
    """Themes assigned to each translation (by its language's keywords, else by meaning) against the
    keyword themes of its English original: precision, recall and F1 per language."""
    result: dict[str, dict[str, float]] = {}
    for lang in LANGUAGES:
        tp = fp = fn = 0
        for i in sorted(english):
            if lang not in translated.get(i, {}):
                continue
            gold = {t["id"] for t in service.core.themes.for_text(english[i], []) if t["source"] == "auto"}
            got = {t["id"] for t in service.core.themes.for_text(translated[i][lang], [])}
            tp, fp, fn = tp + len(got & gold), fp + len(got - gold), fn + len(gold - got)
        p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        result[lang] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}
    return result


def evaluate_languages(embedder: Embedder, *, settings: Settings, progress: Progress,
                       log: Callable[[str], None] = print) -> dict[str, Any]:
    """The measures above, on the seed database of ``settings`` (the seed profiles loaded on first use)."""
    translated = load_translations()
    seeds = SEED_PROFILES
    english = {json.loads(line)["id"]: json.loads(line)["description"]
               for line in (seeds / "stakeholders.jsonl").read_text(encoding="utf-8").split("\n") if line.strip()}
    ident = identification(embedder, english, translated)
    log(f"identification top-1: {ident}")
    service = DLDMatch(settings, embedder)
    service.start(progress)
    stable = stability(service, english, translated, progress=progress)
    alone = stability(service, english, translated, progress=progress, leave_out=True)
    themes = theme_agreement(service, english, translated)
    held_out = theme_agreement(service, *held_out_projects())
    return {"model": embedder.model_id, "stakeholders": len(english),
            "identification_top1": ident, "identification_min": min(ident.values()),
            "overlap_at_10": stable, "overlap_at_10_mean": round(float(np.mean(list(stable.values()))), 4),
            "overlap_at_10_left_out": alone,
            "overlap_at_10_left_out_mean": round(float(np.mean(list(alone.values()))), 4),
            "themes_vs_english_keywords": themes, "held_out_project_themes_vs_english_keywords": held_out}
