"""Hostile uploads end quickly in a 422 that names the limit, never in a 500 or an unbounded read: huge
declared sheets, entity bombs, zip bombs, over-long cells, deep JSON. The files are built here."""

from __future__ import annotations

import io
import re
import time
import tracemalloc
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from api import intake
from api.intake import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_ROWS,
    parse_json_line,
    read_csv,
    read_xlsx,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOMB = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{n} "{("&lol%s;" % (n - 1 if n > 1 else "")) * 10}">' for n in range(1, 10))
        + "]>\n")


DIMENSION = r'<dimension ref="[^"]*" ?/>'
SHEET = "xl/worksheets/sheet1.xml"
SST = "xl/sharedStrings.xml"
SST_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def workbook(rows: list[list[Any]] | None = None) -> bytes:
    """A questionnaire with a stakeholders sheet (xl/worksheets/sheet1.xml) holding these rows."""
    book = Workbook()
    sheet = book.active
    sheet.title = "stakeholders"
    for row in rows or [["id", "name", "kind"], ["gobi-1", "Gobi Ranger Network", "ngo"]]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rewritten(data: bytes, change: dict[str, Any], extra: dict[str, bytes] | None = None) -> bytes:
    """The workbook with some parts changed (a function of the old text) and others added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            body = source.read(entry)
            if entry.filename in change:
                body = change[entry.filename](body.decode()).encode()
            target.writestr(entry.filename, body)
        for name, body in (extra or {}).items():
            target.writestr(name, body)
    return out.getvalue()


def upload(client: TestClient, name: str, data: bytes, mime: str = XLSX) -> dict[str, Any]:
    response = client.post("/import", params={"dry_run": "true"}, files={"file": (name, data, mime)})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["errors"][0]["field"] == "file"
    return body


def test_a_plain_questionnaire_still_reads() -> None:
    assert read_xlsx(workbook())["stakeholders"][0]["name"] == "Gobi Ranger Network"


def test_a_sheet_declaring_the_whole_of_excel_is_refused_before_it_is_read(client: TestClient) -> None:
    huge = rewritten(workbook(), {SHEET:
                                  lambda xml: re.sub(DIMENSION, '<dimension ref="A1:XFD1048576"/>', xml)})
    with pytest.raises(ValueError, match=r"'stakeholders' declares 1,048,576 rows and 16,384 columns.*10,000"):
        read_xlsx(huge)
    assert "declares 1,048,576 rows" in upload(client, "huge.xlsx", huge)["errors"][0]["message"]


def far_cells(last: str) -> bytes:
    """No dimension element, and 3,000 rows each with a cell in Excel's last column: openpyxl pads each
    row to it, 3,000 rows of 16,384 cells (400 MB kept as a list)."""
    cells = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>s{r}</t></is></c>{last.format(r=r)}</row>'
                    for r in range(3, 3003))

    def far(xml: str) -> str:
        return re.sub(DIMENSION, "", xml).replace("</sheetData>", cells + "</sheetData>")

    return rewritten(workbook(), {SHEET: far})


def peak_bytes_reading(data: bytes) -> tuple[int, Any]:
    tracemalloc.start()
    try:
        try:
            outcome: Any = read_xlsx(data)
        except ValueError as exc:
            outcome = exc
        return tracemalloc.get_traced_memory()[1], outcome
    finally:
        tracemalloc.stop()


def test_a_sheet_that_declares_nothing_is_still_read_within_the_limits() -> None:
    peak, outcome = peak_bytes_reading(far_cells('<c r="XFD{r}" t="inlineStr"><is><t>far</t></is></c>'))
    assert isinstance(outcome, ValueError) and f"row 3 has more than {MAX_COLUMNS} columns" in str(outcome)
    assert peak < 50_000_000
    # empty (formatted) cells out there are no content: read, and the padding is not kept
    peak, outcome = peak_bytes_reading(far_cells('<c r="XFD{r}" s="0"/>'))
    assert len(outcome["stakeholders"]) == 3001 and all(len(r) <= MAX_COLUMNS + 1 for r in outcome["stakeholders"])
    assert peak < 50_000_000


def test_too_many_rows_are_refused_naming_the_limit() -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>s{r}</t></is></c></row>'
                   for r in range(3, MAX_ROWS + 3))

    def many(xml: str) -> str:
        xml = re.sub(DIMENSION, "", xml)
        return xml.replace("</sheetData>", rows + "</sheetData>")

    with pytest.raises(ValueError, match=f"more than {MAX_ROWS:,} rows below its header"):
        read_xlsx(rewritten(workbook(), {SHEET: many}))


def with_shared_strings(text: str, *, prolog: str = "") -> bytes:
    """The workbook with the name in row 2 taken from a shared strings part (as Excel writes them)."""
    data = workbook()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read(SHEET).decode()
    assert '<c r="B2" t="inlineStr"><is><t>Gobi Ranger Network</t></is></c>' in sheet
    return rewritten(data, {
        SHEET: lambda xml: xml.replace('<c r="B2" t="inlineStr"><is><t>Gobi Ranger Network</t></is></c>',
                                       '<c r="B2" t="s"><v>0</v></c>'),
        "[Content_Types].xml": lambda xml: xml.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" '
                                                       'ContentType="application/vnd.openxmlformats-officedocument.'
                                                       'spreadsheetml.sharedStrings+xml" /></Types>'),
        "xl/_rels/workbook.xml.rels": lambda xml: xml.replace(
            "</Relationships>", '<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                                'relationships/sharedStrings" Target="sharedStrings.xml" Id="rId9" /></Relationships>'),
    }, {SST: f'{prolog}<sst xmlns="{SST_NS}" count="1" uniqueCount="1"><si><t>{text}</t></si></sst>'.encode()})


def test_shared_strings_are_read() -> None:
    assert read_xlsx(with_shared_strings("Gobi Ranger Network"))["stakeholders"][0]["name"] == "Gobi Ranger Network"


@pytest.mark.parametrize("part", [SHEET, SST])
def test_an_entity_bomb_in_a_sheet_or_the_shared_strings_is_a_422(client: TestClient, part: str) -> None:
    if part == SST:
        bomb = with_shared_strings("&lol9;", prolog=BOMB)
    else:
        bomb = rewritten(workbook(), {SHEET: lambda xml: BOMB + xml.replace("<t>Gobi Ranger Network</t>",
                                                                            "<t>&lol9;</t>")})
    with pytest.raises(ValueError, match=r"declares a DTD or entities"):
        read_xlsx(bomb)
    assert part in upload(client, "bomb.xlsx", bomb)["errors"][0]["message"]


def test_an_entity_declaration_in_utf16_is_found_too() -> None:
    utf16 = ('<?xml version="1.0" encoding="UTF-16"?>' + BOMB.split("\n", 1)[1]
             + '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>').encode("utf-16")
    with pytest.raises(ValueError, match="DTD"):
        read_xlsx(rewritten(workbook(), {}, {"xl/theme/extra.xml": utf16}))


def test_too_many_zip_entries_are_refused(client: TestClient) -> None:
    data = rewritten(workbook(), {}, {f"xl/media/filler{n}.bin": b"x" for n in range(intake.MAX_ZIP_ENTRIES)})
    assert "parts; a questionnaire may have at most 500" in upload(client, "many.xlsx", data)["errors"][0]["message"]


def test_too_much_uncompressed_and_a_zip_bomb_entry_are_refused(client: TestClient) -> None:
    zeros = rewritten(workbook(), {}, {"xl/media/zeros.bin": bytes(intake.MAX_UNCOMPRESSED_BYTES + 1)})
    assert len(zeros) < 1_000_000  # well under the upload limit: the size is the zip's declared one
    started = time.perf_counter()
    message = upload(client, "zeros.xlsx", zeros)["errors"][0]["message"]
    assert "bytes uncompressed; the limit is 50,000,000" in message
    assert time.perf_counter() - started < 5
    dense = rewritten(workbook(), {}, {"xl/media/dense.bin": bytes(5_000_000)})
    with pytest.raises(ValueError, match=r"'xl/media/dense.bin' is compressed \d+ times"):
        read_xlsx(dense)


def test_a_cell_longer_than_excel_allows_is_named(client: TestClient) -> None:
    # written into the XML: openpyxl itself would cut the text to Excel's maximum
    data = rewritten(workbook([["id", "name", "description"], ["gobi-1", "Gobi", "short"]]),
                     {SHEET: lambda xml: xml.replace("<t>short</t>", f"<t>{'x' * (MAX_CELL_CHARS + 1)}</t>")})
    message = upload(client, "long.xlsx", data)["errors"][0]["message"]
    assert message == "sheet 'stakeholders' row 2 column 3 holds 32,768 characters; a cell may hold at most 32,767"


def test_not_a_zip_is_a_422(client: TestClient) -> None:
    assert "not a readable .xlsx workbook" in upload(client, "fake.xlsx", b"PK\x03\x04 no zip")["errors"][0]["message"]


# ---- CSV -------------------------------------------------------------------------------------------


def test_a_csv_cell_over_the_csv_modules_own_limit_is_a_422_naming_the_row(client: TestClient) -> None:
    text = "id,name,description\ngobi-1,Gobi,ok\ngobi-2,Gobi,\"" + "x" * 140_000 + "\"\n"
    with pytest.raises(ValueError, match=r"the CSV file row 3 \(line 3\) cannot be read: field larger than"):
        read_csv(text)
    message = upload(client, "long.csv", text.encode(), "text/csv")["errors"][0]["message"]
    assert "row 3" in message and "field larger than field limit" in message


def test_csv_limits_on_cells_rows_and_columns() -> None:
    with pytest.raises(ValueError, match=r"the CSV file row 2 column 2 holds 32,768 characters"):
        read_csv("id,name\ngobi," + "x" * (MAX_CELL_CHARS + 1) + "\n")
    with pytest.raises(ValueError, match=f"the CSV file row 2 has more than {MAX_COLUMNS} columns"):
        read_csv("id,name\n" + ",".join(["x"] * (MAX_COLUMNS + 1)) + "\n")
    with pytest.raises(ValueError, match=f"more than {MAX_ROWS:,} rows below its header \\(row {MAX_ROWS + 2}\\)"):
        read_csv("id,name\n" + "".join(f"s{n},Name {n}\n" for n in range(MAX_ROWS + 1)))
    assert len(read_csv("id,name\n" + "".join(f"s{n},Name {n}\n" for n in range(MAX_ROWS)))["stakeholders"]) == MAX_ROWS


# ---- JSON Lines ------------------------------------------------------------------------------------


def test_deeply_nested_json_is_a_value_error_not_a_recursion_error() -> None:
    started = time.perf_counter()
    with pytest.raises(ValueError, match="nested deeper than 32 levels"):
        parse_json_line("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nested deeper than 32 levels"):
        parse_json_line('{"a": ' * 33 + "1" + "}" * 33)
    assert time.perf_counter() - started < 1
    assert parse_json_line('{"a": ' * 32 + "1" + "}" * 32) is not None
    with pytest.raises(ValueError, match="nested deeper than 3 levels"):
        parse_json_line("[[[[1]]]]", max_depth=3)


def test_brackets_inside_strings_do_not_count() -> None:
    line = '{"type": "stakeholder", "name": "[[[[{{{{ \\" [[[[", "aliases": ["]]]]"]}'
    assert parse_json_line(line, max_depth=2)["name"] == '[[[[{{{{ " [[[['


@pytest.mark.parametrize("line, message", [
    ('{"id": ', "not valid JSON: Expecting value (column 8)"),
    ('{"n": ' + "1" * 5_000 + "}", "not valid JSON: Exceeds the limit"),
])
def test_other_undecodable_lines_are_value_errors_in_plain_words(line: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_json_line(line)
    assert str(caught.value).startswith(message)


def test_a_deeply_nested_json_lines_upload_is_a_422_naming_the_line(client) -> None:  # type: ignore[no-untyped-def]
    body = b'{"type": "stakeholder"}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n"
    response = client.post("/import", files={"file": ("deep.jsonl", body, "application/x-ndjson")})
    assert response.status_code == 422
    assert any(e.get("line") == 2 and "nested deeper" in e["message"] for e in response.json()["errors"])
