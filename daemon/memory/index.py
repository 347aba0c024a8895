"""HnswIndex: the per-user vector index, a derived cache of the vectors in SQLite.

One hnswlib index per user (partition). Why per user rather than one shared index with a
filter: a home has a handful of users, a per-user graph is searched with no Python filter
callback on the hot path (hnswlib calls a Python filter for every candidate), recall does not
drop for a small user inside a big index, and one user's search can never even see another
user's vectors. ``bench/memory_bench.py`` prints both for comparison.

Each partition is saved atomically (temp file + fsync + rename) with a manifest holding the
store generation it reflects, the embedder identity and a checksum; at load any mismatch means
"stale or corrupt" and the index is rebuilt from the embeddings stored in SQLite.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import hnswlib
import numpy as np

from daemon.progress import Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexParams:
    m: int = 16
    ef_construction: int = 200
    ef_search: int = 128


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _fsync_replace(tmp: Path, final: Path) -> None:
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class _Blank(dict[int, np.ndarray]):
    """A fixed unit vector per dimension: what a removed element's vector is overwritten with."""

    def __missing__(self, dim: int) -> np.ndarray:
        vec = np.random.default_rng(0).standard_normal((1, dim)).astype(np.float32)
        self[dim] = vec / np.linalg.norm(vec)
        return self[dim]


_BLANK = _Blank()


class HnswIndex:
    """One partition's cosine HNSW graph, labels = memory ``num``s."""

    def __init__(self, dim: int, params: IndexParams, capacity: int = 1024) -> None:
        self.dim = dim
        self.params = params
        self._capacity = capacity
        # Made at the first add: an hnswlib graph costs ~2.6 MB of RAM even empty (its label
        # locks), and most partitions of a new device stay empty for a while.
        self._graph: hnswlib.Index | None = None
        self._labels: set[int] = set()
        self._deleted: set[int] = set()
        self.caught_up = False  # loaded, then brought up to date with the store

    @classmethod
    def load(cls, path: Path, dim: int, params: IndexParams, labels: set[int]) -> HnswIndex:
        self = cls.__new__(cls)
        self.dim = dim
        self.params = params
        self._capacity = 1024
        self._graph = hnswlib.Index(space="cosine", dim=dim)
        self._graph.load_index(str(path), max_elements=max(len(labels) * 2, 1024))
        self._graph.set_ef(params.ef_search)
        self._labels = set(labels)
        self._deleted = {int(x) for x in self._index.get_ids_list()} - self._labels
        self.caught_up = False
        return self

    @property
    def _index(self) -> hnswlib.Index:
        if self._graph is None:
            self._graph = hnswlib.Index(space="cosine", dim=self.dim)
            self._graph.init_index(max_elements=max(self._capacity, 16),
                                   ef_construction=self.params.ef_construction, M=self.params.m)
            self._graph.set_ef(self.params.ef_search)
        return self._graph

    def __len__(self) -> int:
        return len(self._labels)

    @property
    def labels(self) -> set[int]:
        return set(self._labels)

    def add(self, labels: Sequence[int], vectors: np.ndarray) -> None:
        """Insert, or replace the vector of, these labels."""
        if not len(labels):
            return
        needed = self._index.get_current_count() + len(labels)
        if needed > self._index.get_max_elements():
            self._index.resize_index(max(self._index.get_max_elements() * 2, needed + 1024))
        for label in labels:
            if label in self._deleted:
                self._index.unmark_deleted(label)
                self._deleted.discard(label)
        vecs = np.asarray(vectors, dtype=np.float32).reshape(len(labels), self.dim)
        self._index.add_items(vecs, np.asarray(labels, dtype=np.int64))
        self._labels.update(int(x) for x in labels)

    def remove(self, labels: Sequence[int]) -> None:
        for label in labels:
            if label in self._labels:
                # hnswlib keeps a deleted element's vector in the graph (and the saved file):
                # overwrite it first, so a deleted memory's embedding is not kept.
                self._index.add_items(_BLANK[self.dim], np.asarray([label], dtype=np.int64))
                self._index.mark_deleted(label)
                self._labels.discard(label)
                self._deleted.add(label)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(label, cosine similarity) best first."""
        k = min(k, len(self._labels))
        if k <= 0:
            return []
        q = np.asarray(vector, dtype=np.float32).reshape(1, self.dim)
        self._index.set_ef(max(self.params.ef_search, k))
        while k > 0:
            try:
                labels, dists = self._index.knn_query(q, k=k)
                break
            except RuntimeError:  # too few reachable live elements for k
                k //= 2
        else:
            return []
        return [(int(lbl), 1.0 - float(d)) for lbl, d in zip(labels[0], dists[0])]

    def save(self, path: Path) -> str:
        """Write atomically; returns the file's sha256."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        self._index.save_index(str(tmp))
        digest = _file_sha256(tmp)
        _fsync_replace(tmp, path)
        return digest


