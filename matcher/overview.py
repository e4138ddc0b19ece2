"""Who does what where: theme × country counts and the gaps between needs and offers. Pure."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    """A stakeholder or a project, as the overview sees it."""

    key: str
    name: str
    themes: tuple[str, ...]
    countries: tuple[str, ...]
    offers: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # for a project: what it seeks


@dataclass(frozen=True)
class Gap:
    theme: str
    resources: tuple[str, ...]  # needed by someone on the theme, offered by no one on it
    needers: tuple[str, ...]  # keys of those who need them


def theme_country_counts(items: list[Item]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for item in items:
        for theme in set(item.themes):
            for country in set(item.countries):
                counts[(theme, country)] += 1
    return dict(counts)


def theme_totals(items: list[Item]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for item in items:
        for theme in set(item.themes):
            totals[theme] += 1
    return dict(totals)


def gaps(items: list[Item], themes: list[str]) -> list[Gap]:
    """For each theme, resource kinds that items on it need and no item on it offers."""
    out = []
    for theme in themes:
        on_theme = [i for i in items if theme in i.themes]
        offered = {o for i in on_theme for o in i.offers}
        missing = sorted({n for i in on_theme for n in i.needs} - offered)
        if missing:
            needers = tuple(sorted(i.key for i in on_theme if set(i.needs) & set(missing)))
            out.append(Gap(theme, tuple(missing), needers))
    return out
