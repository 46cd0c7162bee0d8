"""FAISS indices of L2-normalised vectors under inner product, with the sound ids as FAISS ids.

The index type is a FAISS factory string (`Flat`, `HNSW32`, `IVF1024,SQ8`, `IVF4096,PQ32` …);
types that need training are trained on a sample. Search parameters (nprobe for IVF, efSearch for
HNSW) are applied after loading, whatever the type. A type whose codes need another dimension
(`PQ16` splits vectors into 16 equal parts) gets the vectors padded with zeros to the next one that
fits: inner products are unchanged, and queries are padded alike.
"""

from __future__ import annotations

import re
from pathlib import Path

import faiss
import numpy as np

TRAIN_SAMPLE = 100_000
AUTO = "auto"
EXACT_UP_TO = {"audio": 50_000, "similar": 20_000}  # sounds; beyond, exact search passes ~5 ms a query


def resolve_factory(factory: str, n: int, space: str) -> str:
    """`auto` → exact search for small catalogues, else HNSW32 for φ_a (128-d, graph of 1.3× the
    vectors' bytes) and IVF-SQ8 for z_a (1152-d, a quarter of the bytes); recall@10 ≥ 0.97 at 100k
    sounds (docs/benchmarks.md). Any other string is used as given."""
    if factory != AUTO:
        return factory
    if n <= EXACT_UP_TO[space]:
        return "Flat"
    if space == "audio":
        return "HNSW32"
    nlist = 1 << max(6, min(16, round(np.log2(4 * np.sqrt(n)))))  # 4·√n lists, a power of two
    return f"IVF{nlist},SQ8"


class IndexBuildError(ValueError):
    """The factory string is invalid, or needs more vectors than there are."""


def build(vectors: np.ndarray, ids: np.ndarray, factory: str = "Flat", seed: int = 0) -> faiss.Index:
    """(N, D) float32 vectors and (N,) int64 ids → a searchable index (IDMap2 around `factory`)."""
    n = len(vectors)
    inner = _made(factory, vectors.shape[1])
    vectors = padded(vectors, inner.d)
    if not inner.is_trained:
        if n == 0:
            raise IndexBuildError(f"{factory} must be trained, and there are no vectors to train it on")
        rng = np.random.default_rng(seed)
        sample = vectors[rng.choice(n, min(n, TRAIN_SAMPLE), replace=False)] if n > TRAIN_SAMPLE else vectors
        try:
            inner.train(np.ascontiguousarray(sample, np.float32))
        except RuntimeError as err:
            raise IndexBuildError(
                f"cannot train {factory} on {n} vectors ({_first_line(err)}): use Flat or a smaller IVF"
            ) from None
    index = faiss.IndexIDMap2(inner)
    add(index, vectors, ids)
    return index


