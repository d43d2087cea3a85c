"""Hyperparameters from mappings: values converted to each default's type, ranges checked."""

from __future__ import annotations

import pytest

from shopflow.recommend.als import ALSParams
from shopflow.recommend.content import ContentParams


def test_strings_from_a_form_or_mlflow_become_typed_values():
    params = ALSParams.from_mapping({"factors": "64", "alpha": "15", "regularization": 0.5, "sweep": True})
    assert params == ALSParams(factors=64, regularization=0.5, alpha=15.0, iterations=30, seed=42)
    assert isinstance(params.alpha, float) and isinstance(params.factors, int)
    assert ALSParams.from_mapping(None).as_dict() == {
        "factors": 30, "regularization": 0.1, "alpha": 40.0, "iterations": 30, "seed": 42
    }
    assert ContentParams.from_mapping({"n_trees": "10"}).n_trees == 10


@pytest.mark.parametrize(
    "cls, given",
    [(ALSParams, {"factors": 0}), (ALSParams, {"alpha": 0}), (ALSParams, {"regularization": -1}),
     (ContentParams, {"dims": 0}), (ContentParams, {"price_weight": -0.5}), (ALSParams, {"factors": "many"})],
)
def test_out_of_range_or_unreadable_values_are_refused(cls, given):
    with pytest.raises(ValueError):
        cls.from_mapping(given)
