"""Interaction matrices and stable id maps, built from events frames.

The functions here take pandas frames with (at least) the ``events`` columns ``user_id``,
``product_id``, ``event_type`` and, for the temporal split, ``event_date``. A frame may already be
aggregated by the warehouse: an ``n_events`` column then says how many events a row stands for
(it only matters for counts; the signal is per pair and event type, see :func:`pair_signals`).

Id maps are sorted arrays of the raw ids, so the same set of ids always gives the same matrix
rows and columns, whatever order the warehouse returned the rows in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from shopflow.schema import EVENT_TYPES

#: The reference's input: purchases only, each bought user-item pair counts once.
DEFAULT_WEIGHTS: dict[str, float] = {"purchase": 1.0}


class InteractionDataError(ValueError):
    """An events frame cannot be turned into interactions (missing columns, null ids, ...)."""


def parse_weights(spec: str | Mapping[str, float] | None) -> dict[str, float]:
    """Validate event-type weights given as a mapping or as ``"view=0.1,cart=0.5,purchase=1"``.

    Returns the weights in ``EVENT_TYPES`` order, zero weights dropped.
    """
    if spec is None or spec == "":
        return dict(DEFAULT_WEIGHTS)
    if isinstance(spec, str):
        pairs = {}
        for part in spec.split(","):
            name, sep, value = part.partition("=")
            if not sep:
                raise InteractionDataError(f"weight {part!r} is not written as event_type=number")
            try:
                pairs[name.strip()] = float(value)
            except ValueError:
                raise InteractionDataError(f"weight {part!r}: {value!r} is not a number") from None
        spec = pairs
    unknown = sorted(set(spec) - set(EVENT_TYPES))
    if unknown:
        raise InteractionDataError(f"unknown event types in weights: {unknown}; known: {list(EVENT_TYPES)}")
    out = {}
    for name in EVENT_TYPES:
        if name in spec:
            value = float(spec[name])
            if not math.isfinite(value) or value < 0:
                raise InteractionDataError(f"weight of {name!r} must be a finite number >= 0, not {value!r}")
            if value > 0:
                out[name] = value
    if not out:
        raise InteractionDataError("at least one event type needs a weight above 0")
    return out


def format_weights(weights: Mapping[str, float]) -> str:
    """The inverse of :func:`parse_weights` for strings (used as the logged parameter)."""
    return ",".join(f"{k}={weights[k]:g}" for k in EVENT_TYPES if k in weights)


@dataclass(frozen=True, eq=False)
class IdMap:
    """Raw ids <-> dense matrix indices. ``ids`` is sorted and unique."""

    ids: np.ndarray

    @classmethod
    def from_values(cls, values) -> "IdMap":
        return cls(np.unique(np.asarray(values, dtype=np.int64)))

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, values) -> np.ndarray:
        """Matrix indices of ``values``; -1 where an id is not in the map."""
        values = np.asarray(values, dtype=np.int64)
        if len(self.ids) == 0:
            return np.full(values.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self.ids, values)
        pos_clipped = np.minimum(pos, len(self.ids) - 1)
        found = self.ids[pos_clipped] == values
        return np.where(found, pos_clipped, -1).astype(np.int64)

    def lookup(self, value: int) -> int | None:
        idx = int(self.index([value])[0])
        return None if idx < 0 else idx

    def __contains__(self, value) -> bool:
        return self.lookup(int(value)) is not None


def check_events(frame: pd.DataFrame, needs: tuple[str, ...] = ("user_id", "product_id", "event_type")) -> None:
    """Raise :class:`InteractionDataError` naming the problem if ``frame`` cannot be used."""
    missing = [c for c in needs if c not in frame.columns]
    if missing:
        raise InteractionDataError(f"events frame lacks columns {missing}; it has {list(frame.columns)}")
    for col in ("user_id", "product_id"):
        if col in needs:
            n_null = int(frame[col].isna().sum())
            if n_null:
                raise InteractionDataError(f"{n_null} events have a null {col}; the warehouse should have quarantined them")
    if "event_type" in needs:
        bad = sorted(set(frame["event_type"].dropna().unique()) - set(EVENT_TYPES))
        if bad or frame["event_type"].isna().any():
            raise InteractionDataError(f"unknown event types {bad or [None]}; known: {list(EVENT_TYPES)}")


def pair_signals(events: pd.DataFrame, weights: Mapping[str, float]) -> pd.DataFrame:
    """One row per (user_id, product_id) with ``value`` = sum of the weights of the event types seen.

    Each event type counts once per pair: fifty views of an item weigh the same as one, so a
    browsing habit cannot outweigh a purchase, and a repeat purchase is still one purchase pair.
    """
    check_events(events)
    kept = events.loc[events["event_type"].isin(list(weights)), ["user_id", "product_id", "event_type"]]
    present = kept.drop_duplicates()
    value = present["event_type"].map(weights).astype(np.float64)
    out = (
        present.assign(value=value)
        .groupby(["user_id", "product_id"], as_index=False, sort=True)["value"]
        .sum()
    )
    out["user_id"] = out["user_id"].astype(np.int64)
    out["product_id"] = out["product_id"].astype(np.int64)
    return out


def pairs_to_csr(pairs: pd.DataFrame, users: IdMap, items: IdMap, value: str | None = "value"):
    """A users x items CSR matrix from (user_id, product_id[, value]) rows; ids outside the maps
    are dropped. Returns (matrix, number of rows dropped)."""
    import scipy.sparse as sp

    rows = users.index(pairs["user_id"].to_numpy())
    cols = items.index(pairs["product_id"].to_numpy())
    keep = (rows >= 0) & (cols >= 0)
    data = pairs[value].to_numpy(dtype=np.float32)[keep] if value else np.ones(int(keep.sum()), np.float32)
    matrix = sp.csr_matrix((data, (rows[keep], cols[keep])), shape=(len(users), len(items)), dtype=np.float32)
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix, int((~keep).sum())


@dataclass(eq=False)
class Interactions:
    """The training input of the collaborative models.

    ``matrix`` holds the weighted signal (ALS confidence before ``alpha``); ``purchases`` is 1
    where the user bought the item, on the same rows and columns: it is what gets filtered from
    recommendations ("already bought") and what the evaluations try to predict.
    """

    matrix: object
    purchases: object
    users: IdMap
    items: IdMap
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    def counts(self) -> dict[str, float]:
        n_users, n_items = self.matrix.shape
        cells = n_users * n_items
        return {
            "n_users": n_users,
            "n_items": n_items,
            "n_pairs": int(self.matrix.nnz),
            "n_purchase_pairs": int(self.purchases.nnz),
            "sparsity": 1.0 - self.matrix.nnz / cells if cells else 1.0,
        }


def build_interactions(
    events: pd.DataFrame,
    weights: Mapping[str, float] | None = None,
    users: IdMap | None = None,
    items: IdMap | None = None,
) -> Interactions:
    """Build :class:`Interactions` from events.

    Without maps, users and items are those with a positive signal (with the default weights:
    the customers and the items they bought, the reference's 330k x 21k matrix). With maps
    (e.g. a model's), events of other users or items are left out.
    """
    weights = parse_weights(weights)
    signals = pair_signals(events, weights)
    if users is None:
        users = IdMap.from_values(signals["user_id"])
    if items is None:
        items = IdMap.from_values(signals["product_id"])
    matrix, _ = pairs_to_csr(signals, users, items)
    bought = events.loc[events["event_type"] == "purchase", ["user_id", "product_id"]].drop_duplicates()
    purchases, _ = pairs_to_csr(bought, users, items, value=None)
    return Interactions(matrix=matrix, purchases=purchases, users=users, items=items, weights=weights)


def remove_pairs(matrix, mask):
    """``matrix`` without the cells where ``mask`` (same shape, CSR) is non-zero."""
    import scipy.sparse as sp

    if mask.nnz == 0:
        return matrix.copy()
    keep = matrix.copy().tocsr()
    hit = keep.multiply(mask.astype(bool)).tocsr()
    out = (keep - hit).tocsr()
    out.eliminate_zeros()
    out.sort_indices()
    return sp.csr_matrix(out, dtype=matrix.dtype)
