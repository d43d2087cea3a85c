"""Top-k by inner product for many queries at once.

Two implementations with the same output contract (ids padded with -1 and scores with -inf when
fewer than k items are eligible):

* :func:`top_k` -- implicit's C++ ``topk`` (blocked matrix products and a heap per query, on
  ``num_threads`` threads) with a vectorised already-bought filter, used for serving and
  evaluation;
* :func:`top_k_numpy` -- NumPy matrix products in batches and ``argpartition``; the exact-search
  baseline of the benchmark and an independent check of the first in the tests.
"""

from __future__ import annotations

import numpy as np

#: implicit marks filtered items with -FLT_MAX; anything at or below this is "not eligible".
_FILTERED = -3.0e38


def _clean(ids: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = ids.astype(np.int64)
    scores = scores.astype(np.float32)
    gone = scores <= _FILTERED
    ids[gone] = -1
    scores[gone] = -np.inf
    return ids, scores


def top_k(
    query: np.ndarray,
    items: np.ndarray,
    k: int,
    filter_csr=None,
    item_norms: np.ndarray | None = None,
    num_threads: int = 0,
    batch_size: int = 50_000,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` items with the largest ``query @ items.T`` per query row.

    ``filter_csr`` (queries x items) removes the non-zero cells of each row from its candidates
    (already-bought items). ``item_norms`` divides item scores by the norms (cosine when the
    queries are normalised). Batches bound the memory of implicit's internal buffers.

    implicit's own filter argument walks the filter matrix row by row in Python (about 40k
    scipy slices per 100k users, most of the time of a call); instead, queries are grouped by
    the length of their filter row, each group asks for k + (a power of two >= that length)
    items, and the filtered ones are dropped with one vectorised membership test.
    """
    query = np.ascontiguousarray(query, dtype=np.float32)
    items = np.ascontiguousarray(items, dtype=np.float32)
    n, n_items = query.shape[0], items.shape[0]
    out_ids = np.full((n, k), -1, dtype=np.int64)
    out_scores = np.full((n, k), -np.inf, dtype=np.float32)
    if n == 0 or n_items == 0 or k == 0:
        return out_ids, out_scores
    if filter_csr is None:
        groups = [(np.arange(n), 0)]
    else:
        import scipy.sparse as sp

        filter_csr = sp.csr_matrix(filter_csr)
        lengths = np.diff(filter_csr.indptr)
        # bucket b holds rows with 2**(b-2) < length <= 2**(b-1); bucket 0 the empty rows
        bucket = np.where(lengths == 0, 0, np.ceil(np.log2(np.maximum(lengths, 1))).astype(np.int64) + 1)
        groups = [(np.flatnonzero(bucket == b), 0 if b == 0 else 2 ** (int(b) - 1)) for b in np.unique(bucket)]
    for rows, extra in groups:
        want = min(k + extra, n_items)
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            ids, scores = _implicit_topk(query[chunk], items, want, item_norms, num_threads)
            if extra:
                ids, scores = _drop_filtered(ids, scores, filter_csr[chunk], k)
            width = min(k, ids.shape[1])
            out_ids[chunk, :width] = ids[:, :width]
            out_scores[chunk, :width] = scores[:, :width]
    return out_ids, out_scores


def _implicit_topk(query, items, k, item_norms, num_threads):
    from implicit.cpu.topk import topk

    kwargs = {"num_threads": num_threads}
    if item_norms is not None:
        kwargs["item_norms"] = np.ascontiguousarray(item_norms, dtype=np.float32)
    return _clean(*topk(items, query, k, **kwargs))


def _drop_filtered(ids, scores, filt, k):
    """Remove each row's filtered items from its ranked (ids, scores); keep the first k."""
    n_cols = filt.shape[1]
    filt.sort_indices()
    rows = np.repeat(np.arange(filt.shape[0], dtype=np.int64), np.diff(filt.indptr))
    keys = rows * n_cols + filt.indices.astype(np.int64)
    asked = np.arange(ids.shape[0], dtype=np.int64)[:, None] * n_cols + ids
    pos = np.minimum(np.searchsorted(keys, asked), max(len(keys) - 1, 0))
    kept = (ids >= 0) & ~((keys[pos] == asked) if len(keys) else False)
    slot = np.cumsum(kept, axis=1) - 1
    take = kept & (slot < k)
    out_ids = np.full((ids.shape[0], k), -1, dtype=np.int64)
    out_scores = np.full((ids.shape[0], k), -np.inf, dtype=np.float32)
    r, c = np.nonzero(take)
    out_ids[r, slot[r, c]] = ids[r, c]
    out_scores[r, slot[r, c]] = scores[r, c]
    return out_ids, out_scores


def top_k_numpy(
    query: np.ndarray,
    items: np.ndarray,
    k: int,
    exclude: np.ndarray | None = None,
    batch_size: int = 2048,
    threads: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` by NumPy matrix products and ``argpartition``, in batches of queries
    (``threads`` batches at a time: both release the GIL).

    ``exclude`` (one item index per query, or -1) is removed from that query's candidates, e.g.
    the query item itself in a similar-items search. Selected items are ordered by score, then
    by item index; which of several items tied at the k-th score gets selected is unspecified.
    """
    query = np.asarray(query, dtype=np.float32)
    items = np.asarray(items, dtype=np.float32)
    n, n_items = query.shape[0], items.shape[0]
    k_eff = min(k, n_items - (0 if exclude is None else 1))
    out_ids = np.full((n, k), -1, dtype=np.int64)
    out_scores = np.full((n, k), -np.inf, dtype=np.float32)
    if n == 0 or k_eff <= 0:
        return out_ids, out_scores

    def batch(start: int) -> None:
        stop = min(start + batch_size, n)
        scores = query[start:stop] @ items.T
        if exclude is not None:
            rows = np.arange(stop - start)
            ex = exclude[start:stop]
            valid = ex >= 0
            scores[rows[valid], ex[valid]] = -np.inf
        part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.lexsort((part, -part_scores), axis=1)
        out_ids[start:stop, :k_eff] = np.take_along_axis(part, order, axis=1)
        out_scores[start:stop, :k_eff] = np.take_along_axis(part_scores, order, axis=1)

    starts = range(0, n, batch_size)
    if threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(batch, starts))
    else:
        for start in starts:
            batch(start)
    return out_ids, out_scores
