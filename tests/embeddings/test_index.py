from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from embeddings.fake import FakeEmbedder
from embeddings.index import Manifest, VectorIndex, content_version, now_iso
from embeddings.texts import stakeholder_text, text_hash


def _manifest(index: VectorIndex, version: str = "v1") -> Manifest:
    return Manifest(name="stakeholders", model_id="m", dim=index.dim, count=len(index), content_version=version,
                    index_type=index.index_type, built_at=now_iso())


def test_fake_embedder_is_deterministic_normalised_and_meaningful() -> None:
    e = FakeEmbedder()
    a, b, c = e.embed(["sand fixation in the Kubuqi desert", "sand fixation in Kubuqi", "air quality in cities"])
    assert np.allclose(a, FakeEmbedder().embed(["sand fixation in the Kubuqi desert"])[0])
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)
    assert a @ b > a @ c
    assert e.calls == 3


def test_search_upsert_and_remove_without_rebuild() -> None:
    index = VectorIndex(4)
    index.upsert([10, 11, 12], np.eye(4, dtype=np.float32)[:3])
    assert index.search(np.eye(4)[1], 1) == [(11, pytest.approx(1.0))]
    index.upsert([11], np.eye(4, dtype=np.float32)[3:4])  # changed vector, same id
    assert len(index) == 3 and index.search(np.eye(4)[3], 1)[0][0] == 11
    index.remove([10])
    assert sorted(index.ids().tolist()) == [11, 12]
    assert len(index.search(np.eye(4)[0], 10)) == 2  # k larger than the index
    with pytest.raises(ValueError):
        index.upsert([1], np.ones((1, 3), dtype=np.float32))


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    index = VectorIndex(4)
    index.upsert([1, 2], np.eye(4, dtype=np.float32)[:2])
    index.save(tmp_path, _manifest(index))
    loaded = VectorIndex.load(tmp_path, "stakeholders")
    assert loaded is not None
    again, manifest = loaded
    assert manifest.count == 2 and manifest.content_version == "v1" and manifest.index_type == "IDMap2,Flat"
    assert again.search(np.eye(4)[1], 1)[0][0] == 2
    # A second save replaces the pair and leaves one index file behind.
    index.upsert([3], np.eye(4, dtype=np.float32)[2:3])
    index.save(tmp_path, _manifest(index, "v2"))
    assert len(list(tmp_path.glob("stakeholders.*.faiss"))) == 1
    assert VectorIndex.load(tmp_path, "stakeholders")[1].content_version == "v2"  # type: ignore[index]


def test_damaged_or_missing_index_is_not_loaded(tmp_path: Path) -> None:
    assert VectorIndex.load(tmp_path, "stakeholders") is None
    index = VectorIndex(4)
    index.upsert([1], np.eye(4, dtype=np.float32)[:1])
    index.save(tmp_path, _manifest(index))
    next(tmp_path.glob("stakeholders.*.faiss")).write_bytes(b"garbage")
    assert VectorIndex.load(tmp_path, "stakeholders") is None


def test_content_version_ignores_order_but_not_content() -> None:
    assert content_version([(1, "a"), (2, "b")]) == content_version([(2, "b"), (1, "a")])
    assert content_version([(1, "a")]) != content_version([(1, "b")])


def test_stakeholder_text_includes_projects_deterministically() -> None:
    text = stakeholder_text("Org", "We plant.", [("B project", "The second project plants trees. More text follows."), ("A project", "First one.")])
    assert text.index("A project") < text.index("B project")
    assert "More text" not in text
    assert text_hash(text) == text_hash(stakeholder_text("Org", "We plant.", [("A project", "First one."),
                                                                              ("B project", "The second project plants trees. More text follows.")]))


