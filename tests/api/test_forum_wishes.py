"""Forums the participants shape (issue 16, item 5): availability, marks, meeting requests and
their answers, each kept under races and used by the schedule."""

from __future__ import annotations

import re
from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient

from api.access import CSRF_COOKIE
from api.app import create_app
from api.i18n import gettext
from api.service import DLDMatch
from tests.conftest import at_once, secretariat_headers

FORUM = "forum-wishes"


def _bearer(svc: DLDMatch, org: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {svc.accounts.create_token('member', organisation=org)}"}


def _forum(c: TestClient, svc: DLDMatch, ids: list[str], slots: int = 4, tables: int = 2) -> None:
    body = {"id": FORUM, "name": "Forum shaped by its participants", "start_date": "2027-05-14",
            "time_zone": "Asia/Ulaanbaatar", "tables": tables, "min_meetings": 0, "slot_count": slots,
            "first_slot": "2027-05-14T09:00:00", "meeting_minutes": 30, "break_minutes": 10,
            "participants": [{"stakeholder": i} for i in ids]}
    assert c.post("/forums", json=body, headers=secretariat_headers(svc)).status_code == 201


def _pairs(c: TestClient, svc: DLDMatch) -> set[frozenset[str]]:
    made = c.post(f"/forums/{FORUM}/schedule", headers=secretariat_headers(svc))
    assert made.status_code == 200, made.text
    return {frozenset((m["a"]["id"], m["b"]["id"])) for m in made.json()["meetings"]}


@pytest.fixture
def seeded_client(seeded: DLDMatch) -> Iterator[TestClient]:
    with TestClient(create_app(seeded.settings, service=seeded, start="none")) as c:
        yield c


def _ids(c: TestClient, n: int) -> list[str]:
    return [s["id"] for s in c.get("/stakeholders", params={"limit": 200}).json()["items"]][:n]


def test_a_participant_sets_its_times_and_marks_and_the_schedule_follows_them(seeded_client: TestClient,
                                                                               seeded: DLDMatch) -> None:
    c = seeded_client
    a, b, x, y, *rest = ids = _ids(c, 8)
    _forum(c, seeded, ids)
    me = _bearer(seeded, a)
    view = c.get(f"/forums/{FORUM}/participants/{a}", headers=me).json()
    assert [o["score"] for o in view["others"]] == sorted((o["score"] for o in view["others"]), reverse=True)
    assert len(view["others"]) == 7 and view["available_slots"] is None and view["meetings"] == []
    said = c.put(f"/forums/{FORUM}/participants/{a}/preferences", headers=me,
                 json={"available_slots": [1, 2], "must_meet": [b], "meet": [x], "no_thanks": [y]})
    assert said.status_code == 200, said.text
    marks = {o["id"]: o["mark"] for o in said.json()["others"]}
    assert marks[b] == "must_meet" and marks[x] == "meet" and marks[y] == "no_thanks"
    pairs = _pairs(c, seeded)
    assert frozenset((a, b)) in pairs and frozenset((a, y)) not in pairs
    schedule = c.get(f"/forums/{FORUM}/schedule", headers=secretariat_headers(seeded)).json()
    assert all(m["slot"] in (1, 2) for m in schedule["meetings"] if a in (m["a"]["id"], m["b"]["id"]))
    # another organisation's member may not speak for a; the public may not either
    assert c.put(f"/forums/{FORUM}/participants/{a}/preferences", headers=_bearer(seeded, b),
                 json={"must_meet": [x]}).status_code == 403
    assert c.get(f"/forums/{FORUM}/participants/{a}").status_code == 401
    # marks name participants of the forum only, and not the participant itself
    wrong = c.put(f"/forums/{FORUM}/participants/{a}/preferences", headers=me, json={"meet": ["nobody-here"]})
    assert wrong.status_code == 422 and "not a participant" in wrong.text
    assert c.put(f"/forums/{FORUM}/participants/{a}/preferences", headers=me,
                 json={"meet": [a]}).status_code == 422


def test_a_request_accepted_is_placed_and_one_declined_never(seeded_client: TestClient, seeded: DLDMatch) -> None:
    c = seeded_client
    a, b, x, *rest = ids = _ids(c, 8)
    _forum(c, seeded, ids)
    ha, hb, hx = _bearer(seeded, a), _bearer(seeded, b), _bearer(seeded, x)
    for org in (a, b):  # members to mail (without one, the profile's contact, if any)
        seeded.accounts.create_account(f"m@{org}.example", "member", organisation=org, password="a member's pass")
    asked = c.post(f"/forums/{FORUM}/participants/{a}/requests", headers=ha, json={"to": b, "message": "Saxaul?"})
    assert asked.status_code == 200 and next(o for o in asked.json()["others"] if o["id"] == b)["i_asked"]
    assert c.post(f"/forums/{FORUM}/participants/{a}/requests", headers=ha, json={"to": b}).status_code == 409
    mails = [m for m in seeded.outbox.recent(to=f"m@{b}.example") if "asks to meet you" in m.subject]
    assert mails and "Saxaul?" in mails[-1].body and f"/forums/{FORUM}/as/{b}" in mails[-1].body
    seen = c.get(f"/forums/{FORUM}/participants/{b}", headers=hb).json()
    assert next(o for o in seen["others"] if o["id"] == a)["they_asked"]
    assert c.post(f"/forums/{FORUM}/participants/{b}/answers", headers=hb,
                  json={"asker": a, "accept": True}).status_code == 200
    c.post(f"/forums/{FORUM}/participants/{x}/requests", headers=hx, json={"to": a})
    assert c.post(f"/forums/{FORUM}/participants/{a}/answers", headers=ha,
                  json={"asker": x, "accept": False}).status_code == 200
    assert c.post(f"/forums/{FORUM}/participants/{x}/requests", headers=hx, json={"to": a}).status_code == 409
    # an answer to a request nobody made is a 404, never a 500
    assert c.post(f"/forums/{FORUM}/participants/{b}/answers", headers=hb,
                  json={"asker": x, "accept": True}).status_code == 404
    pairs = _pairs(c, seeded)
    assert frozenset((a, b)) in pairs and frozenset((a, x)) not in pairs
    told = [m for m in seeded.outbox.recent(to=f"m@{a}.example") if "accepted your meeting request" in m.subject]
    assert told
    mine = c.get(f"/forums/{FORUM}/participants/{a}", headers=ha).json()
    assert any(b in (m["a"]["id"], m["b"]["id"]) for m in mine["meetings"])


def test_a_wish_raises_the_pair_s_score_for_the_schedule() -> None:
    from api.forum_plans import WISH_BONUS, wishes_of
    from matcher.schedule import pair

    scores = {pair("a", "b"): 0.2, pair("a", "c"): 0.2, pair("b", "c"): 0.2}
    people = [{"stakeholder": "a", "meet": ["b"], "asked": ["c"]}, {"stakeholder": "b", "meet": ["a"]},
              {"stakeholder": "c", "accepted": [], "declined": []}]
    must, never = wishes_of(people, scores)
    assert scores[pair("a", "b")] == pytest.approx(0.2 * (1 + WISH_BONUS) ** 2)  # both sides wish it
    assert scores[pair("a", "c")] == pytest.approx(0.2 * (1 + WISH_BONUS))  # an open request
    assert scores[pair("b", "c")] == 0.2 and must == {} and never == {}
    people[2]["accepted"] = ["a"]
    must, never = wishes_of(people, dict.fromkeys(scores, 0.2))
    assert must == {"a": frozenset({"c"}), "c": frozenset({"a"})}


def test_participants_saying_things_at_once_lose_nothing(small_on_file: DLDMatch) -> None:
    svc = small_on_file
    with TestClient(create_app(svc.settings, service=svc, start="none")) as c:
        ids = _ids(c, 5)  # every organisation of the small set
        _forum(c, svc, ids, slots=3, tables=2)
        others = iter(ids[1:])
        heads = {i: _bearer(svc, i) for i in ids}

        def ask() -> int:
            who = next(others)
            return c.post(f"/forums/{FORUM}/participants/{who}/requests", headers=heads[who],
                          json={"to": ids[0]}).status_code

        assert at_once(ask, len(ids) - 1) == [200] * (len(ids) - 1)
        view = c.get(f"/forums/{FORUM}/participants/{ids[0]}", headers=heads[ids[0]]).json()
        assert sum(o["they_asked"] for o in view["others"]) == len(ids) - 1  # no request lost to a race


def test_the_participant_page_saves_the_form_and_answers(seeded_client: TestClient, seeded: DLDMatch) -> None:
    c = seeded_client
    a, b, x, *rest = ids = _ids(c, 6)
    _forum(c, seeded, ids)
    seeded.accounts.create_account("p@forum.example", "member", organisation=a, password="forum member pass")
    c.cookies.set(CSRF_COOKIE, "tok")
    assert c.post("/login", data={"email": "p@forum.example", "password": "forum member pass", "csrf": "tok"},
                  headers={"accept": "text/html"}, follow_redirects=False).status_code == 303
    inbox = c.get("/inbox").text
    assert f"/forums/{FORUM}/as/{a}" in inbox
    page = c.get(f"/forums/{FORUM}/as/{a}")
    assert page.status_code == 200 and 'name="mark:' in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # the session's own
    saved = c.post(f"/forums/{FORUM}/as/{a}", data={"slot": ["1", "3"], f"mark:{b}": "must_meet",
                                                    f"mark:{x}": "no_thanks", "csrf": token},
                   follow_redirects=False)
    assert saved.status_code == 303
    view = c.get(f"/forums/{FORUM}/participants/{a}", headers=_bearer(seeded, a)).json()
    assert view["available_slots"] == [1, 3]
    assert {o["id"]: o["mark"] for o in view["others"]}[b] == "must_meet"
    none = c.post(f"/forums/{FORUM}/as/{a}", data={"csrf": token})
    assert none.status_code == 422 and "slot" in none.text
    asked = c.post(f"/forums/{FORUM}/as/{a}/ask", data={"to": x, "csrf": token}, follow_redirects=False)
    assert asked.status_code == 303
    assert c.get(f"/forums/{FORUM}/as/{b}").status_code == 403  # another organisation's page


def test_participants_are_reminded_once_before_the_forum(small_on_file: DLDMatch) -> None:
    from datetime import datetime, timezone

    from api.forum_wishes import remind_participants

    svc = small_on_file
    with TestClient(create_app(svc.settings, service=svc, start="none")) as c:
        a, b, *rest = ids = _ids(c, 5)
        _forum(c, svc, ids)  # starts 2027-05-14
        svc.accounts.create_account("m@a.example", "member", organisation=a, password="a member's pass")
        c.post(f"/forums/{FORUM}/participants/{b}/requests", headers=_bearer(svc, b), json={"to": a})
    early = datetime(2027, 4, 1, tzinfo=timezone.utc)
    assert remind_participants(svc.engine, svc.writer, svc.outbox, early) == 0  # six weeks before: not yet
    soon = datetime(2027, 5, 4, tzinfo=timezone.utc)
    runs = at_once(lambda: remind_participants(svc.engine, svc.writer, svc.outbox, soon), 3)
    assert sum(runs) == 1  # the one participant with a member, once, however many runs race
    [mail] = [m for m in svc.outbox.recent(to="m@a.example") if "whom do you want to meet" in m.subject]
    assert f"/forums/{FORUM}/as/{a}" in mail.body and "1 meeting request(s) wait" in mail.body


def test_a_participant_s_fit_is_the_schedule_s_own_pair_score(seeded_client: TestClient, seeded: DLDMatch) -> None:
    """The page scores only the participant's own pairs (n - 1, not all), the same as the schedule."""
    from sqlmodel import Session

    from api.forum_plans import forum_row, problem_of

    c = seeded_client
    ids = _ids(c, 7)
    _forum(c, seeded, ids)
    view = c.get(f"/forums/{FORUM}/participants/{ids[2]}", headers=_bearer(seeded, ids[2])).json()
    with Session(seeded.engine) as session:
        _, _, scores = problem_of(seeded.forums.core, session, forum_row(session, FORUM))
    from matcher.schedule import pair

    assert {o["id"]: o["score"] for o in view["others"]} == {
        other: round(scores[pair(ids[2], other)], 4) for other in ids if other != ids[2]}


def test_the_secretariat_changing_a_participant_keeps_what_it_said(seeded_client: TestClient,
                                                                   seeded: DLDMatch) -> None:
    c = seeded_client
    a, b, *rest = ids = _ids(c, 5)
    _forum(c, seeded, ids)
    c.put(f"/forums/{FORUM}/participants/{a}/preferences", headers=_bearer(seeded, a), json={"meet": [b]})
    c.post(f"/forums/{FORUM}/participants/{a}/requests", headers=_bearer(seeded, a), json={"to": b})
    changed = c.post(f"/forums/{FORUM}/participants", headers=secretariat_headers(seeded),
                     json={"stakeholder": a, "max_meetings": 2})
    assert changed.status_code == 200, changed.text
    entry = next(p for p in changed.json()["participants"] if p["stakeholder"] == a)
    assert entry["max_meetings"] == 2 and entry["meet"] == [b] and entry["asked"] == [b]


def test_a_meeting_s_reasons_say_what_the_participants_asked(seeded_client: TestClient, seeded: DLDMatch) -> None:
    c = seeded_client
    a, b, *rest = ids = _ids(c, 6)
    _forum(c, seeded, ids)
    c.post(f"/forums/{FORUM}/participants/{a}/requests", headers=_bearer(seeded, a), json={"to": b})
    c.post(f"/forums/{FORUM}/participants/{b}/answers", headers=_bearer(seeded, b), json={"asker": a, "accept": True})
    _pairs(c, seeded)
    names = {s["id"]: s["name"] for s in c.get("/stakeholders", params={"limit": 200}).json()["items"]}
    agenda = c.get(f"/planner/{FORUM}/agenda/{a}", headers=_bearer(seeded, a)).text
    assert f"{names[a]} asked to meet {names[b]}, who accepted." in agenda.replace("&#39;", "'")
    calendar = c.get(f"/forums/{FORUM}/participants/{a}/calendar.ics", headers=_bearer(seeded, a)).text
    assert "who accepted" in calendar.replace("\r\n ", "")
    planner = c.get(f"/planner/{FORUM}", headers=secretariat_headers(seeded)).text
    assert f"/forums/{FORUM}/as/{a}" in planner and "requests 1" in planner


def _past_forum(c: TestClient, svc: DLDMatch, ids: list[str]) -> list[tuple[str, str]]:
    """A forum held in May 2026 (its later question open since October), scheduled."""
    body = {"id": FORUM, "name": "Forum held in May", "start_date": "2026-05-14", "time_zone": "Asia/Ulaanbaatar",
            "tables": 3, "min_meetings": 1, "slot_count": 3, "first_slot": "2026-05-14T09:00:00",
            "meeting_minutes": 30, "participants": [{"stakeholder": i} for i in ids]}
    assert c.post("/forums", json=body, headers=secretariat_headers(svc)).status_code == 201
    made = c.post(f"/forums/{FORUM}/schedule", headers=secretariat_headers(svc)).json()
    return [(m["a"]["id"], m["b"]["id"]) for m in made["meetings"]]


def test_either_side_tells_what_came_of_a_forum_meeting_and_the_funnel_counts_it(seeded_client: TestClient,
                                                                                 seeded: DLDMatch) -> None:
    c = seeded_client
    ids = _ids(c, 6)
    (a, b), *more = _past_forum(c, seeded, ids)
    told = c.post(f"/forums/{FORUM}/participants/{a}/outcomes", headers=_bearer(seeded, a),
                  json={"other": b, "result": "cooperation_started", "note": "A joint nursery."})
    assert told.status_code == 200, told.text
    assert told.json()["version"] == 1 and told.json()["other"] == b
    # once told, a change needs the version read; the other side answers for itself
    again = c.post(f"/forums/{FORUM}/participants/{a}/outcomes", headers=_bearer(seeded, a),
                   json={"other": b, "result": "met"})
    assert again.status_code == 409
    changed = c.post(f"/forums/{FORUM}/participants/{a}/outcomes", headers=_bearer(seeded, a),
                     json={"other": b, "result": "agreement_reached", "version": 1})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert c.post(f"/forums/{FORUM}/participants/{b}/outcomes", headers=_bearer(seeded, b),
                  json={"other": a, "result": "met", "stage": "later"}).status_code == 200
    # only about a meeting the schedule has, and only by the participant's own side
    met_a = {x for p in [(a, b), *more] if a in p for x in p}
    outsider = next(i for i in ids if i not in met_a)  # 6 participants, 3 slots: someone a does not meet
    assert c.post(f"/forums/{FORUM}/participants/{a}/outcomes", headers=_bearer(seeded, a),
                  json={"other": outsider, "result": "met"}).status_code == 404
    assert c.post(f"/forums/{FORUM}/participants/{a}/outcomes", headers=_bearer(seeded, b),
                  json={"other": b, "result": "met"}).status_code == 403
    assert c.post(f"/forums/{FORUM}/participants/{a}/outcomes", headers=_bearer(seeded, a),
                  json={"other": b, "result": "maybe"}).status_code == 422
    funnel = seeded.meeting_outcomes.funnel()
    assert funnel == {"scheduled": 1 + len(more), "told": 1, "met": 1, "cooperation": 1, "agreement": 1}
    download = c.get("/outcomes/funnel", params={"format": "csv"}, headers=secretariat_headers(seeded)).text
    assert download.strip().splitlines()[-1] == f"forum meetings,all,{1 + len(more)},{1 + len(more)},1,1,1"
    view = c.get(f"/forums/{FORUM}/participants/{a}", headers=_bearer(seeded, a)).json()
    assert [(o["other"], o["result"]) for o in view["outcomes"]] == [(b, "agreement_reached")]
    page = c.get("/conversion", headers=secretariat_headers(seeded)).text
    assert "Forum meetings" in page


def test_a_meeting_not_yet_held_has_no_outcome(seeded_client: TestClient, seeded: DLDMatch) -> None:
    c = seeded_client
    ids = _ids(c, 4)
    _forum(c, seeded, ids)  # in May 2027
    made = c.post(f"/forums/{FORUM}/schedule", headers=secretariat_headers(seeded)).json()
    m = made["meetings"][0]
    early = c.post(f"/forums/{FORUM}/participants/{m['a']['id']}/outcomes", headers=_bearer(seeded, m["a"]["id"]),
                   json={"other": m["b"]["id"], "result": "met"})
    assert early.status_code == 409 and "not taken place" in early.text


def test_two_members_telling_a_meeting_s_outcome_at_once_make_one_answer(small_on_file: DLDMatch) -> None:
    svc = small_on_file
    with TestClient(create_app(svc.settings, service=svc, start="none")) as c:
        ids = _ids(c, 5)
        (a, b), *_ = _past_forum(c, svc, ids)
        heads = iter([_bearer(svc, a) for _ in range(4)])

        def tell() -> int:
            return c.post(f"/forums/{FORUM}/participants/{a}/outcomes", headers=next(heads),
                          json={"other": b, "result": "met"}).status_code

        assert sorted(at_once(tell, 4)) == [200, 409, 409, 409]


def test_participants_are_asked_once_after_the_forum(small_on_file: DLDMatch) -> None:
    from datetime import datetime, timezone

    svc = small_on_file
    with TestClient(create_app(svc.settings, service=svc, start="none")) as c:
        ids = _ids(c, 5)
        (a, b), *_ = _past_forum(c, svc, ids)
    svc.accounts.create_account("m@told.example", "member", organisation=a, password="a member's pass")
    after = datetime(2026, 5, 20, tzinfo=timezone.utc)
    assert sum(at_once(lambda: svc.meeting_outcomes.remind(svc.outbox, after), 3)) == 1
    assert svc.meeting_outcomes.remind(svc.outbox, datetime(2026, 7, 1, tzinfo=timezone.utc)) == 0  # too late
    [mail] = [m for m in svc.outbox.recent(to="m@told.example") if "what came of your meetings" in m.subject]
    assert f"/forums/{FORUM}/as/{a}" in mail.body


def test_a_member_tells_a_meeting_s_outcome_on_its_forum_page(seeded_client: TestClient, seeded: DLDMatch) -> None:
    c = seeded_client
    ids = _ids(c, 6)
    (a, b), *_ = _past_forum(c, seeded, ids)
    seeded.accounts.create_account("t@forum.example", "member", organisation=a, password="forum member pass")
    c.cookies.set(CSRF_COOKIE, "tok")
    c.post("/login", data={"email": "t@forum.example", "password": "forum member pass", "csrf": "tok"},
           headers={"accept": "text/html"}, follow_redirects=False)
    page = c.get(f"/forums/{FORUM}/as/{a}")
    assert 'id="meetings"' in page.text and f'id="outcome-{b}"' in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    told = c.post(f"/forums/{FORUM}/as/{a}/outcome", data={"other": b, "stage": "first", "result": "met",
                                                            "csrf": token}, follow_redirects=False)
    assert told.status_code == 303
    again = c.get(f"/forums/{FORUM}/as/{a}?lang=ru").text
    assert 'name="version" value="1"' in again and gettext("ru", "We met") in again
    changed = c.post(f"/forums/{FORUM}/as/{a}/outcome", data={"other": b, "stage": "first", "version": "1",
                                                               "result": "cooperation_started", "csrf": token},
                     follow_redirects=False)
    assert changed.status_code == 303
    stale = c.post(f"/forums/{FORUM}/as/{a}/outcome", data={"other": b, "stage": "first", "version": "1",
                                                             "result": "met", "csrf": token})
    assert stale.status_code == 409  # a copy read before the change: said, never overwritten
