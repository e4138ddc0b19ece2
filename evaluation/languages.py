"""Does a seed organisation, described in another language, find itself through ``POST /match``?

Every seed stakeholder is stored with its English description. Its description in each language of
``seed_profiles/translations/`` (and, as the reference, in English) is asked as free text through the
route a user reaches, ``POST /match {"text": ..., "k": 10}``, and the rank of that stakeholder among
the ``stakeholders`` answered is recorded (None when it is not in the top 10). Per language: the
share found first, the share in the top 3, the mean reciprocal rank (0 when not found) and, for each
case not found first, which organisation came first instead. The product aims at first in at least
90 % of the cases of every language (:data:`TARGET_FIRST`).

This differs from the identification of :mod:`evaluation.crosslingual`, which compares raw
embeddings: here the whole ranking (lexical signal, themes, needs, places) decides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

from api.settings import SEED_PROFILES
from evaluation.crosslingual import LANGUAGES as TRANSLATED

LANGUAGES = ("en", *TRANSLATED)
TARGET_FIRST = 0.9
Ask = Callable[[str, str, dict[str, Any]], tuple[int, Any]]


def load_english(path: Path = SEED_PROFILES / "stakeholders.jsonl") -> dict[str, str]:
    """Each seed stakeholder's English description, by id."""
    records = (json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip())
    return {r["id"]: r["description"] for r in records}


def cases(english: dict[str, str], translated: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    """One case per stakeholder with a translation and per language (English first), in a fixed order.

    Example:
        >>> cases({"a": "Dunes.", "b": "Grass."}, {"a": {"mn": "Элс."}})
        [{'id': 'a', 'lang': 'en', 'text': 'Dunes.'}, {'id': 'a', 'lang': 'mn', 'text': 'Элс.'}]
    """
    unknown = sorted(set(translated) - set(english))
    if unknown:
        # a translation of an organisation that is not stored could never find itself
        raise ValueError(f"translations of stakeholders with no English profile: {', '.join(unknown)}")
    out = []
    for lang in LANGUAGES:
        for i in sorted(translated):
            text = english[i] if lang == "en" else translated[i].get(lang)
            if text:
                out.append({"id": i, "lang": lang, "text": text})
    return out


def rank_of(target: str, ranked: Sequence[str]) -> int | None:
    """1-based rank of ``target`` in ``ranked``, None when absent.

    Example:
        >>> rank_of("b", ["a", "b"]), rank_of("c", ["a", "b"])
        (2, None)
    """
    return ranked.index(target) + 1 if target in ranked else None


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Share first, share in the top 3, MRR and the failures (not first) of some scored cases."""
    n = max(1, len(rows))
    ranks = [r["rank"] for r in rows]
    return {
        "cases": len(rows),
        "first": round(sum(r == 1 for r in ranks) / n, 4),
        "top3": round(sum(r is not None and r <= 3 for r in ranks) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
        "failures": [{k: r[k] for k in ("id", "rank", "first", "first_name")} for r in rows if r["rank"] != 1],
    }


def evaluate_self_match(ask: Ask, english: dict[str, str], translated: dict[str, dict[str, str]], *, k: int = 10,
                        progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Ask every description through ``ask(method, path, body) -> (status, JSON body)`` and score where
    the described stakeholder ranks, per language.

    Example:
        >>> def ask(method, path, body):
        ...     order = ["a", "b"] if body["text"] == "Dunes." else ["b", "a"]
        ...     return 200, {"stakeholders": [{"id": i, "name": i.upper()} for i in order]}
        >>> r = evaluate_self_match(ask, {"a": "Dunes.", "b": "Grass."}, {"a": {"mn": "Элс."}})
        >>> r["by_language"]["en"]["first"], r["by_language"]["mn"]["mrr"], r["below_target"]
        (1.0, 0.5, ['mn'])
    """
    todo = cases(english, translated)
    rows = []
    for n, case in enumerate(todo, start=1):
        status, body = ask("POST", "/match", {"text": case["text"], "k": k})
        if status != 200:
            raise RuntimeError(f"{case['id']} ({case['lang']}): POST /match answered {status}: {body}")
        found = body["stakeholders"]
        top = found[0] if found else {}
        rows.append({"id": case["id"], "lang": case["lang"], "rank": rank_of(case["id"], [s["id"] for s in found]),
                     "first": top.get("id"), "first_name": top.get("name")})
        if progress:
            progress("languages", n, len(todo))
    by_language = {lang: summary([r for r in rows if r["lang"] == lang])
                   for lang in LANGUAGES if any(r["lang"] == lang for r in rows)}
    return {"k": k, "target_first": TARGET_FIRST, "by_language": by_language,
            "below_target": [lang for lang, s in by_language.items() if s["first"] < TARGET_FIRST],
            "cases": rows}
