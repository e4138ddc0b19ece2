"""The README's weight table is the one ``dldmatch weights`` generates from the ranker in force."""

from __future__ import annotations

from api.settings import RANKER, ROOT
from matcher.rank import Ranking, weight_table


def test_readme_weight_table_is_generated_from_the_ranker_in_force() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- weights:start -->", "<!-- weights:end -->"
    assert start in readme and end in readme
    shown = readme.split(start, 1)[1].split(end, 1)[0].strip()
    generated = weight_table(Ranking.from_file(RANKER))
    assert generated in shown, "run `dldmatch weights` and paste its table into the README"


def test_readme_routes_table_is_generated_from_the_rules_in_force() -> None:
    from api.access import routes_table

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- routes:start -->", "<!-- routes:end -->"
    assert start in readme and end in readme
    shown = readme.split(start, 1)[1].split(end, 1)[0].strip()
    assert routes_table() in shown, "run `dldmatch routes` and paste its table into the README"
