"""Forum matchmaking through the API, on the seed profiles."""

from __future__ import annotations

import csv
import io
from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from api.app import create_app
from api.service import DLDMatch
from matcher.schedule import Attendee, Lock, Problem, pair, verify
from tests.conftest import secretariat_headers


@pytest.fixture
def forum_client(seeded: DLDMatch) -> Iterator[TestClient]:
    with TestClient(create_app(seeded.settings, service=seeded, start="none"), headers=secretariat_headers(seeded)) as client:
        yield client


def seed_ids(client: TestClient, n: int) -> list[str]:
    return [s["id"] for s in client.get("/stakeholders", params={"limit": 200}).json()["items"]][:n]


def make_forum(client: TestClient, n: int = 30, slots: int = 8, tables: int = 8, **extra: Any) -> dict[str, Any]:
    ids = seed_ids(client, n)
    body = {"id": "forum-2025", "name": "Subregional forum on DLD 2025", "place": "Ulaanbaatar",
            "start_date": "2025-09-24", "tables": tables, "min_meetings": 2, "slot_count": slots,
            "first_slot": "2025-09-24T09:00:00+08:00", "meeting_minutes": 30, "break_minutes": 10,
            "participants": [{"stakeholder": i, "max_meetings": 6} for i in ids], **extra}
    response = client.post("/forums", json=body)
    assert response.status_code == 201, response.text
    return body


def as_problem(client: TestClient, forum_id: str) -> Problem:
    """The stored forum as the checker sees it, independent of the service's own translation."""
    forum = client.get(f"/forums/{forum_id}").json()
    attendees = [Attendee(p["stakeholder"], frozenset(s - 1 for s in (p["available_slots"] or
                                                                     range(1, len(forum["slots"]) + 1))),
                          frozenset(p["languages"] or ["en"]), p["interpreter"],
                          p["max_meetings"] if p["max_meetings"] is not None else len(forum["slots"]),
                          frozenset(p["must_meet"]), frozenset(p["no_thanks"])) for p in forum["participants"]]
    return Problem(attendees, len(forum["slots"]), forum["tables"], {}, forum["min_meetings"],
                   [Lock(lk["a"], lk["b"], lk["slot"] - 1, lk.get("table")) for lk in forum["locks"]],
                   {tuple(r) for r in forum["removed"]})  # type: ignore[misc]


def meetings_of(schedule: dict[str, Any]) -> list[Any]:
    from matcher.schedule import Meeting

    return [Meeting(m["a"]["id"], m["b"]["id"], m["slot"] - 1, m["table"], m["score"], m["locked"])
            for m in schedule["meetings"]]


def test_thirty_seed_participants_over_eight_slots_reach_95_percent_of_the_bound(forum_client: TestClient) -> None:
    make_forum(forum_client)
    schedule = forum_client.post("/forums/forum-2025/schedule", json={}).json()
    assert schedule["method"] == "exact"
    assert schedule["objective"] >= 0.95 * schedule["bound"]
    assert schedule["gap"] <= 0.05
    assert verify(as_problem(forum_client, "forum-2025"), meetings_of(schedule)) == []
    assert schedule["unmet"] == [] and min(schedule["per_participant"].values()) >= 2
    first = schedule["meetings"][0]
    assert first["start"].startswith("2025-09-24T09:00") and first["explanation"]["shared_themes"] is not None
    assert forum_client.get("/forums/forum-2025/schedule").json() == schedule


def test_lock_remove_and_resolve_around_them(forum_client: TestClient) -> None:
    make_forum(forum_client, n=12, slots=4, tables=4)
    schedule = forum_client.post("/forums/forum-2025/schedule", json={"method": "exact"}).json()
    keep, drop = schedule["meetings"][0], schedule["meetings"][1]
    target_slot = 4 if keep["slot"] != 4 else 3
    locked = forum_client.post("/forums/forum-2025/meetings/lock",
                               json={"a": keep["a"]["id"], "b": keep["b"]["id"], "slot": target_slot, "table": 2})
    assert locked.status_code == 200, locked.text
    assert forum_client.post("/forums/forum-2025/meetings/remove",
                             json={"a": drop["a"]["id"], "b": drop["b"]["id"]}).status_code == 200
    for method in ("exact", "heuristic"):
        again = forum_client.post("/forums/forum-2025/schedule", json={"method": method}).json()
        pairs = {pair(m["a"]["id"], m["b"]["id"]): m for m in again["meetings"]}
        kept = pairs[pair(keep["a"]["id"], keep["b"]["id"])]
        assert (kept["slot"], kept["table"], kept["locked"]) == (target_slot, 2, True)
        assert pair(drop["a"]["id"], drop["b"]["id"]) not in pairs
        assert verify(as_problem(forum_client, "forum-2025"), meetings_of(again)) == []
    forum_client.post("/forums/forum-2025/meetings/restore", json={"a": drop["a"]["id"], "b": drop["b"]["id"]})
    assert forum_client.get("/forums/forum-2025").json()["removed"] == []


