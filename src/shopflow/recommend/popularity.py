"""The popularity baseline: every user gets the items most users bought, minus their own.

A collaborative model that cannot beat this on the same split has learned nothing personal.
"""

from __future__ import annotations

import numpy as np


class PopularityRecommender:
    """Items ranked by the number of distinct users with a signal on them in the training matrix."""

    name = "popularity"

    def __init__(self):
        self.item_scores: np.ndarray | None = None
        self.order: np.ndarray | None = None

    def fit(self, user_items) -> "PopularityRecommender":
        import scipy.sparse as sp

        counts = np.diff(sp.csc_matrix(user_items).indptr).astype(np.float32)
        self.item_scores = counts
        # Most popular first; equal counts in item-index order, so the ranking is reproducible.
        self.order = np.lexsort((np.arange(len(counts)), -counts))
        return self

    @property
    def n_items(self) -> int:
        return 0 if self.order is None else len(self.order)

    def recommend(self, user_idx, k: int, filter_csr=None, batch_size: int = 4096):
        """Top-``k`` item indices and scores (the user counts) for the users at ``user_idx``.

        ``filter_csr`` has one row per requested user; its items are skipped. Works on batches:
        for each, the first ``k + (largest filtered row)`` popular items are enough candidates.
        """
        import scipy.sparse as sp

        n = len(np.asarray(user_idx))
        ids = np.full((n, k), -1, dtype=np.int64)
        scores = np.full((n, k), -np.inf, dtype=np.float32)
        if n == 0 or self.n_items == 0:
            return ids, scores
        rank_of = np.empty(self.n_items, dtype=np.int64)
        rank_of[self.order] = np.arange(self.n_items)
        filt = sp.csr_matrix(filter_csr) if filter_csr is not None else None
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            rows = stop - start
            if filt is not None:
                block = filt[start:stop]
                width = min(self.n_items, k + int(np.diff(block.indptr).max(initial=0)))
            else:
                block, width = None, min(self.n_items, k)
            excluded = np.zeros((rows, width), dtype=bool)
            if block is not None and block.nnz:
                r = np.repeat(np.arange(rows), np.diff(block.indptr))
                pos = rank_of[block.indices]
                near = pos < width
                excluded[r[near], pos[near]] = True
            kept = ~excluded
            slot = np.cumsum(kept, axis=1) - 1
            take = kept & (slot < k)
            rr, cc = np.nonzero(take)
            items = self.order[cc]
            ids[start + rr, slot[rr, cc]] = items
            scores[start + rr, slot[rr, cc]] = self.item_scores[items]
        return ids, scores
