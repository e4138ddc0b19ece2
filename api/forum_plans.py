"""Forum plans: the schedule of bilateral meetings (solved by the pure :mod:`matcher.schedule`, every
pair scored with the partner search's own reciprocal score), themed round-tables, and the exports a
secretariat hands out (CSV agenda, each participant's calendar)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from functools import partial
from typing import Any, Callable, Iterable

import numpy as np
from sqlmodel import Session, select

from api.cells import safe_row
from api.core import Core
from api.errors import Conflict, InvalidInput, NotFound
from api.i18n import N_, gettext
from api.profiles import render, stakeholder_profiles
from api.schemas import (ExplanationOut, ForumOut, MeetingOut, RoundTableOut, RoundTablesOut, ScheduleOut,
                         ScheduleRequest, StakeholderRef)
from matcher.rank import Profile, score_pair
from matcher.vocab import COUNTRIES, RESOURCE_KINDS
from matcher.schedule import Attendee, Infeasible, Lock, Problem, pair, roundtables, solve
from store import repo
from store.models import Forum, Stakeholder


def forum_row(session: Session, forum_id: str) -> Forum:
    if "\x00" in forum_id:  # no stored id has one, and PostgreSQL refuses the query
        raise NotFound(f"no forum with id {forum_id!r}")
    row = session.exec(select(Forum).where(Forum.external_id == forum_id)).first()
    if row is None:
        raise NotFound(f"no forum with id {forum_id!r}")
    return row


def profiles_of(core: Core, session: Session, ids: list[str]) -> tuple[dict[str, Profile], np.ndarray]:
    rows = repo.stakeholders_by_external_id(session, external_ids=ids)
    profiles = stakeholder_profiles(session, list(rows.values()))
    by_ext = {rows[e].external_id: profiles[rows[e].id] for e in ids if e in rows}  # type: ignore[index]
    stored = repo.embeddings(session, entity_type="stakeholder", model_id=core.embedder.model_id,
                             entity_ids=[r.id for r in rows.values()])
    dim = next(iter(stored.values())).dim if stored else 1
    matrix = np.stack([np.frombuffer(stored[rows[e].id].vector, dtype=np.float32) if rows[e].id in stored  # type: ignore[index]
                       else np.zeros(dim, dtype=np.float32) for e in ids])
    return by_ext, matrix



def scores_with(core: Core, session: Session, row: Forum, key: str
                ) -> tuple[dict[str, Profile], dict[tuple[str, str], float]]:
    """The pair scores of one participant with each other one, as :func:`problem_of` computes them
    (n - 1 pairs, not all n(n - 1)/2: a participant's page stays fast in a forum of 500)."""
    stored = repo.stakeholders_by_external_id(session, external_ids=[q["stakeholder"] for q in row.participants])
    ids = [p["stakeholder"] for p in row.participants if p["stakeholder"] in stored]  # one query, not one a participant
    profiles, matrix = profiles_of(core, session, ids)
    if key not in profiles:
        return profiles, {}
    floor = getattr(core.embedder, "similarity_floor", 0.0)
    i = ids.index(key)
    sims = (matrix @ matrix[i] - floor) / (1.0 - floor)
    scores = {}
    for j, b in enumerate(ids):
        if b != key:
            forward = score_pair(profiles[key], profiles[b], float(sims[j]), evidence=False).score
            backward = score_pair(profiles[b], profiles[key], float(sims[j]), evidence=False).score
            scores[pair(key, b)] = round((forward + backward) / 2, 6)
    return profiles, scores


def problem_of(core: Core, session: Session, row: Forum) -> tuple[Problem, dict[str, Profile], dict[tuple[str, str], float]]:
    ids = [p["stakeholder"] for p in row.participants]
    stored = repo.stakeholders_by_external_id(session, external_ids=ids)
    gone = [{"field": f"participants.{n}.stakeholder",
             "message": f"the stakeholder {i!r} was deleted; remove them from the forum"}
            for n, i in enumerate(ids) if i not in stored]
    if gone:
        raise InvalidInput(N_("a participant's stakeholder was deleted"), errors=gone)
    profiles, matrix = profiles_of(core, session, ids)
    floor = getattr(core.embedder, "similarity_floor", 0.0)
    sims = (matrix @ matrix.T - floor) / (1.0 - floor)
    scores: dict[tuple[str, str], float] = {}
    for i, a in enumerate(ids):
        for j in range(i + 1, len(ids)):
            b = ids[j]
            forward = score_pair(profiles[a], profiles[b], float(sims[i, j]), evidence=False).score
            backward = score_pair(profiles[b], profiles[a], float(sims[i, j]), evidence=False).score
            scores[pair(a, b)] = round((forward + backward) / 2, 6)
    people = repo.stakeholders_by_external_id(session, external_ids=ids)
    must, never = wishes_of(row.participants, scores)
    attendees = []
    for p in row.participants:
        slots = p["available_slots"] or list(range(1, len(row.slots) + 1))
        languages = p["languages"] or people[p["stakeholder"]].languages or ["en"]
        key = p["stakeholder"]
        attendees.append(Attendee(
            key=key, slots=frozenset(s - 1 for s in slots),
            languages=frozenset(x.lower() for x in languages), interpreter=p["interpreter"],
            max_meetings=p["max_meetings"] if p["max_meetings"] is not None else len(row.slots),
            must_meet=frozenset(p["must_meet"]) | must.get(key, frozenset()),
            no_thanks=frozenset(p["no_thanks"]) | never.get(key, frozenset())))
    problem = Problem(attendees=attendees, n_slots=len(row.slots), tables=row.tables, scores=scores,
                      min_meetings=row.min_meetings,
                      locks=[Lock(lk["a"], lk["b"], lk["slot"] - 1, lk.get("table")) for lk in row.locks],
                      removed={tuple(r) for r in row.removed})  # type: ignore[misc]
    return problem, profiles, scores



WISH_BONUS = 0.5
"""How much a pair's score rises for each side that would like the meeting (marked *meet*, or asked
for it and not yet answered): x1.5 for one side, x2 for both, so the schedule places wished meetings
first among those that fit alike."""


def wishes_of(participants: list[dict[str, Any]], scores: dict[tuple[str, str], float]
              ) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """What the participants said, for the solver: the pairs that must meet (a request accepted)
    and those never placed (a request declined), by participant; and ``scores`` raised in place for
    each side that wishes the pair (a *meet* mark or an open request)."""
    must: dict[str, set[str]] = {}
    never: dict[str, set[str]] = {}
    by_id = {p["stakeholder"]: p for p in participants}
    for key, p in by_id.items():
        for asker in p.get("accepted", []):
            if key in by_id.get(asker, {}).get("asked", []):
                must.setdefault(key, set()).add(asker)
                must.setdefault(asker, set()).add(key)
        for asker in p.get("declined", []):
            never.setdefault(key, set()).add(asker)
            never.setdefault(asker, set()).add(key)
    for key, p in by_id.items():
        answered = set(p.get("accepted", [])) | set(p.get("declined", []))
        wished = set(p.get("meet", [])) | {o for o in p.get("asked", [])
                                            if key not in by_id.get(o, {}).get("accepted", [])
                                            and key not in by_id.get(o, {}).get("declined", [])}
        for other in wished - answered:
            k = pair(key, other)
            if k in scores:
                scores[k] = round(scores[k] * (1 + WISH_BONUS), 6)
    return ({k: frozenset(v) for k, v in must.items()}, {k: frozenset(v) for k, v in never.items()})


class Plans:
    """Schedules, round-tables and exports of the forums that :class:`api.forums.Forums` stores; it
    stores a solved schedule through their ``change`` (one read-change-write transaction)."""

    def __init__(self, core: Core, *, change: Callable[..., ForumOut], get: Callable[[str], ForumOut]) -> None:
        self.core, self._change, self._get = core, change, get

    def schedule(self, forum_id: str, request: ScheduleRequest | None = None) -> ScheduleOut:
        """Solve (or re-solve around the locks and removals) and store the schedule."""
        request = request or ScheduleRequest()
        self.core.index("stakeholder")
        with Session(self.core.engine) as session:
            row = forum_row(session, forum_id)
            if len(row.participants) < 2:
                raise InvalidInput(N_("too few participants"), errors=[{"field": "participants",
                                                                    "message": N_("a forum needs two participants")}])
            problem, _, _ = problem_of(self.core, session, row)
            solved_version = row.version
        try:  # outside any transaction: a solve takes seconds, and no writer should wait for it
            solution = solve(problem, method=request.method,  # never longer than the server allows
                             time_limit=min(request.time_limit, self.core.settings.schedule_max_seconds))
        except Infeasible as exc:
            raise InvalidInput(N_("the schedule cannot meet these requests"), errors=exc.errors) from exc

        def store(row: Forum) -> None:
            if row.version != solved_version:
                raise Conflict(f"the forum {forum_id!r} changed while its schedule was being computed; ask again")
            row.schedule = {
                "method": solution.method, "status": solution.status, "total_score": solution.total_score,
                "objective": solution.objective, "bound": solution.bound, "bound_kind": solution.bound_kind,
                "gap": solution.gap, "seconds": solution.seconds,
                "meetings": [{"a": m.a, "b": m.b, "slot": m.slot + 1, "table": m.table, "score": m.score,
                              "locked": m.locked} for m in solution.meetings],
                "unmet": {k: list(v) for k, v in solution.unmet.items()},
            }

        self._change(forum_id, store, retry=False)
        return self.get_schedule(forum_id)

    def get_schedule(self, forum_id: str) -> ScheduleOut:
        with Session(self.core.engine) as session:
            row = forum_row(session, forum_id)
            if row.schedule is None:
                raise NotFound(f"forum {forum_id!r} has no schedule yet: POST /forums/{forum_id}/schedule")
            people = repo.stakeholders_by_external_id(session, external_ids=[p["stakeholder"]
                                                                             for p in row.participants])
            ids = [p["stakeholder"] for p in row.participants if p["stakeholder"] in people]  # not deleted since
            profiles, matrix = profiles_of(self.core, session, ids)
            position = {k: n for n, k in enumerate(ids)}
            meetings = []
            partner_refs = {p.external_id: p for p in people.values()}
            kept = [m for m in row.schedule["meetings"] if m["a"] in people and m["b"] in people]
            for n, m in enumerate(kept, start=1):
                a, b = profiles[m["a"]], profiles[m["b"]]
                floor = getattr(self.core.embedder, "similarity_floor", 0.0)
                sim = (float(matrix[position[m["a"]]] @ matrix[position[m["b"]]]) - floor) / (1.0 - floor)
                explained = score_pair(a, b, sim, vocabulary=self.core.vocabulary)
                slot = row.slots[m["slot"] - 1]
                rendered = render(session, self.core.vocabulary, [explained], {explained.key: b}, "stakeholder")[0]
                meetings.append(MeetingOut(
                    n=n, slot=m["slot"], start=slot["start"], end=slot["end"], table=m["table"],
                    a=_ref(people[m["a"]]), b=_ref(people[m["b"]]), score=m["score"], locked=m["locked"],
                    explanation=rendered.explanation))
            count: dict[str, int] = {k: 0 for k in ids}
            for m in kept:
                count[m["a"]] += 1
                count[m["b"]] += 1
            unmet = [{"id": k, "name": partner_refs[k].name, "meetings": got, "minimum": want}
                     for k, (got, want) in sorted(row.schedule["unmet"].items()) if k in partner_refs]
            s = row.schedule
            return ScheduleOut(forum=forum_id, method=s["method"], status=s["status"], total_score=s["total_score"],
                               objective=s["objective"], bound=s["bound"], bound_kind=s["bound_kind"], gap=s["gap"],
                               seconds=s["seconds"], meetings=meetings, per_participant=count, unmet=unmet)

    def roundtables(self, forum_id: str, size: int) -> RoundTablesOut:
        with Session(self.core.engine) as session:
            row = forum_row(session, forum_id)
            ids = [p["stakeholder"] for p in row.participants]
            people = repo.stakeholders_by_external_id(session, external_ids=ids)
        themes = {k: {t["id"] for t in people[k].themes} for k in ids if k in people}
        tables = roundtables(themes, size)
        return RoundTablesOut(forum=forum_id, size=size, tables=[
            RoundTableOut(n=n, theme={"id": label, "label": self.core.vocabulary[label].label} if label else None,
                          members=[_ref(people[k]) for k in members])
            for n, (label, members) in enumerate(tables, start=1)])

    def agenda_csv(self, forum_id: str) -> str:
        schedule = self.get_schedule(forum_id)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["slot", "start", "end", "table", "participant_a", "participant_a_id", "participant_b",
                         "participant_b_id", "score", "locked", "shared_themes"])
        for m in schedule.meetings:
            writer.writerow(safe_row([m.slot, m.start.isoformat(), m.end.isoformat(), m.table, m.a.name, m.a.id,
                                      m.b.name, m.b.id, f"{m.score:.3f}", "yes" if m.locked else "no",
                                      "; ".join(t.label for t in m.explanation.shared_themes)]))
        return out.getvalue()

    def meetings_of(self, forum_id: str, stakeholder_id: str) -> tuple[ForumOut, list[MeetingOut]]:
        forum = self._get(forum_id)
        if stakeholder_id not in {p.stakeholder for p in forum.participants}:
            raise NotFound(f"{stakeholder_id!r} is not a participant of {forum_id!r}")
        schedule = self.get_schedule(forum_id)
        return forum, [m for m in schedule.meetings if stakeholder_id in (m.a.id, m.b.id)]

    def calendar(self, forum_id: str, stakeholder_id: str) -> bytes:
        """An iCalendar file with one event per meeting of the participant, saying why they meet."""
        from icalendar import Calendar, Event

        forum, meetings = self.meetings_of(forum_id, stakeholder_id)
        stamp = datetime.now(timezone.utc).replace(microsecond=0)  # when this file was made (RFC 5545)
        cal = Calendar()
        cal.add("prodid", "-//dldmatch//forum matchmaking//EN")
        cal.add("version", "2.0")
        cal.add("x-wr-calname", f"{forum.name}: meetings")
        for m in meetings:
            other = m.b if m.a.id == stakeholder_id else m.a
            event = Event()
            event.add("uid", f"{forum_id}-{m.a.id}-{m.b.id}-{m.slot}@dldmatch")
            event.add("summary", f"Meeting with {other.name} (table {m.table})")
            event.add("dtstart", m.start.astimezone(timezone.utc))
            event.add("dtend", m.end.astimezone(timezone.utc))
            event.add("dtstamp", stamp)
            if forum.place:
                event.add("location", f"{forum.place}, table {m.table}")
            event.add("description", why(m, stakeholder_id, said=said_of(forum.participants)))
            cal.add_component(event)
        return cal.to_ical()