def test_impossible_requests_are_refused_with_a_clear_error(forum_client: TestClient) -> None:
    ids = seed_ids(forum_client, 4)
    body = {"id": "f-bad", "name": "Bad", "tables": 2, "slot_count": 3, "first_slot": "2025-09-24T09:00:00Z",
            "participants": [{"stakeholder": ids[0], "available_slots": [1], "must_meet": [ids[1]]},
                             {"stakeholder": ids[1], "available_slots": [2]}, {"stakeholder": ids[2]}]}
    assert forum_client.post("/forums", json=body).status_code == 201
    response = forum_client.post("/forums/f-bad/schedule")
    assert response.status_code == 422
    assert "never available at the same time" in response.json()["errors"][0]["message"]
    lock = forum_client.post("/forums/f-bad/meetings/lock", json={"a": ids[0], "b": ids[2], "slot": 3})
    assert lock.status_code == 422 and any("not possible" in e["message"] for e in lock.json()["errors"])
    outsider = dict(body, id="f-bad2", participants=[{"stakeholder": ids[0], "must_meet": [ids[3]]}])
    bad = forum_client.post("/forums", json=outsider)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "participants.0.must_meet.0"
    no_slots = forum_client.post("/forums", json={"id": "x", "name": "X"})
    assert no_slots.status_code == 422 and "slot" in no_slots.json()["errors"][0]["message"]
    wrong_slot = dict(body, id="f-bad3", participants=[{"stakeholder": ids[0], "available_slots": [9]}])
    assert "no slot 9" in forum_client.post("/forums", json=wrong_slot).json()["errors"][0]["message"]
    assert forum_client.post("/forums/nothing/schedule").status_code == 404


