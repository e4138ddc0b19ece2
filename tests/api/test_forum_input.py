"""Bad forum input is a 422 that names the field, never a 500: slots that do not exist, times with and
without a zone, lists too long to be bounded work."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.schemas import MAX_FORUM_PARTICIPANTS
from api.service import DLDMatch
from tests.conftest import secretariat_headers


@pytest.fixture
def forum_client(seeded: DLDMatch) -> Iterator[TestClient]:
    with TestClient(create_app(seeded.settings, service=seeded, start="none"), raise_server_exceptions=False,
                    headers=secretariat_headers(seeded)) as c:
        yield c


def _ids(client: TestClient, n: int) -> list[str]:
    return [s["id"] for s in client.get("/stakeholders", params={"limit": 200}).json()["items"]][:n]


def _forum(client: TestClient, **extra: Any) -> dict[str, Any]:
    body = {"id": "limits", "name": "Limits", "tables": 2, "min_meetings": 1, "slot_count": 4,
            "first_slot": "2025-09-24T09:00:00+08:00", "participants": [{"stakeholder": i} for i in _ids(client, 4)]}
    return {**body, **extra}


def _fields(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()["errors"]}


@pytest.mark.parametrize("slot", [99, 5, 0, -1])
def test_a_participant_in_a_slot_that_does_not_exist_is_a_422_naming_the_field(forum_client: TestClient,
                                                                              slot: int) -> None:
    assert forum_client.post("/forums", json=_forum(forum_client)).status_code == 201
    newcomer = _ids(forum_client, 5)[4]
    added = forum_client.post("/forums/limits/participants", json={"stakeholder": newcomer,
                                                                   "available_slots": [1, slot]})
    assert _fields(added) == {"participants.4.available_slots.1":
                              f"there is no slot {slot}: the forum's slots are numbered 1 to 4"}
    created = forum_client.post("/forums", json=_forum(forum_client, id="limits-2", participants=[
        {"stakeholder": newcomer, "available_slots": [slot]}]))
    assert "participants.0.available_slots.0" in _fields(created)
    # nothing bad was stored: the forum still schedules
    assert forum_client.post("/forums/limits/schedule", json={}).status_code == 200


def test_unknown_must_meet_and_no_slots_at_all_are_422s(forum_client: TestClient) -> None:
    assert forum_client.post("/forums", json=_forum(forum_client)).status_code == 201
    newcomer = _ids(forum_client, 5)[4]
    unknown = forum_client.post("/forums/limits/participants", json={"stakeholder": newcomer, "must_meet": ["nobody"]})
    assert "participants.4.must_meet.0" in _fields(unknown)
    empty = forum_client.post("/forums/limits/participants", json={"stakeholder": newcomer, "available_slots": []})
    assert "available_slots" in _fields(empty)
    assert forum_client.post("/forums/limits/schedule", json={}).status_code == 200


def test_twice_listed_participants_are_named_where_they_repeat(forum_client: TestClient) -> None:
    ids = _ids(forum_client, 2)
    response = forum_client.post("/forums", json=_forum(forum_client, participants=[
        {"stakeholder": ids[0]}, {"stakeholder": ids[1]}, {"stakeholder": ids[0]}]))
    assert "first as participants.0" in _fields(response)["participants.2.stakeholder"]


def test_a_slot_with_and_without_a_time_zone_is_a_422_not_a_500(forum_client: TestClient) -> None:
    body = _forum(forum_client, slot_count=None, first_slot=None,
                  slots=[{"start": "2025-09-24T09:00:00", "end": "2025-09-24T09:30:00+08:00"}])
    assert "time zone" in _fields(forum_client.post("/forums", json=body))["slots.0"]


def test_forums_too_large_to_schedule_in_bounded_time_are_refused(forum_client: TestClient) -> None:
    crowd = [{"stakeholder": f"s{n}"} for n in range(MAX_FORUM_PARTICIPANTS + 1)]
    assert "participants" in _fields(forum_client.post("/forums", json=_forum(forum_client, participants=crowd)))
    many_slots = [{"start": f"2025-09-{24 + n // 48}T{n % 48 // 2:02d}:{n % 2 * 30:02d}:00Z"} for n in range(97)]
    body = _forum(forum_client, slot_count=None, first_slot=None, slots=many_slots)
    assert "slots" in _fields(forum_client.post("/forums", json=body))
