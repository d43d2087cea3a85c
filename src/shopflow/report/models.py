"""What the dashboard reads from MLflow: champions, recent runs and the latest loss curve.

Read-only: the tracking store is opened with a plain ``MlflowClient`` (no global tracking URI is
set and no experiment is created), and a local SQLite store that does not exist yet is reported,
not created. A store that cannot be read becomes a note in the section; the rest of the
dashboard still renders.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from shopflow.tracking import ALS, CHAMPION_ALIAS, CONTENT

log = logging.getLogger(__name__)

#: Runs shown in "recent runs over time", newest first.
RECENT_RUNS = 20

#: Ranking metrics worth a bar against the baseline (any K), as train.py logs them.
_RANKING = re.compile(
    r"^(precision_at_\d+_strict|precision_at_\d+|recall_at_\d+|map_at_\d+|ndcg_at_\d+|coverage"
    r"|next_view_hit_rate_at_\d+)$"
)
#: Protocol prefixes train.py uses: the random hold-out (the reference's) unprefixed, the
#: temporal split with ``temporal_``.
PROTOCOLS = (("", "random 20% hold-out (the reference's protocol)"), ("temporal_", "temporal split (train before the cutoff, test after)"))


@dataclass
class ModelRun:
    run_id: str
    run_name: str
    start_time: dt.datetime | None
    status: str
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]

    @classmethod
    def from_run(cls, run) -> "ModelRun":
        start = run.info.start_time
        return cls(
            run_id=run.info.run_id,
            run_name=run.info.run_name or run.info.run_id[:8],
            start_time=None if start is None else dt.datetime.fromtimestamp(start / 1000, dt.timezone.utc),
            status=run.info.status,
            metrics=dict(run.data.metrics),
            params=dict(run.data.params),
            tags={k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
        )


@dataclass
class ModelSummary:
    name: str
    experiment_found: bool = False
    champion_version: str | None = None
    champion: ModelRun | None = None
    recent: list[ModelRun] = field(default_factory=list)
    loss_run: ModelRun | None = None
    loss: list[tuple[int, float]] = field(default_factory=list)


@dataclass
class TrackingData:
    uri: str
    notes: list[str] = field(default_factory=list)
    models: dict[str, ModelSummary] = field(default_factory=dict)

    @property
    def has_runs(self) -> bool:
        return any(m.recent for m in self.models.values())


def display_uri(uri: str) -> str:
    """The tracking URI without any user:password part."""
    parts = urlsplit(uri)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return uri


def ranking_metrics(metrics: dict[str, float], prefix: str = "") -> list[str]:
    """Names (without prefix) of the ranking metrics a run logged under ``prefix``."""
    out = []
    for key in metrics:
        if key.startswith(prefix):
            name = key[len(prefix):]
            if _RANKING.match(name):
                out.append(name)
    order = ("precision", "recall", "map", "ndcg", "next_view", "coverage")
    return sorted(out, key=lambda n: (next((i for i, o in enumerate(order) if n.startswith(o)), 9), n))


def load(settings, client=None, recent: int = RECENT_RUNS) -> TrackingData:
    uri = settings.mlflow_uri
    data = TrackingData(uri=display_uri(uri))
    if client is None:
        if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///"):]).exists():
            data.notes.append(
                f"No MLflow tracking store at {uri[len('sqlite:///'):]} yet: no model has been trained. "
                "Run `shopflow train` (or the shopflow_training DAG)."
            )
            return data
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        for name in (ALS, CONTENT):
            data.models[name] = _summarise(client, name, recent)
    except Exception as exc:  # the store is optional to the rest of the dashboard
        log.warning("cannot read MLflow at %s: %s", data.uri, exc)
        data.notes.append(f"Could not read the MLflow tracking store at {data.uri}: {type(exc).__name__}: {exc}")
        data.models.clear()
    return data


def _summarise(client, name: str, recent: int) -> ModelSummary:
    from mlflow.exceptions import MlflowException

    out = ModelSummary(name=name)
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return out
    out.experiment_found = True
    # A sweep's parent run repeats its best child's metrics; the children are the runs.
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string="attributes.status != 'RUNNING'",
        max_results=recent * 2 + 10,
        order_by=["attributes.start_time DESC"],
    )
    out.recent = [ModelRun.from_run(r) for r in runs if r.data.tags.get("sweep") != "true"][:recent]
    try:
        version = client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    except MlflowException:
        version = None
    if version is not None:
        out.champion_version = str(version.version)
        if version.run_id:
            out.champion = ModelRun.from_run(client.get_run(version.run_id))
    for run in out.recent:
        if "loss" in run.metrics:
            history = client.get_metric_history(run.run_id, "loss")
            out.loss_run = run
            out.loss = sorted((int(m.step), float(m.value)) for m in history)
            break
    return out
