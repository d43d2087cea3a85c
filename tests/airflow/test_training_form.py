"""The training form's limits are the model's: every value the form accepts for a model
parameter, the model accepts, and the form refuses what the model refuses at its bound
(alpha = 0 used to pass the form and fail the run)."""

from __future__ import annotations

import pytest

from shopflow.recommend.als import ALSParams
from shopflow.runtime import REPO_ROOT

#: The form fields that are ALSParams fields, and the smallest step of each.
MODEL_FIELDS = {"factors": 1, "regularization": 1e-9, "alpha": 1e-9, "iterations": 1}


@pytest.fixture(scope="module")
def schemas():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "shopflow_training.py"))
    assert bag.import_errors == {}
    params = bag.dags["shopflow_training"].params
    return {name: params.get_param(name).schema for name in (*MODEL_FIELDS, "window_days")}


def accepted(name: str, value) -> bool:
    try:
        ALSParams.from_mapping({name: value})
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(MODEL_FIELDS))
def test_the_form_bound_is_the_models_bound(schemas, name):
    schema, step = schemas[name], MODEL_FIELDS[name]
    assert ("minimum" in schema) != ("exclusiveMinimum" in schema), schema
    if "minimum" in schema:
        bound = schema["minimum"]
        assert accepted(name, bound), f"the form accepts {name}={bound}, the model refuses it"
        assert not accepted(name, bound - step), f"the model accepts {name}={bound - step}, the form refuses it"
    else:
        bound = schema["exclusiveMinimum"]
        assert not accepted(name, bound), f"the form refuses {name}={bound} and so does the model"
        assert accepted(name, bound + step)
    if "maximum" in schema:  # a cap of the form only: the model takes any size
        assert accepted(name, schema["maximum"])


def test_alpha_zero_is_refused_by_the_form(schemas):
    from airflow.sdk import Param

    with pytest.raises(Exception, match="0"):
        Param(0.0, **{k: v for k, v in schemas["alpha"].items()}).resolve()
    assert Param(0.5, **schemas["alpha"]).resolve() == 0.5


def test_the_window_bound_is_the_training_bound(schemas):
    """A window of 2 days trains (1 day held out); the form refused everything under 7."""
    from shopflow.errors import ParamError
    from shopflow.train import check_params

    bound = schemas["window_days"]["minimum"]
    check_params({"window_days": bound}, {"window_days": bound})  # ALS and content accept the smallest
    with pytest.raises(ParamError, match="window_days"):
        check_params({"window_days": bound - 1}, None)
    check_params({"window_days": schemas["window_days"]["maximum"]}, None)
