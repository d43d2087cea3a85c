"""Trained models with their id maps, saved as plain files and wrapped as MLflow pyfuncs.

A trained ALS model is a folder:

* ``factors.npz`` -- user and item factors and the raw user and product ids of their rows;
* ``purchases.npz`` -- the users x items purchases it was trained on (CSR), used to filter
  already-bought items and, by column sums, as the item popularity;
* ``meta.json`` -- params, event weights, data window and counts.

A content model is the folder of :meth:`ContentModel.save`. :mod:`shopflow.recommend.pyfunc`
wraps both for MLflow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopflow.recommend.als import ALSParams, ALSRecommender
from shopflow.recommend.data import IdMap


@dataclass(eq=False)
class TrainedALS:
    """An ALS model with the id maps and purchase history it was trained on."""

    model: ALSRecommender
    users: IdMap
    items: IdMap
    purchases: Any
    meta: dict = field(default_factory=dict)

    @property
    def item_popularity(self) -> np.ndarray:
        """Distinct buyers per item in the training data."""
        import scipy.sparse as sp

        return np.diff(sp.csc_matrix(self.purchases).indptr)

    def bought(self, user_id: int) -> np.ndarray:
        """Product ids the user bought in the training window (empty for unknown users)."""
        row = self.users.lookup(user_id)
        if row is None:
            return np.empty(0, dtype=np.int64)
        start, stop = self.purchases.indptr[row], self.purchases.indptr[row + 1]
        return self.items.ids[self.purchases.indices[start:stop]]

    def recommend_users(self, user_ids, k: int = 15, extra_bought: pd.DataFrame | None = None) -> pd.DataFrame:
        """Top-``k`` products for known users: (user_id, rank, product_id, score), already-bought
        filtered (training purchases plus ``extra_bought`` rows of user_id, product_id)."""
        user_ids = np.asarray(user_ids, dtype=np.int64)
        rows = self.users.index(user_ids)
        known = rows >= 0
        user_ids, rows = user_ids[known], rows[known]
        filt = self.purchases[rows]
        if extra_bought is not None and len(extra_bought):
            from shopflow.recommend.data import pairs_to_csr

            local = IdMap(np.unique(user_ids))
            extra, _ = pairs_to_csr(extra_bought, local, self.items, value=None)
            filt = (filt + extra[local.index(user_ids)]).tocsr()
        ids, scores = self.model.recommend(rows, k, filter_csr=filt)
        return _ranked_frame("user_id", user_ids, ids, scores, self.items)

    def recommend_history(self, bought_product_ids, k: int = 15) -> pd.DataFrame:
        """Top-``k`` for a user the model was not trained on, from the products they bought."""
        import scipy.sparse as sp

        cols = self.items.index(np.asarray(bought_product_ids, dtype=np.int64))
        cols = np.unique(cols[cols >= 0])
        if len(cols) == 0:
            return _ranked_frame("user_id", np.empty(0, np.int64), np.empty((0, k)), np.empty((0, k)), self.items)
        history = sp.csr_matrix((np.ones(len(cols), np.float32), (np.zeros(len(cols), int), cols)),
                                shape=(1, len(self.items)))
        vector = self.model.user_vector(history)
        ids, scores = self.model.recommend_vectors(vector, k, filter_csr=history)
        return _ranked_frame("user_id", np.array([-1]), ids, scores, self.items)

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(
            folder / "factors.npz",
            user_factors=self.model.user_factors,
            item_factors=self.model.item_factors,
            user_ids=self.users.ids,
            item_ids=self.items.ids,
        )
        p = self.purchases
        np.savez(folder / "purchases.npz", data=p.data, indices=p.indices, indptr=p.indptr, shape=np.array(p.shape))
        meta = {"kind": "als", "params": self.model.params.as_dict(), **self.meta}
        (folder / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "TrainedALS":
        import scipy.sparse as sp

        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("kind") != "als":
            raise ValueError(f"{folder} does not hold an ALS model")
        f = np.load(folder / "factors.npz")
        p = np.load(folder / "purchases.npz")
        purchases = sp.csr_matrix((p["data"], p["indices"], p["indptr"]), shape=tuple(p["shape"]))
        model = ALSRecommender.from_factors(ALSParams.from_mapping(meta["params"]), f["user_factors"], f["item_factors"])
        extra = {k: v for k, v in meta.items() if k not in ("kind", "params")}
        return cls(model, IdMap(f["user_ids"]), IdMap(f["item_ids"]), purchases, extra)


def _ranked_frame(key: str, keys, ids: np.ndarray, scores: np.ndarray, items: IdMap) -> pd.DataFrame:
    ids = np.asarray(ids, dtype=np.int64)
    k = ids.shape[1] if ids.ndim == 2 else 0
    valid = ids >= 0
    rows, ranks = np.nonzero(valid)
    return pd.DataFrame(
        {
            key: np.asarray(keys, dtype=np.int64)[rows],
            "rank": (ranks + 1).astype(np.int64),
            "product_id": items.ids[ids[rows, ranks]] if k else np.empty(0, np.int64),
            "score": np.asarray(scores, dtype=np.float64)[rows, ranks] if k else np.empty(0),
        }
    )


def similar_frame(model, item_idx=None, k: int = 10) -> pd.DataFrame:
    """(product_id, rank, similar_product_id, score) from a content model's Annoy index."""
    idx = np.arange(model.n_items) if item_idx is None else np.asarray(item_idx, dtype=np.int64)
    ids, cos = model.similar_all(k, idx)
    rows, ranks = np.nonzero(ids >= 0)
    return pd.DataFrame(
        {
            "product_id": model.items.ids[idx[rows]],
            "rank": (ranks + 1).astype(np.int64),
            "similar_product_id": model.items.ids[ids[rows, ranks]],
            "score": cos[rows, ranks].astype(np.float64),
        }
    )