def labels_digest(labels: Sequence[int]) -> str:
    return hashlib.sha256(",".join(map(str, sorted(labels))).encode()).hexdigest()


def partition_file_stem(partition: str) -> str:
    """File name for a partition: a hash, so no user id ever reaches a path."""
    return "u-" + hashlib.sha256(partition.encode("utf-8")).hexdigest()[:24]


class IndexSet:
    """All partitions' indexes under one folder, loaded lazily, saved when dirty."""

    def __init__(self, folder: Path, dim: int, identity: str, params: IndexParams) -> None:
        self.folder = folder
        self.dim = dim
        self.identity = identity
        self.params = params
        self._parts: dict[str, HnswIndex] = {}
        self._gens: dict[str, int] = {}
        self._dirty: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, partition: str) -> asyncio.Lock:
        return self._locks.setdefault(partition, asyncio.Lock())

    def get(self, partition: str) -> HnswIndex | None:
        return self._parts.get(partition)

    def _paths(self, partition: str) -> tuple[Path, Path]:
        stem = partition_file_stem(partition)
        return self.folder / f"{stem}.hnsw", self.folder / f"{stem}.json"

    def try_load(
        self, partition: str, generation: int, live: Sequence[int], vectors: np.ndarray
    ) -> HnswIndex | None:
        """The saved index if it is intact: as saved when it matches the store, else brought
        up to date with the store's changes since it was saved (a crash between saves). None
        (with the reason logged) when it must be rebuilt: missing, corrupt, other model."""
        idx_path, man_path = self._paths(partition)
        if not idx_path.exists() or not man_path.exists():
            return None
        try:
            manifest = json.loads(man_path.read_text(encoding="utf-8"))
            reason = None
            if manifest.get("embedder") != self.identity or manifest.get("dim") != self.dim:
                reason = "embedding model changed"
            elif _file_sha256(idx_path) != manifest.get("sha256"):
                reason = "checksum mismatch (corrupt file)"
            if reason:
                log.warning("index for a user is stale (%s): rebuilding", reason)
                return None
            if (manifest.get("generation") == generation
                    and manifest.get("labels_sha256") == labels_digest(live)):
                return HnswIndex.load(idx_path, self.dim, self.params, set(live))
            return self._catch_up(partition, manifest, live, vectors)
        except (OSError, ValueError, RuntimeError) as exc:
            log.warning("index file unreadable (%s): rebuilding", exc)
            return None

    def _catch_up(
        self, partition: str, manifest: dict, live: Sequence[int], vectors: np.ndarray
    ) -> HnswIndex | None:
        """Apply to the saved graph what changed in the store after it was saved: far cheaper
        than a rebuild (seconds, not minutes, at 100k memories)."""
        idx_path, _ = self._paths(partition)
        labels_path = idx_path.with_suffix(".labels.npy")
        if not labels_path.exists():
            log.warning("index for a user is older than the database: rebuilding")
            return None
        saved = [int(x) for x in np.load(labels_path)]
        if labels_digest(saved) != manifest.get("labels_sha256"):
            log.warning("index label file does not match its manifest: rebuilding")
            return None
        saved_set = set(saved)
        index = HnswIndex.load(idx_path, self.dim, self.params, saved_set)
        live_pos = {num: i for i, num in enumerate(live)}
        gone = [n for n in saved if n not in live_pos]
        index.remove(gone)
        new = [n for n in live if n not in saved_set]
        if new:
            index.add(new, vectors[[live_pos[n] for n in new]])
        kept = [n for n in live if n in saved_set]
        changed: list[int] = []
        if kept:
            rows = [live_pos[n] for n in kept]
            want = vectors[rows] / np.linalg.norm(vectors[rows], axis=1, keepdims=True)
            have = np.asarray(index._index.get_items(kept))
            diff = np.abs(have - want).max(axis=1)
            changed = [kept[i] for i in np.nonzero(diff > 1e-4)[0]]
            if changed:
                index.add(changed, vectors[[live_pos[n] for n in changed]])
        log.info("index for a user brought up to date: %d added, %d removed, %d updated",
                 len(new), len(gone), len(changed))
        index.caught_up = True
        return index

    def build(
        self, partition: str, nums: Sequence[int], vectors: np.ndarray,
        progress: Progress | None = None,
    ) -> HnswIndex:
        index = HnswIndex(self.dim, self.params, capacity=max(1024, int(len(nums) * 1.25)))
        step = 5000
        for start in range(0, len(nums), step):
            index.add(nums[start : start + step], vectors[start : start + step])
            if progress and len(nums) > step:
                done = min(start + step, len(nums))
                progress(f"rebuilding index: {done}/{len(nums)} memories")
        return index

    def put(self, partition: str, index: HnswIndex, generation: int, dirty: bool) -> None:
        self._parts[partition] = index
        self._gens[partition] = generation
        if dirty:
            self._dirty.add(partition)
        else:
            self._dirty.discard(partition)

    def touch(self, partition: str, generation: int) -> None:
        self._gens[partition] = generation
        self._dirty.add(partition)

    def generation(self, partition: str) -> int | None:
        return self._gens.get(partition)

    def forget(self, partition: str) -> None:
        """Drop the in-memory index only (it is reloaded or rebuilt on next use)."""
        self._parts.pop(partition, None)
        self._gens.pop(partition, None)
        self._dirty.discard(partition)

    def drop(self, partition: str) -> None:
        self._parts.pop(partition, None)
        self._gens.pop(partition, None)
        self._dirty.discard(partition)
        idx_path, man_path = self._paths(partition)
        for p in (idx_path, man_path, idx_path.with_suffix(".labels.npy")):
            p.unlink(missing_ok=True)

    @property
    def dirty(self) -> set[str]:
        return set(self._dirty)

    def save(self, partition: str) -> None:
        index = self._parts.get(partition)
        if index is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        idx_path, man_path = self._paths(partition)
        labels = sorted(index.labels)
        labels_path = idx_path.with_suffix(".labels.npy")
        tmp_labels = idx_path.with_suffix(".labels.tmp.npy")
        np.save(tmp_labels, np.asarray(labels, dtype=np.int64))
        _fsync_replace(tmp_labels, labels_path)
        digest = index.save(idx_path)
        manifest = {
            "generation": self._gens.get(partition, 0),
            "embedder": self.identity,
            "dim": self.dim,
            "count": len(labels),
            "labels_sha256": labels_digest(labels),
            "sha256": digest,
            "m": self.params.m,
        }
        tmp = man_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(manifest), encoding="utf-8")
        _fsync_replace(tmp, man_path)
        self._dirty.discard(partition)

    def clear(self) -> None:
        for partition in list(self._parts):
            self.drop(partition)
        if self.folder.exists():
            for p in self.folder.glob("u-*"):
                p.unlink(missing_ok=True)
