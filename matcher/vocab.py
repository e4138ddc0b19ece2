"""Controlled vocabularies shared by the store, the API and the ranking logic.

Values are short snake_case codes; labels are for people. Every list here is closed: an import or an
API call that uses a code outside it is rejected with the field named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STAKEHOLDER_KINDS: dict[str, str] = {
    "government": "Government body",
    "cso": "Civil-society organisation / NGO",
    "private": "Private firm",
    "academia": "Academia / research",
    "international": "International organisation or programme",
    "network": "Network or platform",
    "funder": "Funder",
}

PROJECT_STATUSES: dict[str, str] = {
    "planned": "Planned",
    "ongoing": "Ongoing",
    "completed": "Completed",
}

ROLES: dict[str, str] = {
    "lead": "Lead",
    "co_funder": "Co-funder",
    "implementer": "Implementer",
    "technical_partner": "Technical partner",
    "other": "Other",
}

COUNTRIES: dict[str, str] = {
    "CN": "China",
    "MN": "Mongolia",
    "JP": "Japan",
    "KR": "Republic of Korea",
    "RU": "Russian Federation",
    "KP": "Democratic People's Republic of Korea",
}
"""The six NEASPEC member States. Other ISO 3166-1 alpha-2 codes are accepted too (see
:func:`is_country_code`); these get a label."""


@dataclass(frozen=True)
class ResourceKind:
    code: str
    label: str
    keywords: tuple[str, ...]


RESOURCE_KINDS: dict[str, ResourceKind] = {
    r.code: r
    for r in (
        ResourceKind("funding", "Funding", ("fund", "funding", "co-fund", "finance", "financial",
                                             "donation", "donor", "grant", "investment", "money")),
        ResourceKind("technical_expertise", "Technical expertise",
                     ("technical", "technology", "technologies", "expertise", "know-how", "experts")),
        ResourceKind("research_data", "Research and monitoring data",
                     ("research", "monitoring", "data", "gis", "assessment", "forecasting")),
        ResourceKind("volunteers", "Volunteers", ("volunteer", "volunteers")),
        ResourceKind("land_access", "Land or site access", ("land access", "site access", "site", "sites")),
        ResourceKind("seedlings_materials", "Seedlings and materials",
                     ("seedling", "seedlings", "saplings", "materials", "seeds")),
        ResourceKind("training", "Training and capacity building",
                     ("training", "capacity building", "capacity-building", "workshop", "knowledge transfer")),
        ResourceKind("policy_access", "Policy access", ("policy", "policy dialogue", "government access")),
        ResourceKind("market_access", "Market access", ("market", "markets", "buyers", "business")),
        ResourceKind("communication", "Communication and outreach",
                     ("communication", "outreach", "awareness", "visibility", "media")),
    )
}

# What a partner search for each intent is really after, as resource kinds the candidate offers.
INTENT_RESOURCES: dict[str, frozenset[str]] = {
    "co_funding": frozenset({"funding"}),
    "implementation": frozenset({"technical_expertise", "volunteers", "land_access",
                                 "seedlings_materials", "training", "research_data"}),
    "any": frozenset(),
}

_NEED_CUE = re.compile(r"\b(need|needs|needed|seek|seeks|seeking|looking for|require|requires|lack|want)\b",
                       re.IGNORECASE)


def is_country_code(code: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]{2}", code))


def infer_needs(text: str) -> list[str]:
    """Resource kinds a free text asks for, read from sentences that say they need or seek something.

    Example:
        >>> infer_needs("We plant saxaul in the Gobi and need co-funding and volunteers.")
        ['funding', 'volunteers']
    """
    found: list[str] = []
    for sentence in re.split(r"(?<=[.!?;])\s+", text):
        cue = _NEED_CUE.search(sentence)
        if not cue:
            continue
        tail = sentence[cue.start():].lower()
        for kind in RESOURCE_KINDS.values():
            if kind.code not in found and any(_has_word(tail, k) for k in kind.keywords):
                found.append(kind.code)
    return found


def _has_word(text: str, phrase: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(phrase) + r"(?![\w])", text) is not None
