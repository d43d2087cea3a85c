"""ALS and both baselines on generated purchases under the reference's protocol and filter: how
hard the generated data is, compared with the reference's precision@15 = 0.028 on the real
November month.

Protocol (REFERENCE.md step 5): rows with a category code and a brand (the reference's most
likely filter), purchases only, each bought user-item pair once, 20% of the pairs held out
(seed 42), implicit's precision@15 (hits / min(15, held-out items)); ALS at the reference
settings (30 factors, regularization 0.1, alpha 40, 30 iterations); popularity and item-kNN
(cosine, 100 neighbours) on the same split. Days are simulated in-process (no files).

Generator knobs can be overridden for a trial: ``python -m bench.calibration 0.05
ZIPF_EXPONENT=0.9`` (any module-level constant of shopflow.generate).

Run: ``python -m bench.calibration [scale] [KNOB=value ...]`` (default scale 1.0, the
reference's size: about 67.5M events, 30 days). Writes bench/results/calibration.json.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.common import peak_rss_mb, write_result  # noqa: E402

REFERENCE = {"factors": 30, "regularization": 0.1, "alpha": 40.0, "iterations": 30, "seed": 42}
THREADS = 2


def filtered_purchases(scale: float, knobs: dict) -> tuple[pd.DataFrame, dict]:
    from shopflow import generate as g

    for key, value in knobs.items():
        setattr(g, key, type(getattr(g, key))(value))
    cfg = g.GeneratorConfig.from_scale(scale, days=30, seed=7)
    catalog = g.build_catalog(cfg)
    people = g.build_population(cfg, catalog)
    factors = g.day_factors(cfg.dates)
    has_code = np.array([c is not None for c in catalog.category_code])[catalog.product_category]
    kept_product = has_code & (catalog.product_brand >= 0)
    users, products, n_events, n_kept = [], [], 0, 0
    for i, day in enumerate(cfg.dates):
        ev = g.simulate_day(cfg, catalog, people, day, factors[i])
        n_events += len(ev.event)
        n_kept += int(kept_product[ev.product].sum())
        bought = (ev.event == g.PURCHASE) & kept_product[ev.product]
        users.append(people.user_id[ev.user[bought]])
        products.append(catalog.product_id[ev.product[bought]])
    frame = pd.DataFrame({"user_id": np.concatenate(users).astype(np.int64),
                          "product_id": np.concatenate(products).astype(np.int64), "event_type": "purchase"})
    return frame, {"events": n_events, "kept_share": n_kept / n_events, "purchases_kept": len(frame)}


def main(argv=None) -> int:
    from shopflow.recommend.als import ALSRecommender
    from shopflow.recommend.data import build_interactions
    from shopflow.recommend.evaluation import evaluate_with_baseline, random_split
    from shopflow.recommend.itemknn import ItemKNNRecommender

    argv = sys.argv[1:] if argv is None else argv
    scale = float(argv[0]) if argv else 1.0
    knobs = dict(kv.split("=", 1) for kv in argv[1:])
    out = {"scale": scale, "knobs": knobs, "als_params": REFERENCE, "load_average_at_start": os.getloadavg()}
    start = time.perf_counter()
    frame, counts = filtered_purchases(scale, knobs)
    out.update(counts, generate_seconds=round(time.perf_counter() - start, 1))
    data = build_interactions(frame)
    out["matrix"] = data.counts()
    print(out, flush=True)
    start = time.perf_counter()
    split = random_split(data, 0.2, seed=42)
    _, metrics = evaluate_with_baseline(
        lambda: ALSRecommender(REFERENCE, num_threads=THREADS, track_loss=False), split, 15,
        lambda: ItemKNNRecommender(100, num_threads=THREADS))
    out["evaluate_seconds"] = round(time.perf_counter() - start, 1)
    out["metrics"] = metrics
    out["precision_at_15"] = {"als": metrics["precision_at_15"], "popularity": metrics["baseline_precision_at_15"],
                              "itemknn": metrics["itemknn_precision_at_15"], "reference_als": 0.028,
                              "target_range": [0.014, 0.056]}
    out["peak_rss_mb"] = round(peak_rss_mb(), 0)
    out["load_average_at_end"] = os.getloadavg()
    print(out["precision_at_15"], flush=True)
    write_result("calibration", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
