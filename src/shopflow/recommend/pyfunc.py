"""MLflow pyfunc wrappers of the trained models (this module imports MLflow: import it lazily).

``mlflow.pyfunc.load_model("models:/shopflow-als@champion")`` gives a model whose ``predict``
takes a frame of ``user_id`` and returns (user_id, rank, product_id, score);
``models:/shopflow-content@champion`` takes ``product_id`` and returns
(product_id, rank, similar_product_id, score). ``unwrap_python_model().trained`` is the
:class:`~shopflow.recommend.artifacts.TrainedALS` or
:class:`~shopflow.recommend.content.ContentModel` itself.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import mlflow.pyfunc
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema


def requirements() -> list[str]:
    """Pins of the libraries a loaded model needs (shopflow itself is installed alongside)."""
    out = []
    for dist in ("numpy", "pandas", "scipy", "scikit-learn", "implicit", "annoy", "pyarrow"):
        try:
            out.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:  # pragma: no cover - all are pinned dependencies
            pass
    return out


class ALSPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        from shopflow.recommend.artifacts import TrainedALS

        self.trained = TrainedALS.load(context.artifacts["model"])

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        k = int((params or {}).get("k", 15))
        return self.trained.recommend_users(pd.DataFrame(model_input)["user_id"].to_numpy(), k)


class ContentPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        from shopflow.recommend.content import ContentModel

        self.trained = ContentModel.load(context.artifacts["model"])

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        from shopflow.recommend.similar import similar_items_frame

        k = int((params or {}).get("k", 10))
        idx = self.trained.items.index(pd.DataFrame(model_input)["product_id"].to_numpy())
        return similar_items_frame(self.trained, k, item_idx=idx[idx >= 0])


WRAPPERS = {"als": ALSPyfunc, "content": ContentPyfunc}

#: Shown in the MLflow UI and checked by ``predict``.
SIGNATURES = {
    "als": ModelSignature(
        inputs=Schema([ColSpec("long", "user_id")]),
        outputs=Schema([ColSpec("long", "user_id"), ColSpec("long", "rank"), ColSpec("long", "product_id"),
                        ColSpec("double", "score")]),
        params=ParamSchema([ParamSpec("k", "long", 15)]),
    ),
    "content": ModelSignature(
        inputs=Schema([ColSpec("long", "product_id")]),
        outputs=Schema([ColSpec("long", "product_id"), ColSpec("long", "rank"),
                        ColSpec("long", "similar_product_id"), ColSpec("double", "score")]),
        params=ParamSchema([ParamSpec("k", "long", 10)]),
    ),
}

#: The "model from code" script logged with a model: loading runs it instead of unpickling.
CODE = """import mlflow.models
from shopflow.recommend.pyfunc import {cls}
mlflow.models.set_model({cls}())
"""
