"""Closeness in meaning: standing above the usual, the map to a lexical value, the reason it gives."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.meaning import CLOSE_STANDING, MeaningScale, Usual, best_pair, pairs_for_fit, reference_rows
from matcher.rank import Profile, score_pair


def test_standing_is_in_deviations_above_the_usual_and_closer_than_counts_the_reference() -> None:
    usual = Usual.of(np.array([0.1, 0.2, 0.3, 0.4]))
    assert usual.standing(usual.mean) == pytest.approx(0.0)
    assert usual.standing(usual.mean + 2 * usual.std) == pytest.approx(2.0)
    assert usual.closer_than(0.05) == 0.0
    assert usual.closer_than(0.35) == 0.75
    assert usual.closer_than(0.9) == 1.0


def test_identical_similarities_do_not_divide_by_zero() -> None:
    usual = Usual.of(np.array([0.3, 0.3, 0.3]))
    assert np.isfinite(usual.standing(0.31))
    assert Usual.of(np.zeros(0)).closer_than(0.5) == 0.0


def test_the_scale_is_monotone_clipped_and_refuses_too_few_pairs() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=500)
    lexical = np.clip(0.1 * z + rng.normal(scale=0.05, size=500), 0, 1)
    scale = MeaningScale.fit(z, lexical)
    assert scale is not None
    grid = np.linspace(-5, 8, 50)
    values = scale.value(grid)
    assert np.all(np.diff(values) >= 0)
    assert values.min() >= 0 and values.max() <= 1
    assert scale.value(np.array([100.0]))[0] == values[-1]  # beyond the data: the last value
    assert MeaningScale.fit(np.array([0.0, 1.0]), np.array([0.0, 1.0])) is None


def test_pairs_for_fit_read_the_usual_without_the_profile_itself() -> None:
    dense = np.array([[1.0, 0.2, 0.4], [0.2, 1.0, 0.3]])
    lexical = np.array([[1.0, 0.1, 0.2], [0.1, 1.0, 0.0]])
    z, lex = pairs_for_fit(dense, lexical, [0, 1], [0, 1, 2])
    assert len(z) == len(lex) == 4
    assert 1.0 not in lex.tolist()
    z_self, lex_self = pairs_for_fit(dense, lexical, [0, 1], [0, 1, 2], with_self=True)
    assert len(z_self) == 6 and lex_self.tolist().count(1.0) == 2
    # the usual is the same (read without itself): the pairs with others stand as far as before
    assert sorted(z.tolist()) == sorted(v for v, x in zip(z_self.tolist(), lex_self.tolist()) if x != 1.0)
    assert z_self.max() > z.max()  # a text saying all the profile says stands above any other profile


def test_the_map_with_self_pairs_reaches_above_the_closest_other_profile() -> None:
    """A text standing between the closest other profile and the profile's own text (a translation of
    it) reads a lexical value between theirs, no longer capped at the closest other profile's."""
    rng = np.random.default_rng(1)
    dense = np.clip(rng.normal(0.3, 0.05, size=(20, 20)), 0, 1)
    np.fill_diagonal(dense, 1.0)
    lexical = np.clip(dense - 0.25, 0, 1)
    np.fill_diagonal(lexical, 1.0)
    others = MeaningScale.fit(*pairs_for_fit(dense, lexical, list(range(20)), list(range(20))))
    both = MeaningScale.fit(*pairs_for_fit(dense, lexical, list(range(20)), list(range(20)), with_self=True))
    assert others is not None and both is not None
    between = np.array([(max(others.standing) + min(s for s in both.standing if s > max(others.standing))) / 2])
    assert others.value(between)[0] < both.value(between)[0] < 1.0


def test_reference_rows_are_spread_and_unique() -> None:
    rows = reference_rows(10_000, 1_000)
    assert len(rows) == 1_000 and rows[0] == 0 and rows[-1] == 9_999
    assert len(set(rows.tolist())) == len(rows)
    assert reference_rows(0, 5).tolist() == []


def test_best_pair_finds_the_closest_sentences_and_needs_both_sides() -> None:
    q = np.eye(3)[:2]
    c = np.array([[0.0, 0.6, 0.8], [0.9, 0.1, np.sqrt(1 - 0.82)]])
    assert best_pair(q, c)[:2] == (0, 1)
    with pytest.raises(ValueError):
        best_pair(q, np.zeros((0, 3)))


def _pair(standing: float | None) -> object:
    query = Profile(key="q", name="q", kind="project", sentences=("Dunes.",))
    candidate = Profile(key="s:a", name="A", kind="csc", sentences=("Sand.",))
    signals = {} if standing is None else {"standing": standing, "closer_than": 0.97}
    return score_pair(query, candidate, 0.5, signals=signals).explanation


def test_standing_out_in_meaning_is_a_reason_and_nothing_else_is_needed() -> None:
    close = _pair(CLOSE_STANDING + 0.1)
    assert close.reason and close.closeness is not None
    assert close.closeness.closer_than == 0.97
    assert not _pair(CLOSE_STANDING - 0.1).reason  # a bare similarity is not one
    assert not _pair(None).reason