def _ref(s: Stakeholder) -> StakeholderRef:
    return StakeholderRef(id=s.external_id, name=s.name, kind=s.kind)


def said_of(participants: Iterable[Any]) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
    """What the participants said of each pair, for its reasons: (what, who, whom) with what one of
    ``accepted`` (whom accepted who's request), ``asked`` (not answered yet), ``meet`` (a wish)."""
    by_id = {(p["stakeholder"] if isinstance(p, dict) else p.stakeholder):
             (p if isinstance(p, dict) else p.model_dump()) for p in participants}
    said: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for who, p in by_id.items():
        for whom in p.get("asked", []):
            answered = by_id.get(whom, {})
            if who in answered.get("accepted", []):
                said.setdefault(pair(who, whom), []).append(("accepted", who, whom))
            elif who not in answered.get("declined", []):
                said.setdefault(pair(who, whom), []).append(("asked", who, whom))
        for whom in p.get("meet", []):
            said.setdefault(pair(who, whom), []).append(("meet", who, whom))
    return said


SAID = {"accepted": N_("%(who)s asked to meet %(whom)s, who accepted."),
        "asked": N_("%(who)s asked to meet %(whom)s."),
        "meet": N_("%(who)s would like to meet %(whom)s.")}


def why(m: MeetingOut, viewer: str | None = None, lang: str = "en",
        theme_labels: dict[str, str] | None = None,
        said: dict[tuple[str, str], list[tuple[str, str, str]]] | None = None) -> str:
    """The reasons two participants should meet, in a sentence or two (for calendars, CSV and the
    printed agenda), in one of the interface's languages (theme labels in it given by id): first
    what the participants said of the pair (``said``, from :func:`said_of`), then what fits."""
    _ = partial(gettext, lang)
    e: ExplanationOut = m.explanation
    names = {m.a.id: m.a.name, m.b.id: m.b.name}
    parts = [_(SAID[what], who=names.get(who, who), whom=names.get(whom, whom))
             for what, who, whom in (said or {}).get(pair(m.a.id, m.b.id), [])]

    def resources(codes: list[str]) -> str:
        return ", ".join(_(RESOURCE_KINDS[c].label) if c in RESOURCE_KINDS else c for c in codes)

    if e.shared_themes:
        labels = theme_labels or {}
        themes = ", ".join(labels.get(t.theme, t.label) for t in e.shared_themes)
        parts.append(_("Shared themes: %(themes)s.", themes=themes))
    if e.query_needs_met:
        parts.append(_("%(giver)s offers what %(taker)s needs: %(resources)s.", giver=m.b.name, taker=m.a.name,
                       resources=resources(e.query_needs_met)))
    if e.candidate_needs_met:
        parts.append(_("%(giver)s offers what %(taker)s needs: %(resources)s.", giver=m.a.name, taker=m.b.name,
                       resources=resources(e.candidate_needs_met)))
    if e.shared_places or e.shared_countries:
        parts.append(_("Same places: %(places)s.", places=", ".join(
            e.shared_places + [_(COUNTRIES[c]) if c in COUNTRIES else c for c in e.shared_countries])))
    if e.shared_partners:
        parts.append(_("Partners in common: %(partners)s.", partners=", ".join(p.name for p in e.shared_partners)))
    return " ".join(parts) or _("Recommended by their overall fit.")
