from __future__ import annotations

import numpy as np

from matcher.pooling import could_join, describe, find_groups, independent_actors
from matcher.rank import Place, Profile
from matcher.themes import Theme

VOCAB = {"trees": Theme("trees", "Afforestation", "", ("shelterbelt",)),
         "dust": Theme("dust", "Dust", "", ("dust",))}


def p(key: str, kind: str, **kw: object) -> Profile:
    return Profile(key=key, name=key, kind=kind, **kw)  # type: ignore[arg-type]


GOBI = (Place("Gobi"),)
POOL = [
    p("s:cso", "cso", themes=("trees",), countries=("MN",), places=GOBI, offers=("volunteers",),
      needs=("funding", "seedlings_materials"), sentences=("We plant shelterbelt rows.",)),
    p("s:fund", "funder", themes=("trees",), countries=("KR",), places=GOBI, offers=("funding",), needs=("volunteers",),
      sentences=("Grants for shelterbelt work.",)),
    p("s:nursery", "private", themes=("trees",), countries=("MN",), offers=("seedlings_materials",),
      sentences=("A shelterbelt nursery.",)),
    p("p:belt", "project", themes=("trees",), countries=("MN",), places=GOBI, needs=("research_data",),
      partners=frozenset({"s:cso"}), sentences=("Shelterbelt in the Gobi.",)),
    p("s:lab", "academia", themes=("dust",), countries=("JP",), offers=("research_data",), sentences=("Dust study.",)),
    p("s:city", "government", themes=("dust",), countries=("JP",), needs=("training",), sentences=("Dust alerts.",)),
]
VECTORS = np.array([[1, 0, 0], [0.9, 0.1, 0], [0.8, 0.2, 0], [0.95, 0, 0.05], [0, 1, 0], [0, 0.9, 0.1]],
                   dtype=np.float32)


def test_a_complementary_group_is_found_and_explained() -> None:
    groups = find_groups(POOL, VECTORS, VOCAB, funding={"p:belt": (5000.0, "USD")})
    assert groups, "expected a pooling group"
    best = groups[0]
    assert {"s:cso", "s:fund", "s:nursery"} <= set(best.keys)
    assert best.shared_themes[0] == "trees" and best.shared_places == ("Gobi",)
    members = {m.key: m for m in best.members}
    assert members["s:fund"].brings == ("funding",)
    assert members["s:nursery"].brings == ("seedlings_materials",)
    assert set(members["s:cso"].met) == {"funding", "seedlings_materials"}
    assert members["s:cso"].evidence[0].sentence == "We plant shelterbelt rows."
    assert 0 < best.score <= 1 and abs(sum(best.components.values()) - best.score) < 1e-5
    if "p:belt" in best.keys:
        assert best.funding_sought == {"USD": 5000.0}


def test_groups_are_deterministic_whatever_the_input_order() -> None:
    first = find_groups(POOL, VECTORS, VOCAB)
    order = [5, 3, 1, 0, 4, 2]
    again = find_groups([POOL[i] for i in order], VECTORS[order], VOCAB)
    assert [g.keys for g in first] == [g.keys for g in again]
    assert [g.score for g in first] == [g.score for g in again]


def test_an_organisation_with_its_own_projects_is_not_a_pool() -> None:
    own = [p("s:a", "cso", partners=frozenset({"s:a"})), p("p:1", "project", partners=frozenset({"s:a"})),
           p("p:2", "project", partners=frozenset({"s:a"}))]
    assert independent_actors(own) == 1
    assert independent_actors(POOL[:3]) == 3


def test_uncovered_needs_and_joining() -> None:
    group = describe(POOL[:2], VOCAB)
    assert group.uncovered == ("seedlings_materials",)
    joined = could_join(POOL[2], POOL[:2], VOCAB)
    assert joined is not None and joined.uncovered == ()
    assert could_join(POOL[4], POOL[:2], VOCAB) is None  # shares no theme
