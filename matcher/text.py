"""Small text utilities: sentence splitting and keyword matching, language-light and deterministic."""

from __future__ import annotations

import re
from functools import lru_cache

# Split after . ! ? (and their CJK forms) when followed by space or a capital/CJK start; keep
# abbreviations such as "e.g." or "No." from splitting too eagerly by requiring some length.
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")
_MIN_SENTENCE = 12


def sentences(text: str) -> list[str]:
    """Split a description into sentences, merging fragments too short to stand alone.

    Example:
        >>> sentences("We plant trees. Since 2010 in the Gobi! Do we need help?")
        ['We plant trees.', 'Since 2010 in the Gobi!', 'Do we need help?']
    """
    parts = [p.strip() for p in _SENTENCE_END.split(text.strip()) if p and p.strip()]
    merged: list[str] = []
    for part in parts:
        if merged and len(merged[-1]) < _MIN_SENTENCE:
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged


@lru_cache(maxsize=4096)
def keyword_pattern(keyword: str) -> re.Pattern[str]:
    """A case-insensitive pattern for a keyword at word boundaries, tolerant of plural endings."""
    escaped = re.escape(keyword.lower()).replace(r"\ ", r"[\s-]+")
    if re.search(r"[a-z]$", keyword.lower()):
        escaped += r"(?:s|es)?"
    return re.compile(r"(?<!\w)" + escaped + r"(?!\w)", re.IGNORECASE)


@lru_cache(maxsize=1024)
def any_keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern that matches any of the keywords (as :func:`keyword_pattern` would)."""
    return re.compile("|".join(f"(?:{keyword_pattern(k).pattern})" for k in keywords), re.IGNORECASE)


def keyword_hits(text: str, keywords: tuple[str, ...] | list[str]) -> list[str]:
    """The keywords that occur in the text, in the order given."""
    return [k for k in keywords if keyword_pattern(k).search(text)]


def normalise_place(name: str) -> str:
    """A comparable form of a place name: lower case, no punctuation, no generic suffixes."""
    cleaned = re.sub(r"[^\w\s]", " ", name.lower())
    words = [w for w in cleaned.split() if w not in {"the", "desert", "province", "region", "of", "autonomous"}]
    return " ".join(words) or cleaned.strip()