def test_index_type_follows_size_and_ivf_keeps_recall(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=(500, 32)).astype(np.float32)
    n = 6000
    vectors = base[rng.integers(0, 500, n)] + rng.normal(scale=0.08, size=(n, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert VectorIndex.for_size(32, vectors[:100], exact_limit=1000).index_type == "IDMap2,Flat"
    ivf = VectorIndex.for_size(32, vectors, exact_limit=1000)
    assert ivf.index_type.startswith("IVF") and "nprobe=" in ivf.index_type
    ivf.upsert(np.arange(n), vectors)
    exact = VectorIndex(32)
    exact.upsert(np.arange(n), vectors)
    queries = vectors[:100] + rng.normal(scale=0.05, size=(100, 32)).astype(np.float32)
    recall = np.mean([len({i for i, _ in ivf.search(q, 10)} & {i for i, _ in exact.search(q, 10)}) / 10
                      for q in queries])
    assert recall >= 0.95
    ivf.remove([3])
    ivf.upsert([4], vectors[10:11])
    assert len(ivf) == n - 1 and ivf.search(vectors[10], 2)[0][0] in (4, 10)
    ivf.save(tmp_path, _manifest(ivf))
    loaded, manifest = VectorIndex.load(tmp_path, "stakeholders")  # type: ignore[misc]
    assert manifest.index_type == ivf.index_type == loaded.index_type and len(loaded) == n - 1
    loaded.remove([5])  # still updatable in place after loading
    assert len(loaded) == n - 2 and sorted(loaded.ids().tolist())[:3] == [0, 1, 2]


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_an_index_with_changes_searches_as_one_built_afresh_and_leaves_its_base_alone(kind: str) -> None:
    """Changes give a new index (a delta beside a shared base, folded in past the limit); every one of
    them searches as an exact search over the vectors it should hold, and the first is never changed."""
    rng = np.random.default_rng(3)
    dim = 16

    def unit(n: int) -> np.ndarray:
        v = rng.normal(size=(n, dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    vectors = {i: v for i, v in zip(range(3000), unit(3000))}
    base = VectorIndex(dim) if kind == "flat" else VectorIndex(dim, kind="ivf", train=np.stack(list(vectors.values())))
    base.upsert(list(vectors), np.stack(list(vectors.values())))
    if kind == "ivf":
        faiss.extract_index_ivf(base._index).nprobe = faiss.extract_index_ivf(base._index).nlist  # exact
    first_hits = base.search(vectors[7], 10)
    index, expected = base, dict(vectors)
    for step in range(60):  # past DELTA_LIMIT: some steps fold the delta into a new base
        changed = [int(i) for i in rng.choice(4000, size=40, replace=False)]
        removed = [int(i) for i in rng.choice(list(expected), size=10, replace=False) if int(i) not in changed]
        fresh = unit(len(changed))
        index = index.with_changes(changed, fresh, removed=removed)
        for i in removed:
            expected.pop(i, None)
        expected.update(zip(changed, fresh))
        assert len(index) == len(expected)
        if step % 10 == 0 or step == 59:
            ids = np.array(sorted(expected))
            matrix = np.stack([expected[i] for i in ids])
            q = unit(1)[0]
            truth = sorted(zip(ids.tolist(), (matrix @ q).tolist()), key=lambda h: (-h[1], h[0]))[:10]
            got = index.search(q, 10)
            assert [i for i, _ in got] == [i for i, _ in truth]
            assert np.allclose([s for _, s in got], [s for _, s in truth], atol=2e-3)
            allowed = ids[::3]
            got = index.search(q, 5, allowed=allowed)
            assert set(i for i, _ in got) <= set(allowed.tolist()) and len(got) == 5
            assert sorted(index.ids().tolist()) == ids.tolist()
            some = [int(ids[0]), int(ids[-1]), 99_999]
            sims = index.similarities(q, some)
            assert set(sims) == set(some[:2]) and abs(sims[some[0]] - float(expected[some[0]] @ q)) < 2e-3
    assert base.search(vectors[7], 10) == first_hits and len(base) == 3000  # the first index is untouched