def test_exports_roundtables_and_participants(forum_client: TestClient) -> None:
    body = make_forum(forum_client, n=10, slots=4, tables=3)
    schedule = forum_client.post("/forums/forum-2025/schedule", json={}).json()
    rows = list(csv.DictReader(io.StringIO(forum_client.get("/forums/forum-2025/agenda.csv").text)))
    assert len(rows) == len(schedule["meetings"]) and rows[0]["start"].startswith("2025-09-24T09:00")
    who = body["participants"][0]["stakeholder"]
    ics = forum_client.get(f"/forums/forum-2025/participants/{who}/calendar.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    events = [c for c in Calendar.from_ical(ics.content).walk() if c.name == "VEVENT"]
    assert len(events) == schedule["per_participant"][who] and events
    assert str(events[0]["summary"]).startswith("Meeting with")
    page = forum_client.get(f"/planner/forum-2025/agenda/{who}")
    assert page.status_code == 200 and "Why you should meet" in page.text
    brief = forum_client.get("/planner/forum-2025/briefing/1")
    assert brief.status_code == 200 and "Why they should meet" in brief.text
    assert forum_client.get("/planner/forum-2025/briefing/999").status_code == 404

    tables = forum_client.post("/forums/forum-2025/roundtables", json={"size": 4}).json()["tables"]
    assert sum(len(t["members"]) for t in tables) == 10 and all(len(t["members"]) <= 4 for t in tables)

    newcomer = seed_ids(forum_client, 11)[10]
    added = forum_client.post("/forums/forum-2025/participants", json={"stakeholder": newcomer}).json()
    assert newcomer in [p["stakeholder"] for p in added["participants"]]
    removed = forum_client.delete(f"/forums/forum-2025/participants/{who}").json()
    assert who not in [p["stakeholder"] for p in removed["participants"]]
    left = forum_client.get("/forums/forum-2025/schedule").json()
    assert all(who not in (m["a"]["id"], m["b"]["id"]) for m in left["meetings"])
    assert forum_client.delete("/forums/forum-2025").status_code == 204


def test_a_schedule_never_solves_longer_than_the_server_allows(seeded, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import api.forum_plans as plans
    from api.schemas import ForumIn, ScheduleRequest

    seen: list[float] = []
    real = plans.solve

    def solve(problem, *, method, time_limit):  # type: ignore[no-untyped-def]
        seen.append(time_limit)
        return real(problem, method=method, time_limit=time_limit)

    monkeypatch.setattr(plans, "solve", solve)
    seeded.core.settings = seeded.settings.model_copy(update={"schedule_max_seconds": 1.5})
    ids = [s.id for s in seeded.list_stakeholders(limit=6).items]
    seeded.forums.create(ForumIn.model_validate({"id": "capped", "name": "Capped", "slot_count": 3, "tables": 3,
                                                  "first_slot": "2027-05-01T09:00:00+08:00",
                                                  "participants": [{"stakeholder": i} for i in ids]}))
    seeded.forums.schedule("capped", ScheduleRequest(method="exact", time_limit=60))
    assert seen == [1.5]


def test_a_deleted_participant_is_named_not_a_500(seeded) -> None:  # type: ignore[no-untyped-def]
    from api.errors import InvalidInput
    from api.schemas import ForumIn

    ids = [s.id for s in seeded.list_stakeholders(limit=5).items]
    seeded.forums.create(ForumIn.model_validate({"id": "gone", "name": "Gone", "slot_count": 3, "tables": 3,
                                                  "first_slot": "2027-05-01T09:00:00+08:00",
                                                  "participants": [{"stakeholder": i} for i in ids]}))
    seeded.forums.schedule("gone")
    seeded.delete("stakeholder", ids[0])
    schedule = seeded.forums.get_schedule("gone")  # the meetings of the others stay
    assert all(ids[0] not in (m.a.id, m.b.id) for m in schedule.meetings)
    assert seeded.forums.agenda_csv("gone")
    with pytest.raises(InvalidInput) as raised:
        seeded.forums.schedule("gone")
    assert raised.value.errors[0]["field"] == "participants.0.stakeholder"


def test_agenda_csv_never_carries_a_formula(forum_client: TestClient) -> None:
    """A participant named like a formula shows as text in a spreadsheet: its cell is quoted."""
    evil = '=HYPERLINK("http://example.org/x","click")'
    created = forum_client.post("/stakeholders", json={
        "id": "formula-org", "name": evil, "kind": "cso", "countries": ["MN"],
        "description": "A test CSO planting saxaul shelterbelts in the Gobi against sand and dust storms."})
    assert created.status_code == 201, created.text
    ids = seed_ids(forum_client, 5)
    body = {"id": "f-csv", "name": "CSV test", "slot_count": 3, "first_slot": "2025-09-24T09:00:00+08:00",
            "meeting_minutes": 30, "break_minutes": 10, "tables": 3,
            "participants": [{"stakeholder": i} for i in ["formula-org", *ids]]}
    assert forum_client.post("/forums", json=body).status_code == 201
    schedule = forum_client.post("/forums/f-csv/schedule", json={}).json()
    assert any("formula-org" in (m["a"]["id"], m["b"]["id"]) for m in schedule["meetings"])
    rows = list(csv.reader(io.StringIO(forum_client.get("/forums/f-csv/agenda.csv").text)))
    cells = [c for row in rows for c in row]
    assert "'" + evil in cells
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)


def test_calendar_times_are_true_utc_and_stamped_now(forum_client: TestClient) -> None:
    """A meeting at 09:00 in Ulaanbaatar (+08:00) is 01:00 UTC in the file, and converts back to 09:00
    there; DTSTAMP is when the file was made, not a fixed date."""
    from datetime import datetime, timedelta, timezone

    body = make_forum(forum_client, n=6, slots=2, tables=3)
    schedule = forum_client.post("/forums/forum-2025/schedule", json={}).json()
    first = min(schedule["meetings"], key=lambda m: m["slot"])
    who = first["a"]["id"]
    ics = forum_client.get(f"/forums/forum-2025/participants/{who}/calendar.ics").content
    assert body["first_slot"] == "2025-09-24T09:00:00+08:00"
    events = sorted((c for c in Calendar.from_ical(ics).walk() if c.name == "VEVENT"),
                    key=lambda e: e["dtstart"].dt)
    start = events[0]["dtstart"].dt
    assert start.utcoffset() == timedelta(0) and (start.hour, start.minute) == (1, 0)
    assert start.astimezone(timezone(timedelta(hours=8))).hour == 9
    assert b"DTSTART:20250924T010000Z" in ics
    stamp = events[0]["dtstamp"].dt
    assert abs((datetime.now(timezone.utc) - stamp).total_seconds()) < 300


def test_a_forum_reads_times_without_an_offset_in_its_time_zone(forum_client: TestClient) -> None:
    ids = seed_ids(forum_client, 4)
    body = {"id": "f-ub", "name": "Ulaanbaatar forum", "time_zone": "Asia/Ulaanbaatar", "slot_count": 2,
            "first_slot": "2025-09-24T09:00:00", "meeting_minutes": 30, "tables": 2,
            "participants": [{"stakeholder": i} for i in ids]}
    created = forum_client.post("/forums", json=body)
    assert created.status_code == 201, created.text
    forum = created.json()
    assert forum["time_zone"] == "Asia/Ulaanbaatar" and forum["slots"][0]["start"] == "2025-09-24T09:00:00+08:00"
    forum_client.post("/forums/f-ub/schedule", json={})
    who = forum_client.get("/forums/f-ub/schedule").json()["meetings"][0]["a"]["id"]
    ics = forum_client.get(f"/forums/f-ub/participants/{who}/calendar.ics").content
    assert b"DTSTART:20250924T010000Z" in ics or b"DTSTART:20250924T014000Z" in ics
    unknown = forum_client.post("/forums", json={**body, "id": "f-mars", "time_zone": "Mars/Olympus"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "time_zone"
    assert "Asia/Ulaanbaatar" in unknown.json()["errors"][0]["message"]
    page = forum_client.post("/planner", data={"name": "No zone", "date": "2025-09-24", "start": "09:00",
                                               "participants": ids})
    assert page.status_code == 422 and "choose the time zone" in page.text
