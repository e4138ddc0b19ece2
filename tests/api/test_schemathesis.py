"""A bounded schemathesis run against the app's own OpenAPI schema: no server error, and every
response (status code, content type, headers, body) as the schema declares it.

Each operation gets a fixed number of generated requests, valid and invalid (NUL bytes, huge
numbers, wrong types, missing fields), on the small test data; derandomised, so a CI failure
replays on any machine.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.schemas import ErrorOut, ForumIn, ForumParticipantIn
from api.service import DLDMatch
from api.settings import Settings
from embeddings.fake import FakeEmbedder
from tests.conftest import secretariat_headers

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# Solving a forum's schedule and parsing an upload cost far more per request than the rest.
HEAVY = ["/forums/{forum_id}/schedule", "/import"]  # both POST


def _settings(max_examples: int) -> settings:
    # function_scoped_fixture: one app (the fixture) serves all of an operation's examples, by design
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])


# The schema is read from an app that is never started (its routes need no data); each operation is
# then run against a fresh app on the small test data, as the `client` fixture builds it.
# (`schemathesis.pytest.from_fixture` would avoid this, but on pytest 9.2 it fails on Node._nodeid.)
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(
    Settings(database_url="sqlite://", embedder="fake", seed_dir=None), embedder=FakeEmbedder(), start="none"))

FORUM = "f-test"
STAKEHOLDERS = ["t-cso", "t-fund", "t-firm", "t-lab", "t-city"]  # tests/data/small.jsonl
PROJECTS = ["t-belt", "t-kubuqi"]


@schema.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any]) -> Any:
    """Half the requests name records that exist, so that the routes get past their 404."""
    assert context.operation is not None
    known = {"external_id": PROJECTS if context.operation.path.startswith("/projects") else STAKEHOLDERS,
             "stakeholder_id": STAKEHOLDERS, "forum_id": [FORUM]}
    names = [name for name in path_parameters or {} if name in known]
    if not names:
        return st.just(path_parameters)
    existing = st.fixed_dictionaries({name: st.sampled_from(known[name]) for name in names})
    return st.one_of(st.just(path_parameters), existing.map(lambda ids: {**path_parameters, **ids}))


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> Any:
    """Half the bodies that name stakeholders (a forum participant, a meeting's pair) name stored ones."""
    names = [name for name in ("stakeholder", "a", "b") if isinstance(body, dict) and name in body]
    if not names:
        return st.just(body)
    existing = st.fixed_dictionaries({name: st.sampled_from(STAKEHOLDERS) for name in names})
    return st.one_of(st.just(body), existing.map(lambda ids: {**body, **ids}))


@schema.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    """A PUT's body names the id of its path (else it is refused before it reaches the store)."""
    if case.method == "PUT" and isinstance(case.body, dict) and "id" in case.body:
        case.body["id"] = next(iter(case.path_parameters.values()))
    return case


light = schema.exclude(method="POST", path=HEAVY)
heavy = schema.include(method="POST", path=HEAVY)


@pytest.fixture
def app(loaded: DLDMatch) -> FastAPI:
    """The small test data, and a forum of four of its stakeholders with a schedule."""
    loaded.forums.create(ForumIn(id=FORUM, name="Test forum", tables=2, slot_count=3,
                                 first_slot=datetime(2025, 9, 24, 9, tzinfo=UTC),
                                 participants=[ForumParticipantIn(stakeholder=s) for s in STAKEHOLDERS[:4]]))
    loaded.forums.schedule(FORUM)
    app = create_app(loaded.settings, service=loaded, start="none")
    app.state.auth = secretariat_headers(loaded)  # as the secretariat: every route gets past its access rule
    return app


@light.parametrize()
@_settings(25)
def test_operations_conform(case: schemathesis.Case, app: FastAPI) -> None:
    case.headers = {**(case.headers or {}), **app.state.auth}
    case.call_and_validate(app=app, checks=CHECKS)


@heavy.parametrize()
@_settings(10)
def test_heavy_operations_conform(case: schemathesis.Case, app: FastAPI) -> None:
    case.headers = {**(case.headers or {}), **app.state.auth}
    case.call_and_validate(app=app, checks=CHECKS)


JSON = {"content-type": "application/json"}
NUL_LINE = b'{"type": "stakeholder", "id": "t-nul", "name": "A\\u0000B", "kind": "cso"}\n'


@pytest.mark.parametrize(("method", "url", "kwargs"), [
    # NUL bytes: PostgreSQL text cannot hold them
    ("GET", "/stakeholders/t%00cso", {}),
    ("DELETE", "/forums/f%00/participants/t-cso", {}),
    ("POST", "/stakeholders", {"json": {"id": "t-nul", "name": "A\x00B", "kind": "cso"}}),
    ("POST", "/forums", {"json": {"id": "f-nul", "name": "F", "place": "\x00", "slot_count": 1,
                                  "first_slot": "2025-09-24T09:00:00Z"}}),
    ("POST", "/match", {"json": {"text": "shelterbelts\x00"}}),
    ("POST", "/import", {"files": {"file": ("nul.jsonl", NUL_LINE)}}),
    # datetimes that do not exist in UTC, or slots that would end after the year 9999
    ("POST", "/stakeholders", {"json": {"id": "t-old", "name": "Old", "kind": "cso",
                                        "created_at": "0001-01-01T00:00:00+14:00"}}),
    ("POST", "/forums", {"json": {"id": "f-late", "name": "F", "slot_count": 48, "meeting_minutes": 240,
                                  "first_slot": "9999-12-31T20:00:00Z"}}),
    # numbers no column or JSON can hold
    ("POST", "/projects", {"content": b'{"id": "t-inf", "title": "T", "budget": {"amount": 1e400, "currency": "USD"}}',
                           "headers": JSON}),
    ("POST", "/projects", {"content": b'{"id": "t-big", "title": "T", "start_year": 1' + b"0" * 5000 + b"}",
                           "headers": JSON}),
    ("DELETE", "/stakeholders/t-cso", {"headers": {"If-Match": "9" * 5000}}),
    ("DELETE", "/stakeholders/t-cso", {"headers": {"If-Match": '"99999999999999999999"'}}),
    ("DELETE", "/stakeholders/t-cso", {"headers": {"If-Match": '"\u00b2"'.encode()}}),  # a digit, not ASCII
    ("GET", "/stakeholders", {"params": {"limit": 10**30}}),
    # bodies that are not UTF-8
    ("POST", "/match", {"content": b'{"text": "\xff\xfe shelterbelts"}', "headers": JSON}),
    ("POST", "/import", {"files": {"file": ("latin1.jsonl", b"\xff\xfe\x00")}}),
])
def test_weird_input_is_a_422_with_the_error_body(client: TestClient, method: str, url: str,
                                                   kwargs: dict[str, Any]) -> None:
    response = client.request(method, url, **kwargs)
    assert response.status_code == 422, response.text
    body = ErrorOut.model_validate(response.json())
    assert body.error == "invalid_input" and body.errors


def test_an_undeclared_method_is_a_405_naming_the_allowed_ones(client: TestClient) -> None:
    response = client.request("TRACE", "/stakeholders")
    assert response.status_code == 405 and response.headers["allow"] == "GET, POST"
    assert ErrorOut.model_validate(response.json()).error == "http_error"
