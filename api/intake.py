"""Questionnaire intake: the spreadsheet template (XLSX or CSV) and its rows turned into records.

The template has a sheet ``stakeholders`` (one organisation a row) and a sheet ``projects`` (one
project a row), and a sheet ``vocabulary`` with the codes the columns accept. List cells separate
their items with ``;``. A resource may carry a detail after a colon (``funding: small grants``).
Countries may be ISO codes or English names; kinds, resources, roles and statuses their codes or
their labels. A CSV file holds one sheet: it is a projects sheet when it has a ``title`` column.

An upload is untrusted: its reading is bounded (rows, columns, cell length; for a workbook also the
zip's entries, their uncompressed size and compression ratio, and no DTD in any part, so no entity
expansion), and anything over a limit is a ``ValueError`` that says which limit, where.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, Callable, Iterable

from api.i18n import LANGUAGES, N_, gettext

from matcher.vocab import COUNTRIES, PROJECT_STATUSES, RESOURCE_KINDS, ROLES, STAKEHOLDER_KINDS

STAKEHOLDER_COLUMNS: dict[str, str] = {
    "id": "Stable id (letters, digits, - _ . :). Leave empty for a new organisation: one is made from the name.",
    "name": "Organisation name (required).",
    "original_name": "The name in the organisation's own script, if different.",
    "aliases": "Other names or acronyms, separated by ';'.",
    "kind": "One of: " + ", ".join(STAKEHOLDER_KINDS) + " (required).",
    "countries": "Countries where it works, separated by ';' (codes such as MN or names such as Mongolia).",
    "places": "Places, separated by ';' (for example: Gobi; Kubuqi Desert).",
    "description": "What the organisation does on desertification and land degradation.",
    "offers": "What it can offer, separated by ';': " + ", ".join(RESOURCE_KINDS) + ". A detail may follow ':'.",
    "needs": "What it needs, in the same form as offers.",
    "themes": "Optional DLD theme ids, separated by ';' (see the vocabulary sheet); others are assigned from the text.",
    "languages": "Working languages, separated by ';' (for example: en; mn).",
    "website": "Address starting with http:// or https://.",
    "contact_name": "Contact person (personal data: kept private, never shown in listings or matches).",
    "contact_email": "Contact e-mail (kept private).",
    "contact_phone": "Contact telephone (kept private).",
    "confirm_new": "Write 'yes' if this organisation was flagged as a possible duplicate and is really new.",
}
PROJECT_COLUMNS: dict[str, str] = {
    "id": "Stable id. Leave empty for a new project: one is made from the title.",
    "title": "Project title (required).",
    "description": "What the project does, where, with whom.",
    "countries": "Countries, separated by ';'.",
    "places": "Places, separated by ';'.",
    "themes": "Optional DLD theme ids, separated by ';'.",
    "status": "One of: " + ", ".join(PROJECT_STATUSES) + ".",
    "start_year": "Year it started or starts.",
    "end_year": "Year it ended or ends.",
    "budget_amount": "Total budget (number).",
    "budget_currency": "Currency of the budget (three letters, e.g. USD).",
    "funding_sought_amount": "Funding still sought (number).",
    "funding_sought_currency": "Currency of the funding sought.",
    "seeks": "What the project seeks, separated by ';', in the same form as offers.",
    "participants": "Participating organisations as id:role, separated by ';'. Roles: " + ", ".join(ROLES) + ".",
}

MAX_ROWS = 10_000
"""Rows a questionnaire sheet may fill below its header: a consortium's stakeholders, many times over."""
MAX_COLUMNS = 60
"""The template has 17 columns; room for notes, never Excel's 16,384."""
MAX_CELL_CHARS = 32_767
"""Excel's own maximum for one cell."""
MAX_ZIP_ENTRIES = 500
MAX_UNCOMPRESSED_BYTES = 50_000_000
MAX_COMPRESSION_RATIO = 100
"""Spreadsheet XML compresses some 5 to 20 times; a zip bomb thousands of times."""
_RATIO_FROM_BYTES = 1_000_000  # below this an entry cannot amount to much, whatever its ratio
# A DTD is the only way into entity expansion ("billion laughs") and external entities; a workbook
# never needs one. Searched for as the XML parser could read it: UTF-8 (or ASCII), UTF-16 either way.
_DTD_MARKERS = tuple(m.encode(e) for m in ("<!DOCTYPE", "<!ENTITY") for e in ("utf-8", "utf-16-le", "utf-16-be"))
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")

