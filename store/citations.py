"""Paragraphs of the seed documents, so that every cited fact can be checked against its source.

A seed document numbers its paragraphs ("8. Civil society organizations ..."), sometimes with the
number on a line of its own, sometimes as sections ("2.5. Desertification ..."). A paragraph runs
from its number to the next one. Paragraph ``0`` is the heading before the first number. Where a
document numbers two paragraphs alike (a later part restarts at 1), the later one is labelled
``N#2``, ``N#3``, ... in order.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_MARKER = re.compile(r"^[ \t]*(?:-[ \t]*)?(\d{1,2}(?:\.\d{1,2})?)\.(?:[ \t]|$)", re.MULTILINE)


def paragraphs(text: str) -> dict[str, str]:
    """Label → text of every numbered paragraph of a document (whitespace folded)."""
    out: dict[str, str] = {}
    marks = list(_MARKER.finditer(text))
    out["0"] = _fold(text[: marks[0].start()] if marks else text)
    for n, mark in enumerate(marks):
        end = marks[n + 1].start() if n + 1 < len(marks) else len(text)
        label = mark.group(1)
        repeat = 2
        while label in out:
            label = f"{mark.group(1)}#{repeat}"
            repeat += 1
        out[label] = _fold(text[mark.start(): end])
    return out


@lru_cache(maxsize=32)
def document_paragraphs(path: Path) -> dict[str, str]:
    return paragraphs(path.read_text(encoding="utf-8"))


def mentions(paragraph: str, names: list[str]) -> str | None:
    """The first of the names the paragraph mentions (case and spacing ignored), or None."""
    folded = _fold(paragraph).lower()
    for name in names:
        if name and _fold(name).lower() in folded:
            return name
    return None


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
