"""Training end to end on generated days: baselines, the paired promotion and the similar-items
comparison, as ``shopflow train`` runs them (warehouse -> fit and evaluate -> MLflow -> registry).

Generated days are simulated in-process (``shopflow.generate``, seed 7) and written to the
``events`` table of a DuckDB warehouse in a fresh SHOPFLOW_HOME (no landing files, no Spark),
then, against one MLflow store:

1. ``train_als`` for 2019-11-29 (reference settings): no champion yet;
2. ``train_als`` for 2019-11-30, same settings: a refresh;
3. ``train_content`` for 2019-11-30: the next-view comparison and the chosen method;
4. ``train_als`` for 2019-11-30 with factors 64, then with factors 16 and 10 iterations: paired
   comparisons with the champion's settings refitted on the same split.

Run: ``python -m bench.bench_training [scale] [home]`` (default 0.05 and a temporary folder,
removed afterwards). Writes bench/results/training.json.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import datetime as dt  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.common import write_result  # noqa: E402

RUNS = (
    ("reference 2019-11-29", dt.date(2019, 11, 29), {}),
    ("reference 2019-11-30", dt.date(2019, 11, 30), {}),
    ("factors 64", dt.date(2019, 11, 30), {"factors": 64}),
    ("factors 16, 10 iterations", dt.date(2019, 11, 30), {"factors": 16, "iterations": 10}),
)
SHOWN = ("precision_at_15", "ndcg_at_15", "baseline_ndcg_at_15", "itemknn_ndcg_at_15", "temporal_precision_at_15",
         "temporal_ndcg_at_15", "temporal_baseline_ndcg_at_15", "temporal_itemknn_ndcg_at_15",
         "temporal_itemknn_precision_at_15", "beats_popularity", "beats_itemknn", "itemknn_seconds",
         "temporal_itemknn_seconds", "random_protocol_seconds", "temporal_protocol_seconds", "fit_seconds",
         "users_evaluated", "temporal_users_evaluated")


def generated_events(scale: float) -> pd.DataFrame:
    from shopflow import generate as g

    cfg = g.GeneratorConfig.from_scale(scale, days=30, seed=7)
    catalog = g.build_catalog(cfg)
    people = g.build_population(cfg, catalog)
    factors = g.day_factors(cfg.dates)
    codes = np.array(catalog.category_code, dtype=object)
    brands = np.array(catalog.brand_name, dtype=object)
    frames = []
    for i, day in enumerate(cfg.dates):
        ev = g.simulate_day(cfg, catalog, people, day, factors[i])
        p = ev.product
        c, b = catalog.product_category[p], catalog.product_brand[p]
        frames.append(pd.DataFrame({
            "event_time": pd.Timestamp(day) + pd.to_timedelta(ev.second, unit="s"),
            "event_date": day,
            "event_type": np.array(g.EVENT_CODES)[ev.event],
            "product_id": catalog.product_id[p].astype(np.int64),
            "category_id": catalog.category_id[c].astype(np.int64),
            "category_code": codes[c],
            "brand": np.where(b >= 0, brands[np.maximum(b, 0)], None),
            "price": np.round(catalog.product_price[p], 2),
            "user_id": people.user_id[ev.user].astype(np.int64),
            "user_session": (ev.session.astype(np.int64) + i * 10**8).astype(str),
        }))
    return pd.concat(frames, ignore_index=True)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    scale = float(argv[0]) if argv else 0.05
    home = argv[1] if len(argv) > 1 else tempfile.mkdtemp(prefix="shopflow-bench-training-")
    try:
        return _run(scale, home)
    finally:
        if len(argv) <= 1:
            shutil.rmtree(home, ignore_errors=True)


def _run(scale: float, home: str) -> int:
    os.environ["SHOPFLOW_HOME"] = home
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{home}/mlflow.db"
    from mlflow import MlflowClient

    from shopflow.config import get_settings
    from shopflow.train import train_als, train_content
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    start = time.perf_counter()
    events = generated_events(scale)
    out = {"scale": scale, "home": home, "events": len(events), "load_average_at_start": os.getloadavg()}
    settings = get_settings()
    with DuckDBWarehouse(settings) as wh:
        wh.write_table("events", events)
    del events
    out["generate_and_load_seconds"] = round(time.perf_counter() - start, 1)
    print(out, flush=True)
    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    out["als"] = []
    for i, (name, run_date, params) in enumerate(RUNS):
        t0 = time.perf_counter()
        result = train_als(run_date, params, settings=settings)
        seconds = time.perf_counter() - t0
        logged = client.get_run(result["run_id"]).data
        row = {
            "run": name, "version": result["version"], "seconds": round(seconds, 1),
            "decision": result["champion_decision"], "reason": result["champion_reason"],
            "scored_as": logged.tags.get("champion_scored_as"),
            **{k: result["metrics"].get(k) for k in SHOWN},
            **{k: v for k, v in logged.metrics.items() if k.startswith(("promotion_", "champion_temporal_ndcg"))},
        }
        out["als"].append(row)
        print(row, flush=True)
        if i == 1:
            t0 = time.perf_counter()
            content = train_content(run_date, {}, settings=settings)
            out["content"] = {"seconds": round(time.perf_counter() - t0, 1), "decision": content["champion_decision"],
                              "method": content["params"]["similar_items_method"],
                              **{k: v for k, v in content["metrics"].items() if "next_view" in k or "annoy" in k}}
            print(out["content"], flush=True)
    out["load_average_at_end"] = os.getloadavg()
    write_result("training", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
