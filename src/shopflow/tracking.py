"""MLflow: experiments, batched logging, the model registry and the champion rule.

Names that stay fixed: experiments and registered models ``shopflow-als`` and
``shopflow-content``; the alias ``champion`` marks the version that serves and publishes.

Promotion: who takes the alias is decided in ``recommend/promotion.py``, by scoring the new
model and the champion on the same test data. :func:`decide` here is the old rule (compare the
numbers each run logged on its own test days), kept as a pure function because the tests show
how it fails when the test days move. ``PRIMARY_METRIC`` and ``GATES`` are shared.

Everything is logged through ``MlflowClient.log_batch`` (a single ``log_metric`` costs about
7.5 ms on SQLite). MLflow is imported inside functions: this module is imported by train and
publish, which the Airflow DAG files reference.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping

ALS = "shopflow-als"
CONTENT = "shopflow-content"
CHAMPION_ALIAS = "champion"

#: Registered model -> (primary metric, higher is better).
#: The figure each model's promotion compares: for the content model, the next-view hit rate
#: of the similar items it publishes (the method its run chose; recommend/similar.py).
PRIMARY_METRIC = {ALS: ("temporal_ndcg_at_15", True), CONTENT: ("similar_items_next_view_hit_rate_at_10", True)}
#: Registered model -> {metric: minimum}: a version below any minimum never becomes champion.
GATES: dict[str, dict[str, float]] = {CONTENT: {"annoy_recall_at_10": 0.9}}

_BATCH_METRICS, _BATCH_PARAMS, _BATCH_TAGS = 1000, 100, 100
_PARAM_MAX = 6000


def connect(settings=None):
    """An ``MlflowClient`` on the configured tracking store (``settings.mlflow_uri``)."""
    import mlflow
    from mlflow import MlflowClient

    from shopflow.config import get_settings

    settings = settings or get_settings()
    uri = settings.mlflow_uri
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(client, name: str, settings=None) -> str:
    """The id of experiment ``name``, created with its artifacts under settings.mlflow_artifacts
    when the store is local (a tracking server keeps its own artifact root)."""
    from shopflow.config import get_settings, is_remote, join

    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    settings = settings or get_settings()
    location = None
    if settings.mlflow_uri.startswith("sqlite:") or settings.mlflow_uri.startswith("file:"):
        root = settings.mlflow_artifacts
        location = join(root, name) if is_remote(root) else Path(root, name).resolve().as_uri()
    return client.create_experiment(name, artifact_location=location)


def start_run(client, experiment_id: str, run_name: str, tags: Mapping[str, str] | None = None,
              parent_run_id: str | None = None) -> str:
    tags = dict(tags or {})
    if parent_run_id:
        tags["mlflow.parentRunId"] = parent_run_id
    return client.create_run(experiment_id, run_name=run_name, tags=tags).info.run_id


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def log_params(client, run_id: str, params: Mapping[str, Any]) -> None:
    from mlflow.entities import Param

    entries = [Param(str(k), str(v)[:_PARAM_MAX]) for k, v in params.items()]
    for chunk in _chunks(entries, _BATCH_PARAMS):
        client.log_batch(run_id, params=chunk)


def log_tags(client, run_id: str, tags: Mapping[str, Any]) -> None:
    from mlflow.entities import RunTag

    entries = [RunTag(str(k), str(v)) for k, v in tags.items()]
    for chunk in _chunks(entries, _BATCH_TAGS):
        client.log_batch(run_id, tags=chunk)


def log_metrics(client, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
    """Log many metrics at one step in batches of 1,000."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    entries = [Metric(str(k), float(v), now, step) for k, v in metrics.items() if v is not None]
    for chunk in _chunks(entries, _BATCH_METRICS):
        client.log_batch(run_id, metrics=chunk)


def log_series(client, run_id: str, key: str, values: Iterable[float], first_step: int = 1) -> None:
    """Log ``values`` as one metric with steps first_step, first_step + 1, ... (e.g. the loss of
    every ALS iteration, step = iteration number)."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    entries = [Metric(key, float(v), now, first_step + i) for i, v in enumerate(values)]
    for chunk in _chunks(entries, _BATCH_METRICS):
        client.log_batch(run_id, metrics=chunk)


def log_model(run_id: str, kind: str, folder: str | Path) -> str:
    """Log the model folder as an MLflow pyfunc model of run ``run_id``; return its model URI.

    The wrapper is logged as code (a three-line script naming the class), not pickled, so a
    model loads with whatever version of the class is installed.
    """
    import mlflow

    from shopflow.recommend.pyfunc import CODE, SIGNATURES, WRAPPERS, requirements

    script = Path(folder).parent / f"{kind}_model.py"
    script.write_text(CODE.format(cls=WRAPPERS[kind].__name__))
    with mlflow.start_run(run_id=run_id, log_system_metrics=False), warnings.catch_warnings():
        # The signature is explicit; an input example would make MLflow load and score the
        # model once more while logging it.
        warnings.filterwarnings("ignore", message=".*input example was not provided.*")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(script),
            artifacts={"model": str(folder)},
            pip_requirements=requirements(),
            signature=SIGNATURES[kind],
        )
    return info.model_uri


def register(client, name: str, model_uri: str, run_id: str) -> str:
    """Register ``model_uri`` as a new version of ``name`` (created on first use); return the version."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description=f"shopflow recommender ({name})")
    # A tracking server refuses a models:/m-... source unless model_id names that logged model
    # (a local store does not check).
    model_id = model_uri[len("models:/"):] if model_uri.startswith("models:/m-") else None
    version = client.create_model_version(name, source=model_uri, run_id=run_id, model_id=model_id)
    return str(version.version)


def current_champion(client, name: str):
    """The model version holding the champion alias, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    except MlflowException:
        return None


def decide(new_value: float, champion_value: float | None, higher_is_better: bool = True,
           gate_failures: list[str] | None = None) -> tuple[bool, str, str]:
    """The old champion rule as a pure function: (promote, decision, reason). Not used to
    promote any more (see the module docstring).

    ``champion_value`` None means there is no champion yet.
    """
    if gate_failures:
        return False, "rejected", "below the gate: " + "; ".join(gate_failures)
    if champion_value is None:
        return True, "promoted", "no champion yet"
    if math.isnan(new_value):
        return False, "rejected", "the new run has no value for the primary metric"
    if math.isnan(champion_value):
        return True, "promoted", "the champion has no value for the primary metric"
    better = new_value > champion_value if higher_is_better else new_value < champion_value
    if better:
        return True, "promoted", f"{new_value:.6g} beats the champion's {champion_value:.6g}"
    return False, "kept", f"{new_value:.6g} does not beat the champion's {champion_value:.6g}"


def load_champion(name: str, settings=None, client=None):
    """(trained model, model version) of the champion of ``name``, or None when there is none.

    The trained model is a :class:`~shopflow.recommend.artifacts.TrainedALS` (ALS) or a
    :class:`~shopflow.recommend.content.ContentModel` (content).
    """
    import mlflow.pyfunc

    client = client or connect(settings)
    version = current_champion(client, name)
    if version is None:
        return None
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")
    return loaded.unwrap_python_model().trained, version
