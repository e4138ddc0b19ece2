"""Small text utilities: sentence splitting and keyword matching, language-light and deterministic."""

from __future__ import annotations

import re
from functools import lru_cache

# Split after . ! ? (and their CJK forms) when followed by space or a capital/CJK start; keep
# abbreviations such as "e.g." or "No." from splitting too eagerly by requiring some length.
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")
_MIN_SENTENCE = 12
_CJK = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\u3040-\u30ff]")


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


_WORD = re.compile(r"\w+")


def words_of(text: str) -> frozenset[str]:
    """The lower-case words of a text, for :func:`could_match`."""
    return frozenset(_WORD.findall(text.lower()))


@lru_cache(maxsize=4096)
def _keyword_words(keyword: str) -> tuple[tuple[str, ...], bool]:
    parts = tuple(_WORD.findall(keyword.lower()))
    return parts, bool(re.search(r"[a-z]$", keyword.lower()))


def keyword_last_forms(keyword: str) -> tuple[str, ...]:
    """The forms the last word of a keyword can take in a text (with a plural ending if it allows one)."""
    parts, plural = _keyword_words(keyword)
    if not parts:
        return ()
    last = parts[-1]
    return (last, last + "s", last + "es") if plural else (last,)


def could_match(keyword: str, words: frozenset[str]) -> bool:
    """Whether :func:`keyword_pattern` could match a text with these words: every word of the keyword
    must be one of them (the last one perhaps with a plural ending). A set lookup, so a text is only
    searched with the few keywords that pass.

    Example:
        >>> w = words_of("Sand-fixation of moving dunes.")
        >>> could_match("dune", w), could_match("sand fixation", w), could_match("shelterbelt", w)
        (True, True, False)
    """
    parts, plural = _keyword_words(keyword)
    if not parts:
        return True
    *inner, last = parts
    return all(p in words for p in inner) and (
        last in words or (plural and (last + "s" in words or last + "es" in words)))


def keyword_hits(text: str, keywords: tuple[str, ...] | list[str]) -> list[str]:
    """The keywords that occur in the text, in the order given."""
    return [k for k in keywords if keyword_pattern(k).search(text)]


@lru_cache(maxsize=4096)
def cue_pattern(word: str) -> re.Pattern[str]:
    """A case-insensitive pattern for a word or phrase of any of the region's languages: anywhere in
    a text for Chinese, Japanese or Korean (their words are not separated; spaces inside are
    optional), else at word boundaries, a word ending in "*" standing for a stem with any ending
    (Russian and Mongolian inflect). A Latin word's boundaries are other Latin letters and digits
    only, so "LDN" is found in "实现LDN目标".

    Example:
        >>> [bool(cue_pattern(w).search(t)) for w, t in (("防护林", "建设防护林带"), ("лесополос*", "Лесополосы"),
        ...  ("LDN", "实现LDN目标"), ("LDN", "LDNs"), ("ган", "ганц"))]
        [True, True, True, False, False]
    """
    if _CJK.search(word):
        return re.compile(r"\s*".join(re.escape(p) for p in word.split()), re.IGNORECASE)
    parts = [re.escape(p[:-1]) + r"\w*" if p.endswith("*") else re.escape(p) for p in re.split(r"[\s-]+", word)]
    body = r"[\s-]+".join(parts)
    if word.replace("*", "").isascii():
        return re.compile(r"(?<![A-Za-z0-9])" + body + r"(?![A-Za-z0-9])", re.IGNORECASE)
    return re.compile(r"(?<!\w)" + body + r"(?!\w)", re.IGNORECASE)


def latin_share(text: str) -> float:
    """The share of a text's letters that are Latin (1.0 for English, about 0 for Chinese, Korean,
    Japanese, Russian or Mongolian Cyrillic); 1.0 for a text without letters. A Chinese, Japanese or
    Korean character counts as three letters: it carries about as much as a short English word, so a
    Chinese sentence naming "UNCCD" stays Chinese.

    Example:
        >>> latin_share("Gobi"), latin_share("戈壁"), latin_share("Говь 2020")
        (1.0, 0.0, 0.0)
    """
    if text.isascii():
        return 1.0
    latin = other = 0
    for c in text:
        if not c.isalpha():
            continue
        if c.isascii() or "\u00c0" <= c <= "\u024f":
            latin += 1
        else:
            other += 3 if _CJK.match(c) else 1
    return latin / (latin + other) if latin + other else 1.0


_HANGUL = re.compile("[\uac00-\ud7af\u1100-\u11ff]")
_KANA = re.compile("[\u3040-\u30ff]")
_HAN = re.compile("[\u4e00-\u9fff]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_MONGOLIAN_CYRILLIC = re.compile("[өүӨҮ]")


def script_language(text: str) -> str:
    """The language a text's script points to, as a BCP 47 tag for a page's ``lang`` attribute: "ko"
    for Hangul, "ja" for kana, "zh" for Han alone, "mn" for Cyrillic with Mongolian letters, "ru" for
    other Cyrillic, "en" for Latin. A guess from the script, not a language detector.

    Example:
        >>> [script_language(t) for t in ("산림청", "ゴビ砂漠", "国家林业和草原局", "Говь өргөн", "Пустыня", "Gobi")]
        ['ko', 'ja', 'zh', 'mn', 'ru', 'en']
    """
    if is_latin(text):
        return "en"
    if _HANGUL.search(text):
        return "ko"
    if _KANA.search(text):
        return "ja"
    if _HAN.search(text):
        return "zh"
    if _CYRILLIC.search(text):
        return "mn" if _MONGOLIAN_CYRILLIC.search(text) else "ru"
    return "und"


def is_latin(text: str) -> bool:
    """Whether a text is written mostly in Latin script (what the keyword vocabularies are written in)."""
    return latin_share(text) >= 0.5


@lru_cache(maxsize=65536)
def normalise_place(name: str) -> str:
    """A comparable form of a place name: lower case, no punctuation, no generic suffixes."""
    cleaned = re.sub(r"[^\w\s]", " ", name.lower())
    words = [w for w in cleaned.split() if w not in {"the", "desert", "province", "region", "of", "autonomous"}]
    return " ".join(words) or cleaned.strip()


# A clause: up to a stop, a semicolon, a colon, a question or exclamation mark, or a comma of Chinese,
# Japanese or Korean (the English comma stays inside: "We, the firm, ..."). One that opens with "we",
# "our", "I" or "my" (or their words in the five other languages) is said of the writer itself.
_CLAUSE = re.compile(r"[^.;:!?\n。；：！？，、]+[.;:!?\n。；：！？，、]?")
_SELF = re.compile(
    r"\s*(?:(?:we|we['’]re|our|i|i['’]m|my|мы|наш\w*|я|мой|моя|бид|манай|би)(?!\w)"
    r"|我们|我們|我司|本公司|私たち|わたしたち|我々|弊社|当社|우리|저희)", re.IGNORECASE)


def clauses(text: str) -> list[str]:
    """A text's clauses, in order, each with the mark that ends it."""
    return [m.group() for m in _CLAUSE.finditer(text)]


def opens_with_self(clause: str) -> bool:
    """Whether a clause is said by the writer of itself ("We offer land", "我们提供培训", "Бид ...").

    Example:
        >>> [opens_with_self(c) for c in clauses("We offer land; partners who provide seedlings.")]
        [True, False]
    """
    return _SELF.match(clause) is not None
