"""Similar items on next views: the content model, same-category popularity and their blend
(recommend/similar.py), on generated days and on the real REES46 rows we hold.

* generated: ``shopflow.generate`` days simulated in-process (no files, no warehouse), the last
  ``test_days`` tested; also the generator with browsing switched off (``BROWSE_SHARE = 0``, the
  generator before issue 13), to show what the content model had to find;
* real: /work/shared/data/real (or ``SHOPFLOW_REAL_DATA``): the first 1,000 rows of October 2019
  and the cosmetics store's December sample; views split at the median view time (earlier views
  rank the candidates, later consecutive views within a session are tested).

Also reported: how often consecutive distinct views share the category and the brand.

Run: ``python -m bench.bench_similar [scale] [days] [test_days]`` (default 0.01 10 3). Writes
bench/results/similar.json.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.common import write_result  # noqa: E402

REAL = Path(os.environ.get("SHOPFLOW_REAL_DATA", "/work/shared/data/real"))
REAL_FILES = ("rees46-2019-oct-first-1000.csv", "rees46-cosmetics-2019-dec-sample.csv")
K = 10


def _transitions(views: pd.DataFrame) -> pd.DataFrame:
    """Consecutive distinct views within a session: (product_id, next_product_id, n_transitions)."""
    ordered = views.sort_values(["user_session", "event_time", "product_id"])
    nxt = ordered.groupby("user_session")["product_id"].shift(-1)
    pairs = pd.DataFrame({"product_id": ordered["product_id"], "next_product_id": nxt})
    pairs = pairs[pairs["next_product_id"].notna()]
    pairs["next_product_id"] = pairs["next_product_id"].astype(np.int64)
    pairs = pairs[pairs["product_id"] != pairs["next_product_id"]]
    return pairs.groupby(["product_id", "next_product_id"]).size().rename("n_transitions").reset_index()


def _shares(catalogue: pd.DataFrame, transitions: pd.DataFrame) -> dict:
    meta = catalogue.set_index("product_id")
    a, b = meta.loc[transitions["product_id"]], meta.loc[transitions["next_product_id"]]
    w = transitions["n_transitions"].to_numpy(dtype=float)
    same_cat = (a["category_id"].to_numpy() == b["category_id"].to_numpy())
    branded = a["brand"].notna().to_numpy() & b["brand"].notna().to_numpy()
    same_brand = (a["brand"].to_numpy() == b["brand"].to_numpy()) & branded
    return {"same_category_share": float((same_cat * w).sum() / w.sum()),
            "same_brand_share_of_branded": float((same_brand * w).sum() / (branded * w).sum())}


def _compare(catalogue: pd.DataFrame, transitions: pd.DataFrame) -> dict:
    from shopflow.recommend import similar
    from shopflow.recommend.content import ContentModel

    start = time.perf_counter()
    model = ContentModel({"n_trees": 50}).fit(catalogue)
    out = similar.compare_next_view(model, transitions, K)
    return {**out["metrics"], "winner": out["winner"], "items": len(catalogue),
            "transitions": int(transitions["n_transitions"].sum()), **_shares(catalogue, transitions),
            "seconds": round(time.perf_counter() - start, 2)}


def generated(scale: float, days: int, test_days: int, browse_share: float | None = None) -> dict:
    from shopflow import generate as g

    saved = g.BROWSE_SHARE
    if browse_share is not None:
        g.BROWSE_SHARE = browse_share
    try:
        cfg = g.GeneratorConfig.from_scale(scale, days=days)
        catalog = g.build_catalog(cfg)
        people = g.build_population(cfg, catalog)
        factors = g.day_factors(cfg.dates)
        parts = []
        for i, day in enumerate(cfg.dates):
            ev = g.simulate_day(cfg, catalog, people, day, factors[i])
            view = ev.event == g.VIEW
            parts.append(pd.DataFrame({"day": i, "event_time": ev.second[view].astype(np.int64) + i * 86_400,
                                       "product": ev.product[view], "user_session": ev.session[view] + i * 10**8}))
    finally:
        g.BROWSE_SHARE = saved
    views = pd.concat(parts, ignore_index=True)
    cut = days - test_days
    n = len(catalog.product_id)
    seen = np.flatnonzero(np.bincount(views["product"], minlength=n) > 0)
    cat, brand = catalog.product_category, catalog.product_brand
    catalogue = pd.DataFrame({
        "product_id": catalog.product_id[seen].astype(np.int64),
        "category_id": catalog.category_id[cat[seen]],
        "category_code": np.array(catalog.category_code, dtype=object)[cat[seen]],
        "brand": np.where(brand[seen] >= 0, np.array(catalog.brand_name, dtype=object)[np.maximum(brand[seen], 0)], None),
        "price": catalog.product_price[seen],
        "n_views": np.bincount(views["product"], minlength=n)[seen],
        "n_views_train": np.bincount(views.loc[views["day"] < cut, "product"], minlength=n)[seen],
    })
    test = views[views["day"] >= cut].assign(product_id=lambda f: catalog.product_id[f["product"]].astype(np.int64))
    return {"scale": scale, "days": days, "test_days": test_days, "browse_share": g.BROWSE_SHARE if browse_share is None
            else browse_share, "views": len(views), **_compare(catalogue, _transitions(test))}


def real(path: Path) -> dict:
    df = pd.read_csv(path)
    df = df[[c for c in df.columns if not c.startswith("Unnamed")]].drop_duplicates()
    df["event_time"] = pd.to_datetime(df["event_time"].str.replace(" UTC", ""))
    views = df[df["event_type"] == "view"]
    cut = views["event_time"].quantile(0.5)
    text = df.assign(category_code=df["category_code"].fillna(""), brand=df["brand"].fillna(""))
    catalogue = text.groupby("product_id", as_index=False).agg(
        category_id=("category_id", "max"), category_code=("category_code", "max"), brand=("brand", "max"),
        price=("price", "mean"))
    catalogue["category_code"] = catalogue["category_code"].replace("", None)
    catalogue["brand"] = catalogue["brand"].replace("", None)
    catalogue["n_views"] = catalogue["product_id"].map(views.groupby("product_id").size()).fillna(0)
    catalogue["n_views_train"] = catalogue["product_id"].map(
        views[views["event_time"] < cut].groupby("product_id").size()).fillna(0)
    return {"file": path.name, "rows": len(df), "views": len(views), "cut": str(cut),
            **_compare(catalogue, _transitions(views[views["event_time"] >= cut]))}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    scale, days, test_days = (float(argv[0]) if argv else 0.01), (int(argv[1]) if len(argv) > 1 else 10), (
        int(argv[2]) if len(argv) > 2 else 3)
    out = {"k": K, "generated": generated(scale, days, test_days),
           "generated_without_browsing": generated(scale, days, test_days, browse_share=0.0),
           "real": [real(REAL / f) for f in REAL_FILES if (REAL / f).exists()]}
    for key in ("generated", "generated_without_browsing"):
        print(key, out[key], flush=True)
    for row in out["real"]:
        print("real", row, flush=True)
    write_result("similar", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
