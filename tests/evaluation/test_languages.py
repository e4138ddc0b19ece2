"""``evaluation.languages`` and ``dldmatch evaluate-languages``: does a stakeholder described in another
language find itself through ``POST /match``?"""

from __future__ import annotations

import doctest
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import evaluation.languages
from api.cli import cli
from evaluation.crosslingual import load_translations
from evaluation.languages import LANGUAGES, cases, evaluate_self_match, load_english, rank_of

ENGLISH = {"a": "Saxaul belts.", "b": "Dust monitoring.", "c": "Green loans.", "d": "Not translated."}
TRANSLATED = {"a": {"zh": "梭梭林带。", "mn": "Заг модны зурвас."},
              "b": {"zh": "沙尘监测。", "mn": "Шороон шуурганы хяналт."},
              "c": {"zh": "绿色贷款。"}}
# the stakeholders POST /match answers for each description, best first
ORDERS = {"Saxaul belts.": ["a", "b"], "Dust monitoring.": ["b", "a"], "Green loans.": ["c"],
          "梭梭林带。": ["b", "c", "a"], "沙尘监测。": ["b"], "绿色贷款。": ["a", "b"],
          "Заг модны зурвас.": ["a"], "Шороон шуурганы хяналт.": ["c", "b"]}


def stub(asked: list[tuple[str, str, dict[str, Any]]]) -> Any:
    def ask(method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        asked.append((method, path, body))
        return 200, {"stakeholders": [{"id": i, "name": i.upper()} for i in ORDERS[body["text"]]], "projects": []}
    return ask


def test_figures_per_language_on_known_orders() -> None:
    asked: list[tuple[str, str, dict[str, Any]]] = []
    result = evaluate_self_match(stub(asked), ENGLISH, TRANSLATED)
    # "d" has no translation, so it is not asked, not even in English
    assert len(asked) == 8 and {(m, p) for m, p, _ in asked} == {("POST", "/match")}
    assert all(body == {"text": body["text"], "k": 10} for _, _, body in asked)
    by = result["by_language"]
    assert list(by) == ["en", "zh", "mn"]
    assert {k: by["en"][k] for k in ("cases", "first", "top3", "mrr", "failures")} == {
        "cases": 3, "first": 1.0, "top3": 1.0, "mrr": 1.0, "failures": []}
    # zh: a at 3, b at 1, c not in the list
    assert by["zh"]["cases"] == 3 and by["zh"]["first"] == round(1 / 3, 4)
    assert by["zh"]["top3"] == round(2 / 3, 4) and by["zh"]["mrr"] == round((1 / 3 + 1) / 3, 4)
    assert by["zh"]["failures"] == [{"id": "a", "rank": 3, "first": "b", "first_name": "B"},
                                    {"id": "c", "rank": None, "first": "a", "first_name": "A"}]
    # mn: a at 1, b at 2
    assert (by["mn"]["first"], by["mn"]["top3"], by["mn"]["mrr"]) == (0.5, 1.0, 0.75)
    assert by["mn"]["failures"] == [{"id": "b", "rank": 2, "first": "c", "first_name": "C"}]
    assert result["below_target"] == ["zh", "mn"] and result["target_first"] == 0.9
    assert len(result["cases"]) == 8 and json.dumps(result)


def test_limits() -> None:
    assert rank_of("a", []) is None and rank_of("a", ["a"]) == 1
    # an empty answer is a failure with nobody first, not a crash
    result = evaluate_self_match(lambda m, p, b: (200, {"stakeholders": []}), {"a": "x"}, {"a": {"ru": "y"}})
    assert result["by_language"]["ru"] == {"cases": 1, "first": 0.0, "top3": 0.0, "mrr": 0.0,
                                           "failures": [{"id": "a", "rank": None, "first": None, "first_name": None}]}
    with pytest.raises(RuntimeError, match="answered 503"):
        evaluate_self_match(lambda m, p, b: (503, {"message": "not ready"}), {"a": "x"}, {"a": {"ru": "y"}})
    with pytest.raises(ValueError, match="no English profile: z"):
        cases({"a": "x"}, {"z": {"ru": "y"}})


def test_docstring_examples() -> None:
    assert doctest.testmod(evaluation.languages).failed == 0


def test_the_seed_set_is_every_stakeholder_in_six_languages() -> None:
    todo = cases(load_english(), load_translations())
    assert len(todo) == 42 * 6 and {c["lang"] for c in todo} == set(LANGUAGES)


def test_through_the_real_route(client: TestClient) -> None:
    """On the small fixture (fake embedder): English descriptions asked as they are stored."""
    english = {r["id"]: r["description"] for r in (json.loads(line) for line in
               (Path(__file__).parents[1] / "data" / "small.jsonl").read_text().splitlines())
               if r["type"] == "stakeholder"}

    def ask(method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        r = client.request(method, path, json=body)
        return r.status_code, r.json()

    result = evaluate_self_match(ask, english, {i: {} for i in english}, k=3)
    s = result["by_language"]["en"]
    assert s["cases"] == 5 and 0 <= s["mrr"] <= 1 and s["first"] <= s["top3"]
    assert all(c["first"] in english for c in result["cases"])


def test_evaluate_self_match_command(tmp_path: Path) -> None:
    report = tmp_path / "languages-match.json"
    result = CliRunner().invoke(cli, ["evaluate-languages", "--cache", str(tmp_path / "cache"), "--report",
                                      str(report)], env={"DLDMATCH_EMBEDDER": "fake"})
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert list(data["by_language"]) == list(LANGUAGES) and len(data["cases"]) == 42 * 6
    assert all(s["cases"] == 42 and 0 <= s["mrr"] <= 1 for s in data["by_language"].values())
    lines = result.stdout.splitlines()
    for lang in LANGUAGES:
        assert any(line.split()[:2] == [lang, "42"] for line in lines), lang
    assert "below the target" in result.stdout
