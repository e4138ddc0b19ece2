"""The one place that decides what text represents a stakeholder or a project for embedding.

A stakeholder is its name, its description, and the titles and opening sentences of its projects
(what an organisation does is also what its projects say). A project is its title and description.
Stored vectors carry the hash of the text they were made from (and the model id), so unchanged
text is never embedded twice.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

from matcher.text import sentences

# all-MiniLM-L6-v2 reads 256 word pieces at most; text past that is ignored by the model anyway,
# so only the start of each project is worth including.
_PROJECT_SENTENCES_IN_PROFILE = 1
_MAX_PROJECTS_IN_PROFILE = 8


def project_text(title: str, description: str) -> str:
    return f"{title}. {description}".strip()


def stakeholder_text(name: str, description: str, projects: Iterable[tuple[str, str]]) -> str:
    """Name and description, then each project (sorted by title, so the text is deterministic)."""
    parts = [f"{name}. {description}".strip()]
    for title, text in sorted(projects)[:_MAX_PROJECTS_IN_PROFILE]:
        opening = " ".join(sentences(text)[:_PROJECT_SENTENCES_IN_PROFILE])
        parts.append(f"{title}: {opening}" if opening else title)
    return " ".join(parts)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
