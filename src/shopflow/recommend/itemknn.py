"""Item-to-item nearest neighbours: the standard strong baseline for implicit feedback.

The item-item similarities come from ``implicit.nearest_neighbours`` (``CosineRecommender`` or
``BM25Recommender``: each item keeps its ``neighbours`` most similar items). A user's score for
an item is the sum of its similarities to the items in the user's training row; the item itself
is not its own neighbour, so nothing scores from its own presence. Items with no similarity to
the row are not recommended (a list may be shorter than k, padded with -1).

Scoring is done with sparse products in batches of users and one vectorised sort, not implicit's
``recommend`` (which loops over users in Python and slices the matrix per row).
"""

from __future__ import annotations

import warnings

import numpy as np

METHODS = ("cosine", "bm25")


class ItemKNNRecommender:
    """Fit on a users x items matrix; recommend by summed item-item similarity."""

    name = "itemknn"

    def __init__(self, neighbours: int = 100, method: str = "cosine", num_threads: int = 0):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        if neighbours < 1:
            raise ValueError(f"neighbours must be >= 1, not {neighbours}")
        self.neighbours = neighbours
        self.method = method
        self.num_threads = num_threads
        self.user_items = None
        self.similarity = None

    def params(self) -> dict[str, object]:
        return {"itemknn_method": self.method, "itemknn_neighbours": self.neighbours}

    def fit(self, user_items) -> "ItemKNNRecommender":
        import scipy.sparse as sp
        from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

        user_items = sp.csr_matrix(user_items, dtype=np.float32)
        cls = CosineRecommender if self.method == "cosine" else BM25Recommender
        # One more neighbour than asked: the item itself is among its own nearest and is dropped.
        model = cls(K=self.neighbours + 1, num_threads=self.num_threads)
        with warnings.catch_warnings():
            # implicit weights the matrix as COO and then warns that it converts it back to CSR
            warnings.filterwarnings("ignore", message="Method expects CSR input")
            model.fit(user_items, show_progress=False)
        sim = sp.csr_matrix(model.similarity, dtype=np.float32)
        sim.setdiag(0)
        sim.eliminate_zeros()
        sim.sort_indices()
        self.user_items = user_items
        self.similarity = sim
        return self

    @property
    def n_items(self) -> int:
        return 0 if self.similarity is None else self.similarity.shape[0]

    def recommend(self, user_idx, k: int, filter_csr=None, max_cells: int = 20_000_000):
        """Top-``k`` item indices and scores for the users at ``user_idx`` (-1 / -inf padded).

        ``filter_csr`` has one row per requested user; its items are left out. Equal scores are
        ranked by item index. Users are scored in batches of at most ``max_cells`` candidate
        scores (history length x neighbours), so long histories (view signals) bound memory.
        """
        import scipy.sparse as sp

        from shopflow.recommend.data import remove_pairs

        user_idx = np.asarray(user_idx, dtype=np.int64)
        n = len(user_idx)
        ids = np.full((n, k), -1, dtype=np.int64)
        scores = np.full((n, k), -np.inf, dtype=np.float32)
        if n == 0 or k == 0:
            return ids, scores
        filt = None if filter_csr is None else sp.csr_matrix(filter_csr)
        history = self.user_items[user_idx]
        work = np.cumsum(np.diff(history.indptr).astype(np.int64) * self.neighbours)
        start = 0
        while start < n:
            done = work[start - 1] if start else 0
            stop = max(start + 1, int(np.searchsorted(work, done + max_cells, side="right")))
            stop = min(stop, n)
            scored = (history[start:stop] @ self.similarity).tocsr()
            if filt is not None:
                scored = remove_pairs(scored, filt[start:stop])
            scored.eliminate_zeros()
            coo = scored.tocoo()
            order = np.lexsort((coo.col, -coo.data, coo.row))
            rows, cols, vals = coo.row[order], coo.col[order], coo.data[order]
            first = np.searchsorted(rows, np.arange(stop - start))
            rank = np.arange(len(rows)) - first[rows]
            take = rank < k
            ids[start + rows[take], rank[take]] = cols[take]
            scores[start + rows[take], rank[take]] = vals[take]
            start = stop
        return ids, scores
