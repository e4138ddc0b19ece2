"""Downloads of what the web page lists (issue 17, item 8): organisations, projects and search
results as CSV or XLSX, with the same filters as the page, every cell made safe to open
(:mod:`api.cells`), and each result's reasons in words so that a download says why a row is there."""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Literal, Sequence

from fastapi.responses import Response

from api.cells import safe_row

Format = Literal["csv", "xlsx"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]], fmt: Format) -> Response:
    """A CSV (UTF-8 with a byte-order mark, which Excel needs to read the region's scripts) or an XLSX
    file of these rows, as an attachment named ``name``."""
    rows = [safe_row(list(r)) for r in rows]
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = name[:31]
        sheet.append(list(header))
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        data, media = out.getvalue(), XLSX
    else:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows(rows)
        data, media = ("\ufeff" + text.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"
    return Response(data, media_type=media, headers={"content-disposition": f'attachment; filename="{name}.{fmt}"'})


def _join(values: Iterable[Any]) -> str:
    return "; ".join(str(v) for v in values if v)


STAKEHOLDER_HEADER = ("id", "name", "original name", "kind", "countries", "places", "themes", "offers", "needs",
                      "self-declared", "page")
PROJECT_HEADER = ("id", "title", "status", "first year", "last year", "countries", "places", "themes", "seeks",
                  "participants", "page")


def stakeholder_rows(items: Iterable[Any], base: str) -> list[list[Any]]:
    return [[s.id, s.name, s.original_name or "", s.kind, _join(s.countries), _join(p.name for p in s.places),
             _join(t.id for t in s.themes), _join(o.kind for o in s.offers), _join(n.kind for n in s.needs),
             "yes" if getattr(s, "self_declared", False) else "no", f"{base}/s/{s.id}"] for s in items]


def project_rows(items: Iterable[Any], base: str) -> list[list[Any]]:
    return [[p.id, p.title, p.status or "unknown", p.start_year or "", p.end_year or "", _join(p.countries),
             _join(x.name for x in p.places), _join(t.id for t in p.themes), _join(r.kind for r in p.seeks),
             _join(f"{x.id}:{x.role}" for x in p.participants), f"{base}/p/{p.id}"] for p in items]


POOL_HEADER = ("group", "group score", "shared themes", "shared countries", "shared places", "needs left uncovered",
               "member type", "id", "name", "kind", "countries", "brings (offers another member needs)", "needs",
               "needs met inside the group", "page")


def pool_rows(groups: Iterable[Any], base: str) -> list[list[Any]]:
    """One row per member of each pooling group, with the group's facts repeated (a sheet to filter)."""
    rows = []
    for n, g in enumerate(groups, start=1):
        facts = [n, round(g.score, 3), _join(t.get("label", t.get("theme", "")) for t in g.shared_themes),
                 _join(g.shared_countries), _join(g.shared_places), _join(g.uncovered)]
        for m in g.members:
            rows.append([*facts, m.type, m.id, m.name, m.kind, _join(m.countries), _join(m.brings), _join(m.needs),
                         _join(m.met), f"{base}/{'s' if m.type == 'stakeholder' else 'p'}/{m.id}"])
    return rows


def overview_rows(overview: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The theme × country matrix as a header and rows: organisations and projects per theme and country."""
    from matcher.vocab import COUNTRIES

    header = ["theme", *(COUNTRIES.get(c, c) for c in overview["countries"]), "total"]
    return header, [[r["label"], *(c["count"] for c in r["cells"]), r["total"]] for r in overview["rows"]]


MATCH_HEADER = ("rank", "type", "id", "name", "kind", "countries", "fit (0-100)", "band", "shared themes",
                "needs it meets", "needs you meet", "shared places", "shared countries", "shared partners",
                "track record", "close in meaning", "dust and sandstorms", "words in common", "page")


def match_rows(matches: Iterable[Any], base: str) -> list[list[Any]]:
    """One row per result with every reason it was given, in words."""
    rows = []
    for n, m in enumerate(matches, start=1):
        e = m.explanation
        rows.append([n, m.type, m.id, m.name, m.kind, _join(m.countries), m.fit, m.band,
                     _join(t.label for t in e.shared_themes), _join(e.query_needs_met), _join(e.candidate_needs_met),
                     _join(e.shared_places), _join(e.shared_countries), _join(p.name for p in e.shared_partners),
                     _join(f"{r.title} ({r.role})" for r in e.track_record),
                     "yes" if e.close_in_meaning else "",
                     (f"source {_join(e.dust_and_sandstorms.source)}, affected {_join(e.dust_and_sandstorms.affected)}"
                      if e.dust_and_sandstorms else ""),
                     _join(e.words_in_common),
                     f"{base}/{'s' if m.type == 'stakeholder' else 'p'}/{m.id}"])
    return rows
