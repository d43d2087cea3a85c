"""Implicit-feedback ALS (Hu, Koren and Volinsky 2008) through the ``implicit`` library.

implicit 0.7 takes a users x items matrix; ``alpha`` goes to the constructor (confidence
1 + alpha * r), so the matrix is passed unscaled. The training loss of every iteration reaches
us through ``fit(callback=...)`` with ``calculate_training_loss=True``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from shopflow.recommend.params import Params

#: The reference analysis' settings.
REFERENCE_PARAMS = {"factors": 30, "regularization": 0.1, "alpha": 40.0, "iterations": 30}


@dataclass(frozen=True)
class ALSParams(Params):
    factors: int = 30
    regularization: float = 0.1
    alpha: float = 40.0
    iterations: int = 30
    seed: int = 42

    def validate(self) -> None:
        if self.factors < 1 or self.iterations < 1:
            raise ValueError(f"factors and iterations must be >= 1: {self}")
        if self.regularization < 0 or self.alpha <= 0:
            raise ValueError(f"regularization must be >= 0 and alpha > 0: {self}")


class ALSRecommender:
    """Fit on a users x items matrix; recommend by inner products of the factors."""

    name = "als"

    def __init__(self, params: ALSParams | Mapping[str, Any] | None = None, num_threads: int = 0,
                 track_loss: bool = True):
        """``track_loss``: compute the training loss after every iteration (about 40% more fit
        time at the reference size; the evaluation fits do without it)."""
        self.params = params if isinstance(params, ALSParams) else ALSParams.from_mapping(params)
        self.num_threads = num_threads
        self.track_loss = track_loss
        self.user_factors: np.ndarray | None = None
        self.item_factors: np.ndarray | None = None
        self.loss: list[float] = []
        self._model = None

    def _implicit_model(self, calculate_training_loss: bool = False):
        from implicit.cpu.als import AlternatingLeastSquares

        p = self.params
        return AlternatingLeastSquares(
            factors=p.factors,
            regularization=p.regularization,
            alpha=p.alpha,
            iterations=p.iterations,
            calculate_training_loss=calculate_training_loss,
            num_threads=self.num_threads,
            random_state=p.seed,
        )

    def fit(self, user_items) -> "ALSRecommender":
        """Fit on ``user_items`` (CSR, users x items, the raw signal). Records ``self.loss`` (one
        value per iteration) when tracking the loss."""
        import scipy.sparse as sp

        if not sp.isspmatrix_csr(user_items):
            user_items = sp.csr_matrix(user_items)
        if user_items.nnz == 0:
            raise ValueError("cannot fit ALS on an empty interaction matrix")
        losses: list[float] = []
        model = self._implicit_model(calculate_training_loss=self.track_loss)
        callback = (lambda iteration, elapsed, loss: losses.append(float(loss))) if self.track_loss else None
        model.fit(user_items.astype(np.float32), show_progress=False, callback=callback)
        self.loss = losses
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)
        self._model = model
        return self

    @classmethod
    def from_factors(cls, params, user_factors, item_factors, num_threads: int = 0) -> "ALSRecommender":
        out = cls(params, num_threads=num_threads)
        out.user_factors = np.asarray(user_factors, dtype=np.float32)
        out.item_factors = np.asarray(item_factors, dtype=np.float32)
        return out

    @property
    def n_items(self) -> int:
        return 0 if self.item_factors is None else self.item_factors.shape[0]

    def recommend(self, user_idx, k: int, filter_csr=None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item indices and scores for the users at ``user_idx``.

        ``filter_csr`` has one row per requested user (already-bought items to leave out).
        """
        from shopflow.recommend.topk import top_k

        user_idx = np.asarray(user_idx, dtype=np.int64)
        return top_k(self.user_factors[user_idx], self.item_factors, k, filter_csr=filter_csr,
                     num_threads=self.num_threads)

    def user_vector(self, history) -> np.ndarray:
        """A factor vector for a user from their raw signal row (1 x items CSR), solved against
        the fixed item factors: scores a user the model was not trained on."""
        return self.user_vectors(history)

    def user_vectors(self, history) -> np.ndarray:
        """Factor vectors for many users from their raw signal rows (users x items CSR), each the
        ALS user step against the fixed item factors (an empty row gives a zero vector)."""
        import scipy.sparse as sp

        history = sp.csr_matrix(history, dtype=np.float32)
        model = self._implicit_model()
        model.user_factors = np.zeros((history.shape[0], self.params.factors), dtype=np.float32)
        model.item_factors = self.item_factors
        out = model.recalculate_user(np.arange(history.shape[0]), history)
        return np.asarray(out, dtype=np.float32).reshape(history.shape[0], -1)

    def recommend_vectors(self, vectors: np.ndarray, k: int, filter_csr=None):
        from shopflow.recommend.topk import top_k

        return top_k(vectors, self.item_factors, k, filter_csr=filter_csr, num_threads=self.num_threads)