def _made(factory: str, dim: int) -> faiss.Index:
    """An empty index of `factory` for vectors of `dim` or, where its codes need it, the next
    multiple of 8, 16, 32 or 64 (zero padding); IndexBuildError when none fits."""
    tried = [dim] + [-(-dim // m) * m for m in (8, 16, 32, 64)]
    error: RuntimeError | None = None
    for d in dict.fromkeys(tried):
        try:
            return faiss.index_factory(d, factory, faiss.METRIC_INNER_PRODUCT)
        except RuntimeError as err:
            error = error or err
    raise IndexBuildError(f"invalid FAISS factory string {factory!r}: {_first_line(error)}") from None


def padded(vectors: np.ndarray, dim: int) -> np.ndarray:
    """(…, D) float32 vectors with zeros appended up to `dim` (an index's d ≥ D), contiguous."""
    vectors = np.ascontiguousarray(vectors, np.float32)
    extra = dim - vectors.shape[-1]
    if extra <= 0:
        return vectors
    return np.pad(vectors, [(0, 0)] * (vectors.ndim - 1) + [(0, extra)])  # a new, contiguous array


def add(index: faiss.Index, vectors: np.ndarray, ids: np.ndarray) -> None:
    if len(ids):
        index.add_with_ids(padded(vectors, index.d), np.ascontiguousarray(ids, np.int64))
    reconstructable(index)  # the IVF direct map is not kept through IDMap2's adds: made again


def remove(index: faiss.Index, ids: np.ndarray) -> bool:
    """Remove ids where the type allows it (HNSW does not: searches filter those ids instead)."""
    if not len(ids):
        return True
    try:
        index.remove_ids(np.ascontiguousarray(ids, np.int64))
    except RuntimeError:
        return False
    return True


def _inner(index: faiss.Index) -> faiss.Index:
    """The index an IDMap2 wraps (the index itself otherwise)."""
    return faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index


def set_search_params(index: faiss.Index, nprobe: int = 16, ef_search: int = 64) -> None:
    inner = _inner(index)
    ivf = faiss.try_extract_index_ivf(inner)
    if ivf is not None:
        ivf.nprobe = nprobe
    if hasattr(inner, "hnsw"):
        inner.hnsw.efSearch = ef_search


def search(
    index: faiss.Index, queries: np.ndarray, k: int, params: faiss.SearchParameters | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(Q, D) → scores (Q, k) and ids (Q, k); missing hits have id -1.

    One query runs on the calling thread alone: FAISS shares work out by query, so an OpenMP team
    gains nothing there, and its idle threads spin against torch and the service's other requests.
    The OpenMP thread count is a per-thread setting, so the service's pool threads each need it (under
    32 connections at 100k sounds, FAISS went from most of the service's time to a few per cent)."""
    k = max(1, min(k, index.ntotal)) if index.ntotal else 1
    if index.ntotal == 0:
        q = len(queries)
        return np.full((q, 1), -np.inf, np.float32), np.full((q, 1), -1, np.int64)
    queries = padded(queries, index.d)
    if len(queries) > 1:
        return index.search(queries, k, params=params)
    team = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(queries, k, params=params)
    finally:
        faiss.omp_set_num_threads(team)


def flat_storage(index: faiss.Index) -> faiss.IndexFlat | None:
    """The exact vectors inside an IDMap2 around Flat or HNSW…Flat (internal ids), else None."""
    inner = _inner(index)
    if isinstance(inner, faiss.IndexFlat):
        return inner
    storage = getattr(inner, "storage", None)
    storage = faiss.downcast_index(storage) if storage is not None else None
    return storage if isinstance(storage, faiss.IndexFlat) else None


class AllowedSearch:
    """Exact search among a subset of an index's sounds: a FAISS ID selector over the flat vectors
    of a Flat or HNSW index. Pushing a selective filter into HNSW's graph walk loses most hits (at 1 %
    of 100k sounds allowed, recall@10 0.1 on clustered vectors); scanning the flat vectors with the
    selector is exact and takes about a millisecond at 100k."""

    def __init__(self, index: faiss.Index) -> None:
        self.storage = flat_storage(index)
        id_map = faiss.vector_to_array(index.id_map) if isinstance(index, faiss.IndexIDMap2) else None
        self.external = id_map if id_map is not None else np.arange(index.ntotal, dtype=np.int64)
        self.order = np.argsort(self.external, kind="stable")  # internal positions by external id
        self.sorted_ids = self.external[self.order]  # searched without a sorter: no scattered reads
        self._vectors: np.ndarray | None = None  # (n, d) the flat vectors, viewed when first read

    @property
    def available(self) -> bool:
        return self.storage is not None

    def _positions(self, ids: np.ndarray) -> np.ndarray:
        """Internal positions of the external ids (N,) that the index holds, in the ids' order."""
        if not len(self.order):
            return np.zeros(0, np.int64)
        positions = self.order[np.minimum(np.searchsorted(self.sorted_ids, ids), len(self.order) - 1)]
        return positions[self.external[positions] == ids]

    def scores(self, query: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """query (D,), external ids → (the ids the index holds, their inner products), read from the
        flat vectors in place (a few µs for tens of ids; `search` builds a FAISS selector)."""
        positions = self._positions(ids)
        if self._vectors is None:
            n, d = self.storage.ntotal, self.storage.d
            self._vectors = faiss.rev_swig_ptr(self.storage.get_xb(), n * d).reshape(n, d)  # no copy
        return self.external[positions], self._vectors[positions] @ padded(query[None, :], self.storage.d)[0]

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """query (D,), allowed external ids (sorted or not) → scores (≤ k,) and external ids, best first."""
        internal = self._positions(allowed)  # allowed ids that are in the index
        if not len(internal):
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        internal = np.ascontiguousarray(internal, np.int64)
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(len(internal), faiss.swig_ptr(internal)))
        scores, found = search(self.storage, query[None, :], min(k, len(internal)), params)
        keep = found[0] >= 0
        return scores[0][keep], self.external[found[0][keep]]


def stored_vectors(index: faiss.Index, ids: np.ndarray) -> np.ndarray:
    """(N, D) the vectors stored for the external ids (N,), as the index holds them (padding dropped
    by the caller's D where it knows it)."""
    if not len(ids):
        return np.zeros((0, index.d), np.float32)
    return np.stack([index.reconstruct(int(i)) for i in ids]).astype(np.float32)


def write(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def read(path: Path, nprobe: int = 16, ef_search: int = 64) -> faiss.Index:
    index = faiss.read_index(str(path))
    set_search_params(index, nprobe, ef_search)
    reconstructable(index)
    return index


def reconstructable(index: faiss.Index) -> faiss.Index:
    """Let an IVF index give back a stored vector by id (a hash-table direct map, made from the
    inverted lists after reading and after each add): "sounds similar to this catalogue sound" reads
    it. Without it, every such request on a catalogue past `EXACT_UP_TO["similar"]` sounds answered
    that the sound was not indexed."""
    inner = _inner(index)
    ivf = faiss.try_extract_index_ivf(inner)
    if ivf is not None:
        ivf.set_direct_map_type(faiss.DirectMap.NoMap)  # a map read from disk comes back empty:
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # rebuild it from the inverted lists
    return index


def _first_line(err: Exception) -> str:
    """FAISS's reason without its C++ location: `could not parse index string X`."""
    text = " ".join(str(err).split())
    for pattern in (r"failed: (.+)", r"\.cpp:\d+: (.+)"):
        m = re.search(pattern, text)
        if m:
            return m.group(1).strip()
    return text or type(err).__name__
