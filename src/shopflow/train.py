"""Training entry points (called by the ``shopflow_training`` DAG) and ``shopflow train``.

``train_als`` and ``train_content`` read the warehouse ``events`` table over a window of days
ending at ``run_date``, fit and evaluate, log to MLflow, register a model version and apply the
champion rule. The fitting and evaluating themselves are :func:`fit_als` and :func:`fit_content`,
pure functions of frames that return models and metrics without touching MLflow.

Heavy libraries (implicit, annoy, sklearn, scipy, mlflow) are imported inside functions.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping

from shopflow.dates import as_date
from shopflow.queries import query_sql
from shopflow.schema import EVENT_TYPES

log = logging.getLogger(__name__)

#: Defaults of the data and evaluation settings (model settings are in ALSParams/ContentParams).
ALS_DEFAULTS: dict[str, Any] = {
    "window_days": 30,
    "test_fraction": 0.2,
    "k": 15,
    "weights": "purchase=1",
    "num_threads": 0,
    # the item-to-item baseline beside popularity (recommend/itemknn.py): cosine or bm25
    "itemknn": "cosine",
    "itemknn_neighbours": 100,
}
CONTENT_DEFAULTS: dict[str, Any] = {"window_days": 30, "k": 10, "recall_sample": 1000}
#: Days held out by the temporal protocol, unless the window is shorter (then window_days - 1).
TEST_DAYS = 7
#: The grid of ``--sweep`` when no parameter is given as a list.
SWEEP_GRID: dict[str, list] = {"factors": [30, 64], "alpha": [10.0, 40.0]}


# --------------------------------------------------------------------------- small helpers


def window(run_date, window_days: int, test_days: int) -> dict[str, dt.date]:
    """The days a run reads: [start, end], the last ``test_days`` of them from ``cutoff``
    (the planned cutoff: see :func:`resolve_cutoff`)."""
    end = as_date(run_date)
    if window_days < 2 or not 1 <= test_days < window_days:
        raise ValueError(f"need window_days >= 2 and 1 <= test_days < window_days (got {window_days}, {test_days})")
    return {
        "start_date": end - dt.timedelta(days=window_days - 1),
        "end_date": end,
        "cutoff_date": end - dt.timedelta(days=test_days - 1),
    }


def resolve_cutoff(days: Mapping[str, dt.date], present) -> tuple[dt.date | None, str]:
    """The cutoff of the temporal protocol given the days that have events, and a note when it
    is not the planned one.

    With events on both sides of the planned cutoff, it is used. Otherwise (a window only
    partly filled, as in a backfill's first days) the last day with events is the test day and
    the days before it train. With fewer than two days of events there is no temporal split
    (None); its metrics are then logged as NaN.
    """
    planned = days["cutoff_date"]
    present = sorted({d for d in present if days["start_date"] <= d <= days["end_date"]})
    if len(present) < 2:
        return None, f"{len(present)} day(s) with events in the window: no temporal split"
    if present[0] < planned <= present[-1]:
        return planned, ""
    return present[-1], (f"no events on one side of the planned cutoff {planned}: "
                         f"testing on the last day with events, {present[-1]}")


def _types_sql(types) -> str:
    types = sorted(set(types))
    bad = [t for t in types if t not in EVENT_TYPES]
    if bad:
        raise ValueError(f"unknown event types {bad}")
    # Safe to inline: every value is one of the fixed EVENT_TYPES.
    return ", ".join(f"'{t}'" for t in types)


def load_events(wh, days: Mapping[str, dt.date], types) -> "Any":
    """Aggregated events of ``types`` in the window (sql/queries/train/events.sql)."""
    sql = query_sql("train/events").format(types=_types_sql(types))
    return wh.query(sql, {"start_date": days["start_date"], "end_date": days["end_date"]})


ALS_MODEL_KEYS = ("factors", "regularization", "alpha", "iterations", "seed")
CONTENT_MODEL_KEYS = ("dims", "n_trees", "search_k", "price_weight", "seed")


def _merge(defaults: Mapping[str, Any], params: Mapping[str, Any] | None, model_keys=()) -> dict[str, Any]:
    """Defaults overridden by the non-None ``params``; unknown names are an error (a typo such
    as ``factor`` would otherwise train with the default silently)."""
    known = set(defaults) | set(model_keys) | {"test_days"}
    unknown = sorted(set(params or {}) - known)
    if unknown:
        raise ValueError(f"unknown parameters {unknown}; known: {sorted(known)}")
    out = dict(defaults)
    out.update({k: v for k, v in (params or {}).items() if v is not None})
    if out.get("test_days") is None:
        out["test_days"] = min(TEST_DAYS, int(out["window_days"]) - 1)
    return out


def _dates(frame) -> list[dt.date]:
    import pandas as pd

    if frame is None or len(frame) == 0:
        return []
    return list(pd.to_datetime(frame["event_date"]).dt.date.unique())


# --------------------------------------------------------------------------- ALS


def fit_als(events, run_date, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fit and evaluate ALS on an events frame; no MLflow, no warehouse.

    Returns ``trained`` (:class:`TrainedALS` fitted on the whole window, for serving), ``loss``
    (its loss per iteration), ``metrics`` (random protocol unprefixed, temporal protocol with a
    ``temporal_`` prefix, the baseline's with ``baseline_``), ``params`` (everything to log) and
    ``info`` (split counts).
    """
    from shopflow.recommend.als import ALSParams, ALSRecommender
    from shopflow.recommend.artifacts import TrainedALS
    from shopflow.recommend.data import build_interactions, format_weights, parse_weights
    from shopflow.recommend.evaluation import evaluate_with_baseline, random_split, temporal_split
    from shopflow.recommend.itemknn import ItemKNNRecommender

    settings = _merge(ALS_DEFAULTS, params, ALS_MODEL_KEYS)
    model_params = ALSParams.from_mapping(settings)
    weights = parse_weights(settings["weights"])
    days = window(run_date, int(settings["window_days"]), int(settings["test_days"]))
    k = int(settings["k"])
    threads = int(settings["num_threads"])

    def make():
        return ALSRecommender(model_params, num_threads=threads, track_loss=False)

    def make_itemknn():
        return ItemKNNRecommender(int(settings["itemknn_neighbours"]), str(settings["itemknn"]), num_threads=threads)

    full = build_interactions(events, weights)
    if full.purchases.nnz == 0:
        raise ValueError(f"no purchases between {days['start_date']} and {days['end_date']}: nothing to train on")
    timings, metrics = {}, {}

    start = time.perf_counter()
    split = random_split(full, float(settings["test_fraction"]), model_params.seed)
    _, random_metrics = evaluate_with_baseline(make, split, k, make_itemknn)
    timings["random_protocol_seconds"] = time.perf_counter() - start
    metrics.update(random_metrics)

    start = time.perf_counter()
    cutoff, note = resolve_cutoff(days, _dates(events))
    if note:
        log.warning("ALS temporal protocol: %s", note)
    temporal = temporal_model = None
    if cutoff is None:
        temporal_info = {"test_pairs": 0}
        temporal_metrics = {key: float("nan") for key in random_metrics}
        temporal_metrics["users_evaluated"] = 0
    else:
        temporal = temporal_split(events, cutoff, weights)
        temporal_info = temporal.info
        temporal_model, temporal_metrics = evaluate_with_baseline(make, temporal, k, make_itemknn)
    timings["temporal_protocol_seconds"] = time.perf_counter() - start
    metrics.update({f"temporal_{key}": value for key, value in temporal_metrics.items()})

    start = time.perf_counter()
    final = ALSRecommender(model_params, num_threads=threads).fit(full.matrix)
    timings["fit_seconds"] = time.perf_counter() - start

    counts = full.counts()
    n_events = int(events["n_events"].sum()) if "n_events" in events.columns else len(events)
    logged = {
        **model_params.as_dict(),
        "weights": format_weights(weights),
        "window_start": days["start_date"].isoformat(),
        "window_end": days["end_date"].isoformat(),
        "cutoff_date": cutoff.isoformat() if cutoff else "none",
        "planned_cutoff_date": days["cutoff_date"].isoformat(),
        "window_days": int(settings["window_days"]),
        "test_days": int(settings["test_days"]),
        "test_fraction": float(settings["test_fraction"]),
        "k": k,
        **make_itemknn().params(),
        "n_event_rows": len(events),
        "n_events": n_events,
        "n_users": counts["n_users"],
        "n_items": counts["n_items"],
        "n_pairs": counts["n_pairs"],
        "n_purchase_pairs": counts["n_purchase_pairs"],
    }
    metrics.update({
        # The popularity one is a gate of the promotion (recommend/promotion.py); item-kNN is recorded.
        "beats_popularity": _beats(metrics, f"temporal_ndcg_at_{k}", f"temporal_baseline_ndcg_at_{k}"),
        "beats_itemknn": _beats(metrics, f"temporal_ndcg_at_{k}", f"temporal_itemknn_ndcg_at_{k}"),
        "sparsity": counts["sparsity"],
        "random_test_pairs": split.info["test_pairs"],
        **{f"temporal_{key}": value for key, value in temporal_info.items() if key != "cutoff"},
        **timings,
    })
    trained = TrainedALS(final, full.users, full.items, full.purchases, meta={
        "run_date": days["end_date"].isoformat(), "weights": weights,
        "window_start": logged["window_start"], "window_end": logged["window_end"],
    })
    # The temporal split and the model fitted on its training days: the promotion step scores the
    # champion on the same split (recommend/promotion.py).
    return {"trained": trained, "loss": final.loss, "metrics": metrics, "params": logged,
            "info": {"random": split.info, "temporal": temporal_info}, "note": note,
            "temporal": {"split": temporal, "model": temporal_model, "cutoff": cutoff, "k": k, "threads": threads}}


def _beats(metrics: Mapping[str, float], mine: str, theirs: str) -> float:
    """1.0 when metric ``mine`` is strictly above ``theirs``, 0.0 when not, NaN when either is
    missing (no temporal split)."""
    import math

    a, b = metrics.get(mine, math.nan), metrics.get(theirs, math.nan)
    return math.nan if math.isnan(a) or math.isnan(b) else float(a > b)


def _grid(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Settings of a sweep: the product of every list-valued parameter (SWEEP_GRID if none)."""
    lists = {k: list(v) for k, v in params.items() if isinstance(v, (list, tuple))}
    if not lists:
        lists = {k: v for k, v in SWEEP_GRID.items()}
    base = {k: v for k, v in params.items() if k not in lists}
    keys = sorted(lists)
    return [{**base, **dict(zip(keys, combo))} for combo in itertools.product(*(lists[k] for k in keys))]


def _log_als_run(client, run_id: str, result: dict[str, Any]) -> None:
    from shopflow import tracking

    tracking.log_params(client, run_id, result["params"])
    tracking.log_metrics(client, run_id, result["metrics"])
    tracking.log_series(client, run_id, "loss", result["loss"])
    if result.get("note"):
        tracking.log_tags(client, run_id, {"temporal_note": result["note"]})


def _summary_artifact(client, run_id: str, payload: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "summary.json")
        path.write_text(json.dumps(payload, indent=2, default=str))
        client.log_artifact(run_id, str(path))


def _register_model(client, name: str, kind: str, run_id: str, trained) -> str:
    """Log the model of ``run_id`` and register it; return the version."""
    from shopflow import tracking

    with tempfile.TemporaryDirectory() as tmp:
        trained.save(Path(tmp, "model"))
        uri = tracking.log_model(run_id, kind, Path(tmp, "model"))
    return tracking.register(client, name, uri, run_id)


def _promote_content(client, run_id: str, result: dict[str, Any], transitions, incumbent) -> tuple[str | None, dict[str, Any]]:
    """Register the content model of ``run_id`` if it passes its gate (Annoy's recall) and apply
    the paired rule (recommend/promotion.py) on its test transitions; version None when it did
    not pass."""
    from shopflow import tracking
    from shopflow.recommend import promotion

    trained = result["trained"]
    version, rejected = promotion.register_unless_gated(
        client, tracking.CONTENT, run_id, lambda: _register_model(client, tracking.CONTENT, "content", run_id, trained),
        incumbent)
    if rejected is not None:
        log.warning("content run %s not registered: %s", run_id, rejected["champion_reason"])
        return None, rejected
    decision = promotion.promote_content(client, version, run_id, trained, transitions, incumbent,
                                         k=int(result["params"]["k"]), seed=int(result["params"]["seed"]))
    return version, decision


def _promote_als(client, run_id: str, result: dict[str, Any], incumbent, events, settings) -> tuple[str | None, dict[str, Any]]:
    """Register the ALS model of ``run_id`` if it passes its gates (it must beat popularity on
    the temporal protocol) and apply the paired rule (recommend/promotion.py); version None when
    it did not pass."""
    from shopflow import tracking
    from shopflow.recommend import promotion

    version, rejected = promotion.register_unless_gated(
        client, tracking.ALS, run_id, lambda: _register_model(client, tracking.ALS, "als", run_id, result["trained"]),
        incumbent)
    if rejected is not None:
        log.warning("ALS run %s not registered: %s", run_id, rejected["champion_reason"])
        return None, rejected
    temporal = result["temporal"]
    decision = promotion.promote_als(
        client, version, run_id, temporal["split"], temporal["model"], incumbent, k=temporal["k"],
        events=events, cutoff=temporal["cutoff"], seed=int(result["params"]["seed"]), num_threads=temporal["threads"])
    return version, decision


def train_als(run_date, params: dict | None = None, sweep: bool = False, settings=None) -> dict[str, Any]:
    """Fit, evaluate (both protocols), log, register and apply the champion rule for ALS.

    With ``sweep``, every setting of the grid (list-valued params, else SWEEP_GRID) is a child
    run under one parent run; the child with the best temporal ndcg@15 is registered.
    Returns run ids, the metrics, the registered version and the champion decision.
    """
    from shopflow import tracking
    from shopflow.config import get_settings
    from shopflow.recommend import promotion
    from shopflow.recommend.als import ALSParams
    from shopflow.lake_reader import events_reader
    from shopflow.recommend.data import parse_weights

    settings = settings or get_settings()
    params = dict(params or {})
    run_date = as_date(run_date)
    listed = sorted(k for k, v in params.items() if isinstance(v, (list, tuple)))
    if listed and not sweep:
        raise ValueError(f"several values for {listed} need --sweep")
    if set(listed) - set(ALS_MODEL_KEYS):
        raise ValueError(f"only the model parameters {list(ALS_MODEL_KEYS)} can be swept, not {listed}")
    settings_list = _grid(params) if sweep else [params]
    for setting in settings_list:
        # Refuse bad settings before reading the warehouse or opening a run.
        ALSParams.from_mapping(_merge(ALS_DEFAULTS, setting, ALS_MODEL_KEYS))
    merged = _merge(ALS_DEFAULTS, settings_list[0], ALS_MODEL_KEYS)
    days = window(run_date, int(merged["window_days"]), int(merged["test_days"]))
    client = tracking.connect(settings)
    experiment_id = tracking.ensure_experiment(client, tracking.ALS, settings)
    # The champion is scored on this run's split under its own event weights: read its types too.
    incumbent = promotion.load_incumbent(client, tracking.ALS, settings)
    if incumbent[2]:
        log.warning("ALS promotion: %s", incumbent[2])
    champion_weights = incumbent[0].meta.get("weights") if incumbent[0] is not None else None
    types = set(parse_weights(merged["weights"])) | {"purchase"} | set(parse_weights(champion_weights or None))
    with events_reader(settings) as wh:  # the lake's Parquet: no warehouse lock held or met
        events = load_events(wh, days, types)
    log.info("ALS: %d aggregated event rows for %s..%s", len(events), days["start_date"], days["end_date"])

    parent = None
    if sweep:
        parent = tracking.start_run(client, experiment_id, f"als-sweep-{run_date}",
                                    {"run_date": run_date.isoformat(), "sweep": "true"})
    children = []
    try:
        for setting in settings_list:
            name = f"als-{run_date}" + ("" if not sweep else "-" + "-".join(
                f"{k}{setting[k]}" for k in sorted(setting) if k in ("factors", "regularization", "alpha", "iterations")))
            run_id = tracking.start_run(client, experiment_id, name, {"run_date": run_date.isoformat()},
                                        parent_run_id=parent)
            try:
                result = fit_als(events, run_date, setting)
                _log_als_run(client, run_id, result)
            except Exception:
                client.set_terminated(run_id, "FAILED")
                raise
            children.append((run_id, result))
            # Only the best child's temporal split and model serve the promotion: free the others'.
            leader = max(children, key=lambda c: _sortable(c[1]["metrics"].get(tracking.PRIMARY_METRIC[tracking.ALS][0])))
            for _, other in children:
                if other is not leader[1]:
                    other["temporal"].update(split=None, model=None)
        metric, _ = tracking.PRIMARY_METRIC[tracking.ALS]
        best_id, best = max(children, key=lambda c: _sortable(c[1]["metrics"].get(metric)))
        version, decision = _promote_als(client, best_id, best, incumbent, events, settings)
        for run_id, result in children:
            _summary_artifact(client, run_id, {
                "run_date": run_date, "params": result["params"], "metrics": result["metrics"],
                "splits": result["info"], "registered": run_id == best_id and version is not None,
                **(decision if run_id == best_id else {}),
            })
            client.set_terminated(run_id, "FINISHED")
        if parent:
            tracking.log_params(client, parent, {f"best_{k}": v for k, v in best["params"].items()})
            tracking.log_metrics(client, parent, best["metrics"])
            tracking.log_tags(client, parent, {"best_child_run_id": best_id, **{
                k: v for k, v in decision.items() if isinstance(v, str)}})
            client.set_terminated(parent, "FINISHED")
    except Exception:
        if parent:
            client.set_terminated(parent, "FAILED")
        raise
    return {
        "model": tracking.ALS,
        "run_id": best_id,
        "parent_run_id": parent,
        "child_run_ids": [c[0] for c in children] if sweep else [],
        "experiment_id": experiment_id,
        "version": version,
        **decision,
        "params": best["params"],
        "metrics": best["metrics"],
    }


def _sortable(value) -> float:
    import math

    return -math.inf if value is None or math.isnan(value) else float(value)


# --------------------------------------------------------------------------- content


def fit_content(catalogue, transitions, run_date, params: Mapping[str, Any] | None = None,
                cutoff: dt.date | None = None) -> dict[str, Any]:
    """Fit the content model on the catalogue and measure it; no MLflow, no warehouse.

    ``transitions`` are the consecutive views from ``cutoff`` on (see :func:`load_content_inputs`);
    ``cutoff`` defaults to the planned one.
    """
    from shopflow.recommend.content import ContentModel, ContentParams, evaluate_content
    from shopflow.recommend.similar import compare_next_view

    settings = _merge(CONTENT_DEFAULTS, params, CONTENT_MODEL_KEYS)
    model_params = ContentParams.from_mapping(settings)
    days = window(run_date, int(settings["window_days"]), int(settings["test_days"]))
    k = int(settings["k"])
    start = time.perf_counter()
    model = ContentModel(model_params).fit(catalogue)
    build_seconds = time.perf_counter() - start
    start = time.perf_counter()
    metrics = evaluate_content(model, transitions, k=k, recall_sample=int(settings["recall_sample"]),
                               seed=model_params.seed)
    # Which similar items get published: content neighbours, same-category best-sellers or
    # their blend, whichever finds more next views (recommend/similar.py).
    comparison = compare_next_view(model, transitions, k)
    model.similar_method = comparison["winner"]
    metrics.update(comparison["metrics"])
    metrics[f"similar_items_next_view_hit_rate_at_{k}"] = comparison["metrics"][
        f"{comparison['winner']}_next_view_hit_rate_at_{k}"]
    metrics.update({"build_seconds": build_seconds, "evaluate_seconds": time.perf_counter() - start,
                    "explained_variance": model.explained_variance})
    logged = {
        **model_params.as_dict(),
        "k": k,
        "recall_sample": int(settings["recall_sample"]),
        "window_start": days["start_date"].isoformat(),
        "window_end": days["end_date"].isoformat(),
        "cutoff_date": "none" if cutoff is False else (cutoff or days["cutoff_date"]).isoformat(),
        "planned_cutoff_date": days["cutoff_date"].isoformat(),
        "window_days": int(settings["window_days"]),
        "test_days": int(settings["test_days"]),
        "n_items": model.n_items,
        "n_features": model.n_features,
        "n_transition_rows": len(transitions),
        "similar_items_method": model.similar_method,
    }
    return {"trained": model, "metrics": metrics, "params": logged}


def load_content_inputs(wh, days: Mapping[str, dt.date]):
    """(catalogue, transitions, cutoff, note): the cutoff resolved against the days with events;
    cutoff False when there is no temporal split (no transitions are then read)."""
    cutoff, note = resolve_cutoff(days, _dates(wh.query(query_sql("train/dates"), days)))
    if cutoff is None:
        # Every view counts as "before the cutoff" for the baseline; nothing is tested.
        query_days = {**days, "cutoff_date": days["end_date"] + dt.timedelta(days=1)}
        cutoff = False
    else:
        query_days = {**days, "cutoff_date": cutoff}
    catalogue = wh.query(query_sql("train/catalogue"), query_days)
    transitions = wh.query(query_sql("train/transitions"), query_days)
    return catalogue, transitions, cutoff, note


def _neighbour_sample(model, n: int = 20, k: int = 5, seed: int = 0):
    """A few items with their neighbours' metadata, to judge by eye in the MLflow UI."""
    import numpy as np

    from shopflow.recommend.artifacts import similar_frame

    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(model.n_items, size=min(n, model.n_items), replace=False))
    frame = similar_frame(model, idx, k)
    meta = model.catalogue[["product_id", "category_code", "brand", "price"]]
    frame = frame.merge(meta, on="product_id").merge(
        meta.add_prefix("similar_"), on="similar_product_id")
    return frame.sort_values(["product_id", "rank"])


def train_content(run_date, params: dict | None = None, settings=None) -> dict[str, Any]:
    """Fit the content model on the window's catalogue, measure it, log, register if it passes
    its gate, and apply the paired promotion rule (recommend/promotion.py)."""
    from shopflow import tracking
    from shopflow.config import get_settings
    from shopflow.lake_reader import events_reader
    from shopflow.recommend import promotion

    settings = settings or get_settings()
    run_date = as_date(run_date)
    merged = _merge(CONTENT_DEFAULTS, params, CONTENT_MODEL_KEYS)
    days = window(run_date, int(merged["window_days"]), int(merged["test_days"]))
    with events_reader(settings) as wh:  # the lake's Parquet: no warehouse lock held or met
        catalogue, transitions, cutoff, note = load_content_inputs(wh, days)
    if note:
        log.warning("content next-view measure: %s", note)
    if catalogue.empty:
        raise ValueError(f"no events between {days['start_date']} and {days['end_date']}: no catalogue")

    client = tracking.connect(settings)
    experiment_id = tracking.ensure_experiment(client, tracking.CONTENT, settings)
    incumbent = promotion.load_incumbent(client, tracking.CONTENT, settings)
    if incumbent[2]:
        log.warning("content promotion: %s", incumbent[2])
    run_id = tracking.start_run(client, experiment_id, f"content-{run_date}", {"run_date": run_date.isoformat()})
    try:
        result = fit_content(catalogue, transitions, run_date, params, cutoff)
        tracking.log_params(client, run_id, result["params"])
        if note:
            tracking.log_tags(client, run_id, {"temporal_note": note})
        tracking.log_metrics(client, run_id, result["metrics"])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp, "neighbours_sample.csv")
            _neighbour_sample(result["trained"]).to_csv(path, index=False)
            client.log_artifact(run_id, str(path))
        version, decision = _promote_content(client, run_id, result, transitions, incumbent)
        _summary_artifact(client, run_id, {"run_date": run_date, "params": result["params"],
                                           "metrics": result["metrics"], **decision})
        client.set_terminated(run_id, "FINISHED")
    except Exception:
        client.set_terminated(run_id, "FAILED")
        raise
    return {"model": tracking.CONTENT, "run_id": run_id, "experiment_id": experiment_id, "version": version,
            **decision, "params": result["params"], "metrics": result["metrics"]}


# --------------------------------------------------------------------------- CLI


def _values(text: str, cast, name: str = "value"):
    from shopflow.errors import ParamError

    try:
        parts = [cast(p) for p in str(text).split(",") if p.strip()]
    except ValueError:
        kind = "whole numbers" if cast is int else "numbers"
        raise ParamError(f"--{name} {text!r}: give {kind} (comma-separated with --sweep)") from None
    if not parts:
        raise ParamError(f"--{name} is empty: give a value")
    return parts[0] if len(parts) == 1 else parts


def check_params(als: dict | None, content: dict | None, sweep: bool = False) -> None:
    """Refuse bad ALS/content settings as a ParamError (a user error), before anything starts.

    The same checks train_als and train_content make, run here so the CLI answers at once."""
    from shopflow.errors import ParamError, checked
    from shopflow.recommend.als import ALSParams
    from shopflow.recommend.content import ContentParams
    from shopflow.recommend.data import parse_weights

    if als is not None:
        listed = sorted(k for k, v in als.items() if isinstance(v, (list, tuple)))
        if listed and not sweep:
            raise ParamError(f"several values for {', '.join(listed)} need --sweep")
        for setting in (_grid(als) if sweep else [als]):
            merged = checked(_merge, ALS_DEFAULTS, setting, ALS_MODEL_KEYS)
            checked(ALSParams.from_mapping, merged)
            checked(window, dt.date(2000, 1, 1), int(merged["window_days"]), int(merged["test_days"]))
            checked(parse_weights, merged["weights"])
    if content is not None:
        merged = checked(_merge, CONTENT_DEFAULTS, content, CONTENT_MODEL_KEYS)
        checked(ContentParams.from_mapping, merged)
        checked(window, dt.date(2000, 1, 1), int(merged["window_days"]), int(merged["test_days"]))


def add_arguments(parser) -> None:
    from shopflow.errors import date_arg, int_range

    parser.add_argument("model", choices=("als", "content", "all"), help="which recommender to train")
    parser.add_argument("--run-date", type=date_arg,
                        help="last day of the data window, YYYY-MM-DD (default: the latest event_date in the warehouse)")
    parser.add_argument("--sweep", action="store_true", help="ALS: one child run per setting of the grid under a parent run")
    parser.add_argument("--factors", help="ALS latent factors (comma-separated values with --sweep)")
    parser.add_argument("--regularization", help="ALS regularization (comma-separated with --sweep)")
    parser.add_argument("--alpha", help="ALS confidence weight alpha (comma-separated with --sweep)")
    parser.add_argument("--iterations", help="ALS iterations (comma-separated with --sweep)")
    parser.add_argument("--seed", type=int, help="random seed of every model and split (default 42)")
    parser.add_argument("--weights", help="ALS signal weights per event type, e.g. view=0.1,cart=0.5,purchase=1")
    parser.add_argument("--window-days", type=int_range(2), help="days of data up to the run date (default 30)")
    parser.add_argument("--test-days", type=int_range(1), help="last days held out by the temporal protocol (default 7)")
    parser.add_argument("--dims", type=int_range(1), help="content: SVD dimensions (default 100)")
    parser.add_argument("--n-trees", type=int_range(1), help="content: Annoy trees (default 50)")


def _latest_event_date(settings) -> dt.date:
    """The default run date: the last day the warehouse has events for."""
    import pandas as pd

    from shopflow.warehouse import get_warehouse

    from shopflow.errors import UserError

    with get_warehouse(settings) as wh:
        if not wh.table_exists("events"):
            raise UserError("the warehouse has no events table: load some days first (shopflow load, or make demo)")
        latest = wh.query(query_sql("events/latest_date"))["latest_date"].iloc[0]
    if pd.isna(latest):
        raise UserError("the events table is empty: load some days first (shopflow load, or make demo)")
    return as_date(latest)


def run(args) -> int:
    from shopflow.config import get_settings

    settings = get_settings()
    common = {"seed": args.seed, "window_days": args.window_days, "test_days": args.test_days}
    als = content = None
    if args.model in ("als", "all"):
        als = {
            **common,
            "factors": _values(args.factors, int, "factors") if args.factors is not None else None,
            "regularization": (_values(args.regularization, float, "regularization")
                               if args.regularization is not None else None),
            "alpha": _values(args.alpha, float, "alpha") if args.alpha is not None else None,
            "iterations": _values(args.iterations, int, "iterations") if args.iterations is not None else None,
            "weights": args.weights,
        }
        als = {k: v for k, v in als.items() if v is not None}
    if args.model in ("content", "all"):
        content = {**common, "dims": args.dims, "n_trees": args.n_trees}
        content = {k: v for k, v in content.items() if v is not None}
    check_params(als, content, sweep=args.sweep)
    run_date = args.run_date or _latest_event_date(settings)
    results = []
    if als is not None:
        results.append(train_als(run_date, als, sweep=args.sweep, settings=settings))
    if content is not None:
        results.append(train_content(run_date, content, settings=settings))
    for result in results:
        _print_result(result)
    return 0


def _print_result(result: dict[str, Any]) -> None:
    metrics = result["metrics"]
    registered = "not registered" if result["version"] is None else f"version {result['version']}"
    print(f"{result['model']} {registered} (run {result['run_id']}): "
          f"{result['champion_decision']} -- {result['champion_reason']}")
    shown = [k for k in sorted(metrics) if k.endswith(("_at_15", "_at_15_strict", "_at_10", "coverage"))]
    for key in shown:
        print(f"  {key:40s} {metrics[key]:.5f}")
