"""FAISS vector index with a manifest, saved atomically.

The index is a cache of the database, never the source of truth. Its manifest records the model,
the dimension, the number of vectors and a content version (a hash of every entity id with the hash
of its text); the service loads a saved index only when all of these match the database, and
rebuilds it from stored vectors otherwise.

Vectors are L2-normalised, so inner product is cosine similarity. Below some tens of thousands of
vectors an exact ``IDMap2,Flat`` index is both fastest to build and exact.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

import faiss
import numpy as np

MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class Manifest:
    name: str
    model_id: str
    dim: int
    count: int
    content_version: str
    index_type: str
    built_at: str
    format: int = MANIFEST_FORMAT


def content_version(entries: Iterable[tuple[int, str]]) -> str:
    """A hash of (entity id, text hash) pairs, independent of their order."""
    digest = hashlib.sha256()
    for entity_id, text_hash in sorted(entries):
        digest.update(f"{entity_id}:{text_hash}\n".encode())
    return digest.hexdigest()


EXACT_LIMIT = 50_000
"""Below this many vectors the index is exact (``IDMap2,Flat``): fast enough and never wrong. Above,
an inverted-file index (``IVF,SQfp16``): k-means cells, ``nprobe`` of them searched per query, vectors
stored as 16-bit floats."""


def ivf_params(count: int) -> tuple[int, int]:
    """Cells and cells searched for ``count`` training vectors (a sample of at most 100,000 of the
    collection): about 4·√count cells; nprobe chosen so that recall@10 against exact search stays
    ≥ 0.95 on real-like vectors (measured by ``dldmatch bench``, up to a million vectors)."""
    nlist = max(64, int(4 * count ** 0.5))
    return nlist, max(16, nlist // 40)


DELTA_LIMIT = 2_000
"""Changed vectors a derived index keeps beside its base (see :meth:`VectorIndex.with_changes`) before the
next change folds them into a new base: at least this many, or 2 % of the base."""


class VectorIndex:
    """Inner-product search over int64 ids.

    Built and filled once (``upsert``), then never changed while it is searched: a change gives a new
    index (:meth:`with_changes`) that shares this one's FAISS index as its base and holds the changed
    vectors in a small exact delta beside it, with the changed and removed ids hidden in the base."""

    def __init__(self, dim: int, *, kind: str = "flat", train: np.ndarray | None = None) -> None:
        self.dim = dim
        self._delta_ids = np.zeros(0, dtype=np.int64)  # sorted
        self._delta = np.zeros((0, dim), dtype=np.float32)
        self._hidden = np.zeros(0, dtype=np.int64)  # sorted ids of the base that no longer count
        if kind == "flat":
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
            self.index_type = "IDMap2,Flat"
        elif kind == "ivf":
            if train is None or len(train) == 0:
                raise ValueError("an IVF index needs vectors to train on")
            nlist, nprobe = ivf_params(len(train))
            nlist = min(nlist, max(1, len(train) // 39))  # k-means needs some points per cell
            quantizer = faiss.IndexFlatIP(dim)
            # Vectors stored as 16-bit floats: half the memory, cosines within about 1e-3 of float32,
            # which moves no neighbour that matters (recall@10 against exact search is measured).
            ivf = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_fp16,
                                                faiss.METRIC_INNER_PRODUCT)
            ivf.train(np.ascontiguousarray(train, dtype=np.float32))
            ivf.nprobe = min(nprobe, nlist)
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct() and remove_ids() by any id
            self._index = ivf
            self._quantizer = quantizer  # the IVF index does not own it: keep it alive
            self.index_type = f"IVF{nlist},SQfp16,nprobe={ivf.nprobe}"
        else:
            raise ValueError(f"unknown index kind {kind!r}")

    @classmethod
    def for_size(cls, dim: int, vectors: np.ndarray, *, exact_limit: int = EXACT_LIMIT) -> "VectorIndex":
        """Exact below ``exact_limit`` vectors, IVF above (trained on a sample of the vectors)."""
        if len(vectors) < exact_limit:
            return cls(dim)
        rng = np.random.default_rng(0)
        sample = vectors[rng.choice(len(vectors), size=min(len(vectors), 100_000), replace=False)]
        return cls(dim, kind="ivf", train=sample)

    def __len__(self) -> int:
        return int(self._index.ntotal) - len(self._hidden) + len(self._delta_ids)

    @property
    def nbytes(self) -> int:
        """Bytes the index holds for its vectors and ids (codes, ids, cell centroids; not the small
        bookkeeping of the id maps)."""
        n = int(self._index.ntotal)
        extra = self._delta.nbytes + self._delta_ids.nbytes + self._hidden.nbytes
        if hasattr(self._index, "id_map"):
            return n * (self.dim * 4 + 8) + extra
        ivf = faiss.extract_index_ivf(self._index)
        return n * (ivf.code_size + 8) + ivf.nlist * self.dim * 4 + extra

    def upsert(self, ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        """Add or replace vectors in place: only while the index is built, before anyone searches it."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(ids), self.dim):
            raise ValueError(f"expected vectors of shape ({len(ids)}, {self.dim}), got {vectors.shape}")
        self._index.remove_ids(ids)
        self._index.add_with_ids(vectors, ids)

    def with_changes(self, ids: Sequence[int], vectors: np.ndarray, removed: Sequence[int] = ()) -> "VectorIndex":
        """A new index with these vectors added or replaced and the ``removed`` ids gone; this one is not
        changed (requests may be searching it). The new one shares this one's FAISS index: the changes
        are a small exact delta beside it (costs the delta, not the collection). Once the delta passes
        :data:`DELTA_LIMIT` (or 2 % of the base), the base is copied and the changes folded into it."""
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        gone = np.union1d(ids, np.asarray(removed, dtype=np.int64))
        keep = ~np.isin(self._delta_ids, gone)
        delta_ids = np.concatenate([self._delta_ids[keep], ids])
        delta = np.concatenate([self._delta[keep], vectors])
        order = np.argsort(delta_ids, kind="stable")
        out = VectorIndex.__new__(VectorIndex)
        out.dim, out.index_type, out._index = self.dim, self.index_type, self._index
        if hasattr(self, "_quantizer"):
            out._quantizer = self._quantizer
        out._delta_ids, out._delta = delta_ids[order], delta[order]
        out._hidden = np.union1d(self._hidden, gone[self._in_base(gone)])
        if len(out._delta_ids) + len(out._hidden) > max(DELTA_LIMIT, int(0.02 * self._index.ntotal)):
            return out.compacted()
        return out

    def compacted(self) -> "VectorIndex":
        """The same vectors in one FAISS index of its own (a copy of the base with the delta folded in)."""
        if not len(self._delta_ids) and not len(self._hidden):
            return self
        out = VectorIndex.__new__(VectorIndex)
        out.dim, out.index_type = self.dim, self.index_type
        out._index = faiss.clone_index(self._index)
        out._delta_ids, out._delta = np.zeros(0, dtype=np.int64), np.zeros((0, self.dim), dtype=np.float32)
        out._hidden = np.zeros(0, dtype=np.int64)
        if not hasattr(out._index, "id_map"):
            ivf = faiss.extract_index_ivf(out._index)
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
            ivf.nprobe = faiss.extract_index_ivf(self._index).nprobe
            out._quantizer = ivf.quantizer  # owned by the clone
        out._index.remove_ids(np.union1d(self._hidden, self._delta_ids))
        if len(self._delta_ids):
            out._index.add_with_ids(self._delta, self._delta_ids)
        return out

    def _in_base(self, ids: np.ndarray) -> np.ndarray:
        """Which of these ids the base FAISS index holds."""
        if hasattr(self._index, "id_map"):
            return np.isin(ids, faiss.vector_to_array(self._index.id_map))
        direct = faiss.extract_index_ivf(self._index)
        out = np.zeros(len(ids), dtype=bool)
        for n, i in enumerate(ids):
            try:
                direct.reconstruct(int(i))
                out[n] = True
            except RuntimeError:
                pass
        return out

    def remove(self, ids: np.ndarray | list[int]) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids):
            self._index.remove_ids(ids)

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The k nearest ids with their cosine similarity, nearest first; only among the ``allowed``
        ids when given (a filter applied inside the search, not after it)."""
        k = min(k, len(self))
        if k <= 0:
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, self.dim)
        hits = self._search_base(query, k, allowed)
        if len(self._delta_ids):
            in_delta = np.ones(len(self._delta_ids), dtype=bool) if allowed is None else \
                np.isin(self._delta_ids, np.asarray(allowed, dtype=np.int64))
            scores = self._delta[in_delta] @ query[0]
            hits += [(int(i), float(v)) for i, v in zip(self._delta_ids[in_delta], scores)]
            hits.sort(key=lambda h: (-h[1], h[0]))
        return hits[:k]

    def _search_base(self, query: np.ndarray, k: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        wanted = k
        k = min(k + len(self._hidden), int(self._index.ntotal))  # hidden ids are dropped from what is found
        if k <= 0:
            return []
        if allowed is not None and len(self._hidden):
            allowed = np.setdiff1d(np.asarray(allowed, dtype=np.int64), self._hidden)
        if allowed is None:
            scores, ids = self._index.search(query, k)
        else:
            allowed = np.asarray(allowed, dtype=np.int64)
            if not len(allowed):
                return []
            mask = np.zeros(int(allowed.max()) + 1, dtype=bool)
            mask[allowed] = True
            bits = np.packbits(mask, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
            if hasattr(self._index, "id_map"):
                params = faiss.SearchParameters(sel=selector)
            else:
                params = faiss.SearchParametersIVF(sel=selector, nprobe=faiss.extract_index_ivf(self._index).nprobe)
            scores, ids = self._index.search(query, k, params=params)
        hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]
        if len(self._hidden):
            hidden = set(self._hidden.tolist())
            hits = [h for h in hits if h[0] not in hidden]
        return hits[:wanted]

    def similarities(self, vector: np.ndarray, ids: list[int]) -> dict[int, float]:
        """Cosine similarity of the vector to each of the given ids that the index holds."""
        out: dict[int, float] = {}
        query = np.asarray(vector, dtype=np.float32).reshape(self.dim)
        for i in ids:
            at = int(np.searchsorted(self._delta_ids, i))
            if at < len(self._delta_ids) and self._delta_ids[at] == i:
                out[i] = float(self._delta[at] @ query)
                continue
            at = int(np.searchsorted(self._hidden, i))
            if at < len(self._hidden) and self._hidden[at] == i:
                continue
            try:
                out[i] = float(self._index.reconstruct(int(i)) @ query)
            except RuntimeError:  # not in the index
                continue
        return out

    def ids(self) -> np.ndarray:
        if hasattr(self._index, "id_map"):
            base = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        else:
            invlists = faiss.extract_index_ivf(self._index).invlists
            out = [faiss.rev_swig_ptr(invlists.get_ids(n), invlists.list_size(n)).copy()
                   for n in range(invlists.nlist) if invlists.list_size(n)]
            base = np.concatenate(out).astype(np.int64) if out else np.zeros(0, dtype=np.int64)
        if len(self._hidden):
            base = base[~np.isin(base, self._hidden)]
        return np.concatenate([base, self._delta_ids]) if len(self._delta_ids) else base

    def save(self, directory: Path, manifest: Manifest) -> None:
        """Write index and manifest so that a reader sees either the old pair or the new one.

        The manifest is written last and names the index file it belongs to, so a crash between
        the two writes leaves a manifest that does not match and the index is rebuilt.
        """
        if len(self._delta_ids) or len(self._hidden):
            self.compacted().save(directory, manifest)
            return
        directory.mkdir(parents=True, exist_ok=True)
        stamp = hashlib.sha256(f"{manifest.content_version}{manifest.built_at}".encode()).hexdigest()[:16]
        index_file = directory / f"{manifest.name}.{stamp}.faiss"
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{index_file.name}.")
        os.close(fd)
        try:  # written by FAISS straight to the file: no copy of a large index in memory
            faiss.write_index(self._index, tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, index_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        record = {**asdict(manifest), "index_file": index_file.name}
        atomic_write(directory / f"{manifest.name}.manifest.json",
                      json.dumps(record, indent=2, sort_keys=True).encode())
        for old in directory.glob(f"{manifest.name}.*.faiss"):
            if old != index_file:
                old.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: Path, name: str) -> tuple["VectorIndex", Manifest] | None:
        """The saved index and its manifest, or None when there is none or it is unreadable."""
        manifest_file = directory / f"{name}.manifest.json"
        try:
            record = json.loads(manifest_file.read_text())
            index_file = directory / record.pop("index_file")
            manifest = Manifest(**record)
            raw = faiss.read_index(str(index_file))
        except (OSError, ValueError, TypeError, KeyError, RuntimeError):
            return None
        if manifest.format != MANIFEST_FORMAT or raw.d != manifest.dim or raw.ntotal != manifest.count:
            return None
        index = cls(manifest.dim)
        index._index = raw
        index.index_type = manifest.index_type
        if manifest.index_type.startswith("IVF"):
            ivf = faiss.extract_index_ivf(raw)
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
            ivf.nprobe = int(manifest.index_type.rsplit("nprobe=", 1)[-1])
        return index, manifest


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def atomic_write(path: Path, data: bytes) -> None:
    """Write a file so that a reader sees either the old content or the new, never a part."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
