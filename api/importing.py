"""Imports: JSON Lines files and filled questionnaires (XLSX, CSV), every line or row validated
before anything is written (one bad one imports nothing, each error named), probable duplicates of
stored organisations flagged instead of imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from pydantic import ValidationError
from sqlmodel import Session, select

from api import intake
from api.core import Core, Part, Progress, no_progress
from api.errors import InvalidInput
from api.i18n import N_
from api.messages import plain
from api.schemas import FlaggedRow, ImportReport, IntakeReport, ProjectIn, StakeholderIn, StakeholderRef
from api.writing import Writer
from embeddings.texts import stakeholder_text
from matcher.dedupe import Candidate, find_duplicates
from store import repo
from store.models import Stakeholder


class Importer(Part):
    def __init__(self, core: Core, writer: Writer) -> None:
        super().__init__(core)
        self.writer = writer

    def parse_lines(self, lines: Iterable[str]) -> tuple[list[StakeholderIn], list[ProjectIn]]:
        """Validate every line of a JSON Lines file; raise one error that names each bad line and field."""
        errors: list[dict[str, Any]] = []
        stakeholders: list[StakeholderIn] = []
        projects: list[ProjectIn] = []
        seen: dict[tuple[str, str], int] = {}
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                raw = intake.parse_json_line(line)  # bounded: too deep a nesting is refused before decoding
            except ValueError as exc:
                errors.append({"line": number, "field": None, "message": str(exc)})
                continue
            if not isinstance(raw, dict):
                errors.append({"line": number, "field": None, "message": N_("a line must be a JSON object")})
                continue
            kind = raw.get("type")
            model = {"stakeholder": StakeholderIn, "project": ProjectIn}.get(kind)  # type: ignore[arg-type]
            if model is None:
                errors.append({"line": number, "field": "type",
                               "message": N_("must be 'stakeholder' or 'project'")})
                continue
            try:
                record = model.model_validate(raw)
            except ValidationError as exc:
                errors.extend({"line": number, "field": _loc(e["loc"]), "message": plain(e)} for e in exc.errors())
                continue
            errors.extend({"line": number, **e} for e in self.themes.check(record))
            previous = seen.get((kind, record.id))
            if previous:
                errors.append({"line": number, "field": "id",
                               "message": f"{kind} {record.id!r} appears again (first on line {previous})"})
                continue
            seen[(kind, record.id)] = number
            (stakeholders if kind == "stakeholder" else projects).append(record)  # type: ignore[arg-type]
        if not errors:
            errors.extend(self.writer.check_participants(projects, stakeholders, lines=seen))
        if errors:
            raise InvalidInput(f"{len(errors)} error(s); nothing was imported", errors=errors)
        return stakeholders, projects

    def import_lines(self, lines: Iterable[str], progress: Progress = no_progress) -> ImportReport:
        stakeholders, projects = self.parse_lines(lines)
        return self.writer.write(stakeholders, projects, progress)

    def import_files(self, paths: Sequence[Path], progress: Progress = no_progress) -> ImportReport:
        lines: list[str] = []
        for path in paths:
            # JSON Lines are separated by newlines only: splitlines() would also split at U+2028 in a string.
            lines.extend(path.read_text(encoding="utf-8").split("\n"))
        return self.import_lines(lines, progress)

    def import_upload(self, filename: str, data: bytes, *, dry_run: bool = False,
                      progress: Progress = no_progress) -> IntakeReport:
        """Import an uploaded file by its kind: JSON Lines, or a questionnaire as .xlsx or .csv."""
        suffix = Path(filename).suffix.lower()
        if suffix in (".jsonl", ".json", ".ndjson"):
            lines = _decode(data).split("\n")
            stakeholders, projects = self.parse_lines(lines)
            imported = None if dry_run else self.writer.write(stakeholders, projects, progress)
            return IntakeReport(rows=len(stakeholders) + len(projects), dry_run=dry_run, imported=imported, flagged=[])
        if suffix not in (".xlsx", ".csv"):
            raise InvalidInput(N_("unsupported file"), errors=[{"field": "file", "message":
                               f"{filename!r}: expected a .jsonl, .xlsx or .csv file"}])
        return self.import_sheets(read_sheets(filename, data), dry_run=dry_run, progress=progress)

    def import_sheets(self, sheets: dict[str, list[dict[str, Any]]], *, dry_run: bool = False,
                      progress: Progress = no_progress, self_declared: bool = False,
                      new_only: bool = False) -> IntakeReport:
        """Validate every questionnaire row, flag probable duplicates, then import the rest at once.

        A file with any bad row imports nothing; the error names each row, column and reason.
        ``self_declared``: the organisations sent these facts themselves (an approved submission).
        ``new_only``: a row may only add a record, never change a stored one (what the public sends).
        """
        rows = intake.rows_to_records(sheets)
        errors = [e for r in rows for e in r.errors]
        stakeholders: list[tuple[intake.Row, StakeholderIn]] = []
        projects: list[tuple[intake.Row, ProjectIn]] = []
        seen: dict[tuple[str, str], int] = {}
        for r in rows:
            model = StakeholderIn if r.sheet == "stakeholders" else ProjectIn
            try:
                record = model.model_validate(r.record)
            except ValidationError as exc:  # every field's mistake, beside those of its cells read above
                noted = {e.column for e in r.errors}
                errors.extend(intake.RowError(r.sheet, r.row, column, plain(e)) for e in exc.errors()
                              if (column := intake.column_for(r.sheet, e["loc"])) not in noted)
                continue
            if r.errors:
                continue
            errors.extend(intake.RowError(r.sheet, r.row, "themes", e["message"]) for e in self.themes.check(record))
            if (r.sheet, record.id) in seen:
                errors.append(intake.RowError(r.sheet, r.row, "id", f"{record.id!r} appears again (first on row "
                                                                   f"{seen[(r.sheet, record.id)]})"))
                continue
            seen[(r.sheet, record.id)] = r.row
            if isinstance(record, StakeholderIn):
                stakeholders.append((r, record.model_copy(update={"self_declared": True}) if self_declared else record))
            else:
                projects.append((r, record))  # type: ignore[arg-type]

        if new_only:
            errors.extend(self._stored(stakeholders, projects))
        flagged = self._flag_duplicates(stakeholders)
        flagged_ids = {f.id for f in flagged}
        stakeholders = [(r, rec) for r, rec in stakeholders if rec.id not in flagged_ids]
        known = {rec.id for _, rec in stakeholders}
        with Session(self.engine) as session:
            wanted = {p.stakeholder for _, rec in projects for p in rec.participants} - known
            known |= set(repo.stakeholders_by_external_id(session, external_ids=wanted))
        for r, rec in projects:
            for p in rec.participants:
                if p.stakeholder not in known:
                    why = ("was flagged as a possible duplicate; review it first" if p.stakeholder in flagged_ids
                           else "is not a stored or submitted organisation id")
                    errors.append(intake.RowError(r.sheet, r.row, "participants", f"{p.stakeholder!r} {why}"))
        if errors:
            errors.sort(key=lambda e: (e.sheet != "stakeholders", e.row))
            raise InvalidInput(f"{len(errors)} error(s) in the questionnaire; nothing was imported",
                               errors=[e.to_json() for e in errors])
        imported = None if dry_run else self.writer.write([rec for _, rec in stakeholders], [rec for _, rec in projects],
                                                     progress)
        return IntakeReport(rows=len(rows), dry_run=dry_run, imported=imported, flagged=flagged)

    def _stored(self, stakeholders: list[tuple[intake.Row, StakeholderIn]],
                projects: list[tuple[intake.Row, ProjectIn]]) -> list[intake.RowError]:
        """Rows whose id is a stored record: from the public, a change of someone else's record."""
        with Session(self.engine) as session:
            taken_s = set(repo.stakeholders_by_external_id(session, external_ids=[r.id for _, r in stakeholders]))
            taken_p = set(repo.projects_by_external_id(session, external_ids=[r.id for _, r in projects]))
        why = ("is already in dldmatch: only its members or the secretariat change it (sign in, or write to the "
               "secretariat); a new {} needs another name or id")
        return ([intake.RowError(r.sheet, r.row, "id" if not r.generated_id else "name", f"{rec.id!r} " +
                                 why.format("organisation")) for r, rec in stakeholders if rec.id in taken_s] +
                [intake.RowError(r.sheet, r.row, "id" if not r.generated_id else "title", f"{rec.id!r} " +
                                 why.format("project")) for r, rec in projects if rec.id in taken_p])

    def _flag_duplicates(self, submitted: list[tuple[intake.Row, StakeholderIn]]) -> list[FlaggedRow]:
        """New organisations (ids not stored yet, not confirmed as new) that are probably stored ones."""
        with Session(self.engine) as session:
            stored = session.exec(select(Stakeholder)).all()
            stored_ids = {s.external_id for s in stored}
            fresh = [(r, rec) for r, rec in submitted if rec.id not in stored_ids and not r.confirm_new]
            if not fresh or not stored:
                return []
            vectors = None
            ids, matrix = repo.vectors(session, entity_type="stakeholder", model_id=self.embedder.model_id)
            if len(ids):
                vectors = self.embedder.embed([stakeholder_text(rec.name, rec.description, []) for _, rec in fresh])
            order = {int(i): n for n, i in enumerate(ids)}
            existing_rows = [s for s in stored if s.id in order]
            dupes = find_duplicates(
                [Candidate(rec.id, rec.name, tuple(rec.aliases)) for _, rec in fresh],
                [Candidate(s.external_id, s.name, tuple(s.aliases)) for s in existing_rows],
                new_vectors=vectors,
                existing_vectors=matrix[[order[s.id] for s in existing_rows]] if vectors is not None else None,  # type: ignore[index]
            )
        by_id = {rec.id: (r, rec) for r, rec in fresh}
        by_key = {s.external_id: s for s in stored}
        return [FlaggedRow(sheet=by_id[d.new][0].sheet, row=by_id[d.new][0].row, id=d.new, name=by_id[d.new][1].name,
                           similar_to=StakeholderRef(id=d.existing, name=by_key[d.existing].name,
                                                     kind=by_key[d.existing].kind),
                           reason=d.reason, similarity=d.similarity)  # type: ignore[arg-type]
                for d in dupes]


def read_sheets(filename: str, data: bytes) -> dict[str, list[dict[str, Any]]]:
    """The rows of a questionnaire, .xlsx or .csv (422 for any other file, or one that cannot be read)."""
    suffix = Path(filename).suffix.lower()
    try:
        if suffix == ".xlsx":
            return intake.read_xlsx(data)
        if suffix == ".csv":
            return intake.read_csv(_decode(data))
    except ValueError as exc:
        raise InvalidInput(N_("unreadable file"), errors=[{"field": "file", "message": str(exc)}]) from exc
    raise InvalidInput(N_("unsupported file"), errors=[{"field": "file", "message":
                       f"{filename!r}: expected a .xlsx or .csv questionnaire"}])


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(N_("unreadable file"), errors=[{"field": "file", "message": N_("the file is not UTF-8 text")}]) \
            from exc


def _loc(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc) or "(line)"