_COUNTRY_NAMES = {v.lower(): k for k, v in COUNTRIES.items()} | {
    "china": "CN", "mongolia": "MN", "japan": "JP", "korea": "KR", "south korea": "KR", "rok": "KR",
    "russia": "RU", "dprk": "KP", "north korea": "KP",
}


@dataclass
class RowError:
    sheet: str
    row: int
    column: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "field": self.column,
                "message": self.message}


@dataclass
class Row:
    """One filled row, as a record dict in the exchange format, with where it came from."""

    sheet: str
    row: int
    record: dict[str, Any]
    confirm_new: bool = False
    generated_id: bool = False
    errors: list[RowError] = field(default_factory=list)


def read_xlsx(data: bytes) -> dict[str, list[dict[str, Any]]]:
    """The questionnaire sheets of a workbook, its zip checked (see :func:`check_zip`) before openpyxl
    parses any of it, and its sheets read no further than the limits."""
    from openpyxl import load_workbook

    check_zip(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise ValueError(f"not a readable .xlsx workbook ({type(exc).__name__})") from exc
    try:
        sheets = {name: _rows_to_dicts(_sheet_rows(book[name], name))
                  for name in ("stakeholders", "projects") if name in book.sheetnames}
    finally:
        book.close()
    if not sheets:
        raise ValueError(N_("the workbook has neither a 'stakeholders' nor a 'projects' sheet"))
    return sheets


def check_zip(data: bytes) -> None:
    """Refuse a workbook that would cost more to open than a questionnaire can: too many zip entries,
    too much uncompressed, an entry compressed like a zip bomb, or any part with a DTD (entity
    expansion). Every entry is read, streamed, before openpyxl sees the file."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"not a readable .xlsx workbook ({exc})") from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise ValueError(f"the workbook has {len(entries)} parts; a questionnaire may have at most "
                             f"{MAX_ZIP_ENTRIES}")
        total = sum(e.file_size for e in entries)  # zipfile never gives more than an entry declares
        if total > MAX_UNCOMPRESSED_BYTES:
            raise ValueError(f"the workbook holds {total:,} bytes uncompressed; the limit is "
                             f"{MAX_UNCOMPRESSED_BYTES:,}")
        for entry in entries:
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size > _RATIO_FROM_BYTES and ratio > MAX_COMPRESSION_RATIO:
                raise ValueError(f"the workbook part {entry.filename!r} is compressed {ratio:.0f} times (a zip "
                                 f"bomb?); the limit is {MAX_COMPRESSION_RATIO}")
            try:
                with archive.open(entry) as part:
                    tail = b""
                    while chunk := part.read(1 << 16):
                        window = tail + chunk
                        if any(marker in window for marker in _DTD_MARKERS):
                            raise ValueError(f"the workbook part {entry.filename!r} declares a DTD or entities "
                                             "(<!DOCTYPE, <!ENTITY), which a spreadsheet never needs")
                        tail = window[-32:]
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
                raise ValueError(f"not a readable .xlsx workbook: part {entry.filename!r} ({exc})") from exc


def _sheet_rows(sheet: Any, name: str) -> list[tuple[Any, ...]]:
    """A sheet's rows, read no further than the limits: the size it declares is checked first, and the
    reading is bounded as well, since a sheet may declare nothing. Without a declared size openpyxl pads
    each row to its last cell (16,384 columns for a cell in XFD): each row is checked and cut to the
    limit as it comes, so that such rows are never kept."""
    declared_rows, declared_columns = sheet.max_row or 0, sheet.max_column or 0
    if declared_rows > MAX_ROWS + 1 or declared_columns > MAX_COLUMNS:
        raise ValueError(f"sheet {name!r} declares {declared_rows:,} rows and {declared_columns:,} columns; a "
                         f"questionnaire sheet may have at most {MAX_ROWS:,} rows below its header and "
                         f"{MAX_COLUMNS} columns")
    rows: list[tuple[Any, ...]] = []
    try:
        # one row past the limit, to see whether anything is there
        for number, values in enumerate(sheet.iter_rows(max_row=MAX_ROWS + 2, values_only=True), start=1):
            _check_row(f"sheet {name!r}", number, values)
            rows.append(values[:MAX_COLUMNS])
    except ValueError:
        raise
    except Exception as exc:  # the XML parser and openpyxl raise many kinds for a damaged sheet
        raise ValueError(f"sheet {name!r} could not be read after row {len(rows)} ({type(exc).__name__})") from exc
    return rows


def _check_row(where: str, number: int, values: tuple[Any, ...] | list[str]) -> None:
    """A row within the limits: not past the last row allowed, no cell past the last column, none
    longer than Excel's maximum. ``where`` names the sheet or file; ``number`` is the row as a
    spreadsheet shows it (the header is row 1). The cells past the last column are looked at only by
    ``count``, at C speed: a row may come padded to 16,384 of them."""
    beyond = values[MAX_COLUMNS:]
    if beyond and beyond.count(None) + beyond.count("") < len(beyond):
        raise ValueError(f"{where} row {number} has more than {MAX_COLUMNS} columns")
    cells = values[:MAX_COLUMNS]
    if number > MAX_ROWS + 1 and any(v is not None and str(v).strip() for v in cells):
        raise ValueError(f"{where} has more than {MAX_ROWS:,} rows below its header (row {number})")
    for column, value in enumerate(cells, start=1):
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            raise ValueError(f"{where} row {number} column {column} holds {len(value):,} characters; a cell "
                             f"may hold at most {MAX_CELL_CHARS:,}")


def read_csv(text: str) -> dict[str, list[dict[str, Any]]]:
    """One questionnaire sheet from CSV text, read no further than the limits (rows, columns, cell
    length); a line the csv module cannot read is a ``ValueError`` naming it."""
    reader = csv.reader(io.StringIO(text))
    rows: list[tuple[str, ...]] = []
    try:
        for values in reader:
            _check_row("the CSV file", len(rows) + 1, values)
            rows.append(tuple(values))
    except csv.Error as exc:  # e.g. "field larger than field limit (131072)"
        raise ValueError(f"the CSV file row {len(rows) + 1} (line {reader.line_num}) cannot be read: {exc}") from None
    if not rows:
        raise ValueError(N_("the CSV file is empty"))
    header = [h.strip().lower() for h in rows[0]]
    sheet = "projects" if "title" in header else "stakeholders"
    return {sheet: _rows_to_dicts(rows)}


def parse_json_line(line: str, *, max_depth: int = 32) -> Any:
    """One JSON Lines line, decoded; a ``ValueError`` in plain words for anything ``json.loads`` would
    refuse or choke on. The nesting is measured first, outside strings, so that a line of 100,000
    brackets is refused at once instead of running the decoder into a ``RecursionError``."""
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub("", line)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > max_depth:
            raise ValueError(f"the JSON is nested deeper than {max_depth} levels")
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        raise ValueError(f"not valid JSON: {exc}") from None


def _rows_to_dicts(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Header row → dicts keyed by column; the row number (as a spreadsheet shows it) under ``__row__``."""
    if not rows:
        return []
    header = [str(h).strip().lower() if h is not None else "" for h in rows[0]]
    out = []
    for number, values in enumerate(rows[1:], start=2):
        cells = {h: v for h, v in zip(header, values) if h}
        if all(v is None or str(v).strip() == "" for v in cells.values()):
            continue
        out.append({"__row__": number, **cells})
    return out


def rows_to_records(sheets: dict[str, list[dict[str, Any]]]) -> list[Row]:
    out: list[Row] = []
    for sheet, rows in sheets.items():
        columns = STAKEHOLDER_COLUMNS if sheet == "stakeholders" else PROJECT_COLUMNS
        for cells in rows:
            row = Row(sheet=sheet, row=cells["__row__"], record={})
            unknown = sorted(set(cells) - set(columns) - {"__row__"})
            for column in unknown:
                row.errors.append(RowError(sheet, row.row, column, "unknown column"))
            try:
                if sheet == "stakeholders":
                    _stakeholder(cells, row)
                else:
                    _project(cells, row)
            except _CellError as exc:
                row.errors.append(RowError(sheet, row.row, exc.column, exc.message))
            out.append(row)
    return out


class _CellError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _text(cells: dict[str, Any], column: str) -> str:
    value = cells.get(column)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _items(cells: dict[str, Any], column: str) -> list[str]:
    return [p.strip() for p in _text(cells, column).split(";") if p.strip()]


@lru_cache(maxsize=None)
def _in_every_language(label: str) -> frozenset[str]:
    """A vocabulary label as the questionnaire shows it in each of the interface's languages, lowered."""
    return frozenset(gettext(lang, label).lower() for lang in LANGUAGES)


def _code(value: str, vocabulary: dict[str, Any], column: str) -> str:
    wanted = value.strip().lower().replace(" ", "_").replace("-", "_")
    for code, label in vocabulary.items():
        text = label.label if hasattr(label, "label") else label
        if wanted == code or value.strip().lower() in _in_every_language(str(text)):
            return code
    raise _CellError(column, f"{value!r} is not one of: {', '.join(vocabulary)}")


def _countries(cells: dict[str, Any]) -> list[str]:
    out = []
    for value in _items(cells, "countries"):
        if re.fullmatch(r"[A-Za-z]{2}", value):
            out.append(value.upper())
        elif value.lower() in _COUNTRY_NAMES:
            out.append(_COUNTRY_NAMES[value.lower()])
        elif found := [code for code, name in COUNTRIES.items() if value.lower() in _in_every_language(name)]:
            out.append(found[0])
        else:
            raise _CellError("countries", f"{value!r} is not a country code or a known country name")
    return out


def _resources(cells: dict[str, Any], column: str) -> list[dict[str, str]]:
    out = []
    for item in _items(cells, column):
        kind, _, detail = item.partition(":")
        out.append({"kind": _code(kind, RESOURCE_KINDS, column), "detail": detail.strip()})
    return out


def _number(cells: dict[str, Any], column: str, *, integer: bool = False) -> float | int | None:
    text = _text(cells, column).replace(",", "")
    if not text:
        return None
    try:
        return int(text) if integer else float(text)
    except ValueError:
        raise _CellError(column, f"{text!r} is not a {'whole ' if integer else ''}number") from None


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "item"


def _safely(row: Row, convert: Callable[[], Any], fallback: Any) -> Any:
    """A cell's value, or its mistake noted on the row (and a neutral value), so that every mistake
    of a row is reported at once, not one per upload."""
    try:
        return convert()
    except _CellError as exc:
        row.errors.append(RowError(row.sheet, row.row, exc.column, exc.message))
        return fallback


def _stakeholder(cells: dict[str, Any], row: Row) -> None:
    name = _text(cells, "name")
    kind = _text(cells, "kind")
    record: dict[str, Any] = {"type": "stakeholder", "id": _text(cells, "id"), "name": name,
                              "kind": _safely(row, lambda: _code(kind, STAKEHOLDER_KINDS, "kind"), "") if kind else "",
                              "aliases": _items(cells, "aliases"), "countries": _safely(row, lambda: _countries(cells), []),
                              "places": _items(cells, "places"), "description": _text(cells, "description"),
                              "offers": _safely(row, lambda: _resources(cells, "offers"), []),
                              "needs": _safely(row, lambda: _resources(cells, "needs"), []),
                              "themes": _items(cells, "themes"), "languages": _items(cells, "languages")}
    if _text(cells, "original_name"):
        record["original_name"] = _text(cells, "original_name")
    if _text(cells, "website"):
        record["website"] = _text(cells, "website")
    contact = {k: _text(cells, f"contact_{k}") for k in ("name", "email", "phone") if _text(cells, f"contact_{k}")}
    if contact:
        record["contact"] = contact
    if not record["id"] and name:
        record["id"] = slug(name)
        row.generated_id = True
    row.confirm_new = _text(cells, "confirm_new").lower() in {"yes", "y", "true", "1"}
    row.record = record


def _project(cells: dict[str, Any], row: Row) -> None:
    title = _text(cells, "title")
    record: dict[str, Any] = {"type": "project", "id": _text(cells, "id"), "title": title,
                              "description": _text(cells, "description"),
                              "countries": _safely(row, lambda: _countries(cells), []),
                              "places": _items(cells, "places"), "themes": _items(cells, "themes"),
                              "seeks": _safely(row, lambda: _resources(cells, "seeks"), [])}
    if _text(cells, "status"):
        status = _safely(row, lambda: _code(_text(cells, "status"), PROJECT_STATUSES, "status"), None)
        if status:
            record["status"] = status
    for column in ("start_year", "end_year"):
        value = _safely(row, lambda column=column: _number(cells, column, integer=True), None)  # type: ignore[misc]
        if value is not None:
            record[column] = value
    for money in ("budget", "funding_sought"):
        amount = _safely(row, lambda money=money: _number(cells, f"{money}_amount"), None)  # type: ignore[misc]
        currency = _text(cells, f"{money}_currency").upper()
        if amount is not None or currency:
            if amount is None:
                if not any(e.column == f"{money}_amount" for e in row.errors):
                    row.errors.append(RowError(row.sheet, row.row, f"{money}_amount", "a currency is given but no amount"))
                continue
            record[money] = {"amount": amount, "currency": currency or "USD"}
    participants = []
    for item in _items(cells, "participants"):
        stakeholder, _, role = item.partition(":")
        code = _safely(row, lambda role=role: _code(role, ROLES, "participants"), "other") if role.strip() else "other"  # type: ignore[misc]
        participants.append({"stakeholder": stakeholder.strip(), "role": code})
    record["participants"] = participants
    if not record["id"] and title:
        record["id"] = slug(title)
        row.generated_id = True
    row.record = record


def column_for(sheet: str, loc: Iterable[Any]) -> str:
    """The template column a validation error's location points at."""
    parts = [str(p) for p in loc]
    if not parts:
        return "(row)"
    head = parts[0]
    if head in ("contact", "budget", "funding_sought") and len(parts) > 1:
        return f"{head}_{parts[1]}" if head != "contact" else f"contact_{parts[1]}"
    columns = STAKEHOLDER_COLUMNS if sheet == "stakeholders" else PROJECT_COLUMNS
    return head if head in columns else "(row)"


INSTRUCTIONS = (
    "dldmatch questionnaire: organisations and projects working on desertification and land degradation",
    "Fill one organisation a row in the sheet 'stakeholders' and one project a row in the sheet 'projects'.",
    "Keep the first row of each sheet as it is: its column names are codes, explained below and in each "
    "column's note.",
    "Separate several items in one cell with ';'. Codes for kinds, resources, roles and themes are in 'vocabulary'.",
    "Kinds, resources, roles, statuses and countries may be written as their codes or as their labels in "
    "the vocabulary sheet.",
    "Upload the file on the web page or with: dldmatch import questionnaire.xlsx",
    "Every row is checked before anything is stored: a file with a mistake stores nothing and says which row,",
    "which column and why. Contact details are personal data: they are kept private.",
)
"""The instructions sheet, line by line (each a message of the catalogues)."""


def template_messages() -> list[str]:
    """Every text of the questionnaire that the catalogues translate."""
    return [*INSTRUCTIONS, "Column | sheet | what to write", *STAKEHOLDER_COLUMNS.values(),
            *PROJECT_COLUMNS.values(), *PROJECT_STATUSES.values()]


def template_xlsx(theme_ids: list[tuple[str, str]], lang: str = "en") -> bytes:
    """The questionnaire workbook in one of the interface's languages: instructions, two sheets to
    fill (column names stay codes, each explained in a note in that language), and the vocabulary."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    about = book.active
    about.title = "instructions"
    t = partial(gettext, lang)
    lines = [t(line) for line in INSTRUCTIONS] + ["", t("Column | sheet | what to write")]
    lines += [f"{c} | stakeholders | {t(d)}" for c, d in STAKEHOLDER_COLUMNS.items()]
    lines += [f"{c} | projects | {t(d)}" for c, d in PROJECT_COLUMNS.items()]
    for n, line in enumerate(lines, start=1):
        about.cell(row=n, column=1, value=line)
    about["A1"].font = Font(bold=True, size=13)
    about.column_dimensions["A"].width = 120

    for title, columns in (("stakeholders", STAKEHOLDER_COLUMNS), ("projects", PROJECT_COLUMNS)):
        sheet = book.create_sheet(title)
        for n, (column, help_text) in enumerate(columns.items(), start=1):
            cell = sheet.cell(row=1, column=n, value=column)
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True)
            cell.comment = Comment(t(help_text), "dldmatch")
            sheet.column_dimensions[cell.column_letter].width = 40 if column in ("description", "offers") else 18
        sheet.freeze_panes = "A2"
        choice = {"stakeholders": ("kind", STAKEHOLDER_KINDS), "projects": ("status", PROJECT_STATUSES)}[title]
        letter = sheet.cell(row=1, column=list(columns).index(choice[0]) + 1).column_letter
        validation = DataValidation(type="list", formula1='"' + ",".join(choice[1]) + '"', allow_blank=True)
        validation.add(f"{letter}2:{letter}1000")
        sheet.add_data_validation(validation)

    vocab = book.create_sheet("vocabulary")
    vocab.append(["list", "code", "label"])
    for name, items in (("kind", STAKEHOLDER_KINDS), ("status", PROJECT_STATUSES), ("role", ROLES)):
        for code, label in items.items():
            vocab.append([name, code, t(label)])
    for code, kind in RESOURCE_KINDS.items():
        vocab.append(["resource", code, t(kind.label)])
    for code, label in COUNTRIES.items():
        vocab.append(["country", code, t(label)])
    for code, label in theme_ids:
        vocab.append(["theme", code, label])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_csv(sheet: str) -> str:
    columns = STAKEHOLDER_COLUMNS if sheet == "stakeholders" else PROJECT_COLUMNS
    return ",".join(columns) + "\n"
